use adapters::{ConfigTable, EventBridgeBus, OrderTable, SlotTable, aws};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use manage_state::ManageState;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let order_table = aws::env("ORDER_TABLE")?;
    let handler = ManageState {
        orders: OrderTable::new(dynamo.clone(), order_table.clone()),
        slots: SlotTable::new(dynamo.clone(), aws::env("COUNTING_TABLE")?, order_table),
        config: ConfigTable::new(dynamo, aws::env("CONFIG_TABLE")?),
        bus: EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            aws::env("EVENT_BUS_NAME")?,
        ),
        grace_seconds: aws::env_or("CANCELLATION_GRACE_SECONDS", 30)?,
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler
            .handle(event.payload, chrono::Utc::now().timestamp_millis())
            .await
    }))
    .await
}
