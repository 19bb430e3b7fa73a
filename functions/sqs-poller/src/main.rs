use adapters::aws;
use adapters::starter::StepFunctionsStarter;
use domain::lifecycle::Pricing;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use sqs_poller::Invocation;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let starter = StepFunctionsStarter::new(
        aws_sdk_sfn::Client::new(&sdk),
        aws::env("STATE_MACHINE_ARN")?,
    );
    let pricing = Pricing {
        unit_price_cents: aws::env_or(
            "DIRECT_ORDER_UNIT_PRICE_CENTS",
            Pricing::default().unit_price_cents,
        )?,
    };
    let starter = &starter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = chrono::Utc::now().timestamp_millis();
        Ok::<Value, Error>(match Invocation::classify(event.payload)? {
            Invocation::Queue(batch) => {
                serde_json::to_value(sqs_poller::handle(batch, starter, pricing, now).await)?
            }
            Invocation::Stream(rows) => {
                serde_json::to_value(sqs_poller::handle_stream(rows, starter).await)?
            }
        })
    }))
    .await
}
