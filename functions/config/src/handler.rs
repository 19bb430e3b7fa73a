//! The config function as a [`Function`]: its settings, how it is built on a platform, and its
//! one event type (an API request, the table's stream, or the seed custom resource).

use crate::custom_resource::{ResponseSink, handle_custom_resource};
use crate::https::HttpsSink;
use crate::{Invocation, handle_api, handle_stream};
use adapters::ConfigTable;
use apigw::Response;
use aws_lambda_events::streams::DynamoDbEventResponse;
use domain::ports::{ConfigReader, ConfigSeeder, EventBus, ShopSwitch};
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde::Serialize;

/// The config table and the bus; the sink answers CloudFormation where custom resources exist
/// (a deployed stack), and is `None` where they do not (the local stack seeds the same rows
/// when it starts).
pub struct Config<T, B, S> {
    pub table: T,
    pub bus: B,
    pub custom_resources: Option<S>,
}

pub type Handler<P> = Config<ConfigTable, <P as Platform>::Bus, HttpsSink>;

pub struct Settings {
    pub config_table: String,
    pub event_bus_name: String,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            config_table: vars.required("CONFIG_TABLE")?,
            event_bus_name: vars.required("EVENT_BUS_NAME")?,
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        let custom_resources = if platform.answers_custom_resources() {
            Some(HttpsSink::new()?)
        } else {
            None
        };
        Ok(Config {
            table: ConfigTable::new(platform.dynamo(), s.config_table),
            bus: platform.bus(&s.event_bus_name),
            custom_resources,
        })
    }
}

function::deserialize_by!(Invocation, Invocation::classify);

#[derive(Serialize)]
#[serde(untagged)]
pub enum Output {
    Api(Box<Response>),
    Stream(DynamoDbEventResponse),
    /// The custom resource was answered at its response URL.
    Answered,
}

impl<T, B, S> Function for Config<T, B, S>
where
    T: ConfigReader + ShopSwitch + ConfigSeeder + 'static,
    B: EventBus + 'static,
    S: ResponseSink + 'static,
{
    const NAME: &'static str = "ConfigFunction";
    type Event = Invocation;
    type Output = Output;

    async fn handle(&self, event: Invocation, _: Context) -> Result<Output, FunctionError> {
        match event {
            Invocation::Api(req) => Ok(Output::Api(Box::new(handle_api(&req, &self.table).await))),
            Invocation::Stream(ev) => Ok(Output::Stream(handle_stream(ev, &self.bus).await)),
            Invocation::CustomResource(ev) => match &self.custom_resources {
                Some(sink) => {
                    handle_custom_resource(ev, &self.table, sink).await?;
                    Ok(Output::Answered)
                }
                None => Err(FunctionError::new(
                    "Unsupported",
                    "custom resources exist only in a deployed stack",
                )),
            },
        }
    }
}
