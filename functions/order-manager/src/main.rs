use adapters::{
    ApiOrderTable, ConfigTable, EventBridgeBus, OrderTable, StepFunctionsCallbacks, aws,
};
use domain::events::{Detail, WorkflowStarted};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use order_manager::{Invocation, OrderManager};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let manager = OrderManager {
        orders: OrderTable::new(dynamo.clone(), aws::env("ORDER_TABLE")?),
        config: ConfigTable::new(dynamo.clone(), aws::env("CONFIG_TABLE")?),
        api_orders: ApiOrderTable::new(dynamo, aws::env("ORDERS_API_TABLE")?),
        bus: EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            aws::env("EVENT_BUS_NAME")?,
        ),
        callbacks: StepFunctionsCallbacks::new(aws_sdk_sfn::Client::new(&sdk)),
    };
    let manager = &manager;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = chrono::Utc::now().timestamp_millis();
        match Invocation::classify(event.payload)? {
            Invocation::Api(req) => {
                Ok::<Value, Error>(serde_json::to_value(manager.handle(&req, now).await)?)
            }
            Invocation::Bus {
                detail_type,
                detail,
            } if detail_type == WorkflowStarted::DETAIL_TYPE => {
                // An error here makes EventBridge retry the delivery.
                manager.on_workflow_started(&detail, now).await?;
                Ok(Value::Null)
            }
            Invocation::Bus { detail_type, .. } => {
                tracing::warn!(%detail_type, "no handler for this event");
                Ok(Value::Null)
            }
        }
    }))
    .await
}
