//! The poller as a [`Function`]: its settings, how it is built on a platform, and its one event
//! type (the order queue's messages or the orders-API table's stream).

use crate::{Invocation, handle, handle_stream};
use aws_lambda_events::sqs::SqsBatchResponse;
use aws_lambda_events::streams::DynamoDbEventResponse;
use domain::lifecycle::Pricing;
use domain::ports::WorkflowStarter;
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde::Serialize;

/// Starts one workflow per accepted order.
pub struct SqsPoller<S> {
    pub starter: S,
    pub pricing: Pricing,
}

pub type Handler<P> = SqsPoller<<P as Platform>::Starter>;

pub struct Settings {
    pub state_machine_arn: String,
    pub pricing: Pricing,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            state_machine_arn: vars.required("STATE_MACHINE_ARN")?,
            pricing: Pricing {
                unit_price_cents: vars.parse("DIRECT_ORDER_UNIT_PRICE_CENTS")?,
            },
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        Ok(SqsPoller {
            starter: platform.starter(&s.state_machine_arn),
            pricing: s.pricing,
        })
    }
}

function::deserialize_by!(Invocation, Invocation::classify);

/// The records to retry, in the event source's own response format.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Output {
    Queue(SqsBatchResponse),
    Stream(DynamoDbEventResponse),
}

impl<S: WorkflowStarter + 'static> Function for SqsPoller<S> {
    const NAME: &'static str = "SqsPollerFunction";
    type Event = Invocation;
    type Output = Output;

    async fn handle(&self, event: Invocation, context: Context) -> Result<Output, FunctionError> {
        Ok(match event {
            Invocation::Queue(batch) => {
                Output::Queue(handle(batch, &self.starter, self.pricing, context.now_ms()).await)
            }
            Invocation::Stream(rows) => Output::Stream(handle_stream(rows, &self.starter).await),
        })
    }
}
