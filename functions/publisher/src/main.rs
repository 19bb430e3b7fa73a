use adapters::aws;
use adapters::iot::IotRealtime;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    // The data plane has no regional default endpoint: each account has its own.
    let endpoint = publisher::iot_endpoint_url(&aws::env("IOT_DATA_ENDPOINT")?)?;
    let iot = aws_sdk_iotdataplane::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .build();
    let realtime = IotRealtime::new(aws_sdk_iotdataplane::Client::from_conf(iot));
    let realtime = &realtime;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
            // An error fails the invocation, so the asynchronous invocation is retried.
            let published = publisher::handle(event.payload, realtime).await?;
            Ok::<_, Error>(json!({ "published": published }))
        },
    ))
    .await
}
