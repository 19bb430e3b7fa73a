use adapters::{ConfigTable, EventBridgeBus, aws};
use config::custom_resource::handle_custom_resource;
use config::https::HttpsSink;
use config::{Invocation, handle_api, handle_stream};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let table = ConfigTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws::env("CONFIG_TABLE")?,
    );
    let bus = EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        aws::env("EVENT_BUS_NAME")?,
    );
    let sink = HttpsSink::new()?;
    let (table, bus, sink) = (&table, &bus, &sink);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let out = match Invocation::classify(event.payload)? {
            Invocation::Api(req) => serde_json::to_value(handle_api(&req, table).await)?,
            Invocation::Stream(ev) => serde_json::to_value(handle_stream(ev, bus).await)?,
            Invocation::CustomResource(ev) => {
                handle_custom_resource(ev, table, sink).await?;
                Value::Null
            }
        };
        Ok::<Value, Error>(out)
    }))
    .await
}
