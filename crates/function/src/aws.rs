//! The AWS side: the SDK clients of a cold start, and the Lambda runner every `main.rs` calls.

use crate::{BoxFuture, Build, Context, Function, FunctionError, Platform, Settings, invoke_json};
use adapters::iot::IotRealtime;
use adapters::starter::StepFunctionsStarter;
use adapters::{EventBridgeBus, StepFunctionsCallbacks};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::OnceLock;

/// The ports on the AWS SDK, from the shared configuration loaded once per cold start. A client
/// is made only when a function asks for it; the DynamoDB client is shared by its tables.
pub struct AwsPlatform {
    sdk: aws_config::SdkConfig,
    dynamo: OnceLock<aws_sdk_dynamodb::Client>,
}

impl AwsPlatform {
    pub async fn load() -> Self {
        AwsPlatform {
            sdk: adapters::aws::load().await,
            dynamo: OnceLock::new(),
        }
    }

    /// The SDK configuration, for a client only one function uses (SNS for the sign-in codes).
    pub fn sdk(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }
}

impl Platform for AwsPlatform {
    type Bus = EventBridgeBus;
    type Callbacks = StepFunctionsCallbacks;
    type Starter = StepFunctionsStarter;
    type Realtime = IotRealtime;

    fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        self.dynamo
            .get_or_init(|| aws_sdk_dynamodb::Client::new(&self.sdk))
            .clone()
    }

    fn bus(&self, bus_name: &str) -> EventBridgeBus {
        EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&self.sdk), bus_name)
    }

    fn callbacks(&self) -> StepFunctionsCallbacks {
        StepFunctionsCallbacks::new(aws_sdk_sfn::Client::new(&self.sdk))
    }

    fn starter(&self, state_machine_arn: &str) -> StepFunctionsStarter {
        StepFunctionsStarter::new(aws_sdk_sfn::Client::new(&self.sdk), state_machine_arn)
    }

    fn realtime(&self, endpoint_url: &str) -> IotRealtime {
        // The data plane has no regional default endpoint: each account has its own.
        let config = aws_sdk_iotdataplane::config::Builder::from(&self.sdk)
            .endpoint_url(endpoint_url)
            .build();
        IotRealtime::new(aws_sdk_iotdataplane::Client::from_conf(config))
    }

    fn answers_custom_resources(&self) -> bool {
        true
    }
}

/// A function's whole `main`: JSON logs, its settings from the environment, its clients, then
/// Lambda's invocation loop. A setting that is missing or malformed stops the cold start with
/// an error naming it.
pub fn run<F: Build<AwsPlatform>>() -> Result<(), lambda_runtime::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve::<F>())
}

async fn serve<F: Build<AwsPlatform>>() -> Result<(), lambda_runtime::Error> {
    apigw::init_tracing();
    let settings = F::Settings::from_env()?;
    let platform = AwsPlatform::load().await;
    let function = F::build(settings, &platform)?;
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        invoke_boxed(function, event.payload)
    }))
    .await
}

/// Boxed, so the runner's future does not nest the handler's whole future type (the largest,
/// the order manager's, would exceed the compiler's layout depth).
fn invoke_boxed<F: Function>(
    function: &F,
    payload: Value,
) -> BoxFuture<'_, Result<Value, FunctionError>> {
    Box::pin(invoke_json(function, payload, Context::now()))
}
