use adapters::{CounterTable, aws};
use domain::numbering::DEFAULT_RESET_HOUR_UTC;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let counters = CounterTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws::env("COUNTING_TABLE")?,
        aws::env("ORDER_TABLE")?,
    );
    let reset_hour: u32 = aws::env_or("ORDER_NUMBER_RESET_HOUR_UTC", DEFAULT_RESET_HOUR_UTC)?;
    let counters = &counters;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        counting::handle(counters, event.payload, reset_hour, chrono::Utc::now()).await
    }))
    .await
}
