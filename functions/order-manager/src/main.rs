use adapters::{ConfigTable, EventBridgeBus, OrderTable, StepFunctionsCallbacks, aws};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use order_manager::OrderManager;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let manager = OrderManager {
        orders: OrderTable::new(dynamo.clone(), aws::env("ORDER_TABLE")?),
        config: ConfigTable::new(dynamo, aws::env("CONFIG_TABLE")?),
        bus: EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            aws::env("EVENT_BUS_NAME")?,
        ),
        callbacks: StepFunctionsCallbacks::new(aws_sdk_sfn::Client::new(&sdk)),
    };
    let manager = &manager;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<apigw::Request>| async move {
            let now = chrono::Utc::now().timestamp_millis();
            Ok::<_, Error>(manager.handle(&event.payload, now).await)
        },
    ))
    .await
}
