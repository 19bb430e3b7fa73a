use adapters::{CartTable, CheckoutTable, EventBridgeBus, OrderTable, ProductTable, aws};
use cart::{Cart, Invocation};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let products = aws::env("PRODUCTS_TABLE")?;
    let hold_minutes: i64 = aws::env_or("CART_HOLD_MINUTES", 15)?;
    let carts = aws::env("CART_TABLE")?;
    let cart = Cart {
        checkouts: CheckoutTable::new(
            dynamo.clone(),
            aws::env("CHECKOUTS_TABLE")?,
            &carts,
            &products,
        ),
        bus: EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            aws::env("EVENT_BUS_NAME")?,
        ),
        orders: OrderTable::new(dynamo.clone(), aws::env("ORDER_TABLE")?),
        carts: CartTable::new(dynamo.clone(), carts.clone(), &products),
        products: ProductTable::new(dynamo, products),
        hold_ms: hold_minutes * 60_000,
    };
    let cart = &cart;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = chrono::Utc::now().timestamp_millis();
        match Invocation::classify(event.payload)? {
            Invocation::Api(req) => {
                Ok::<Value, Error>(serde_json::to_value(cart.handle(&req, now).await)?)
            }
            Invocation::Sweep => Ok(serde_json::json!({ "released": cart.sweep(now).await? })),
            // An error here makes EventBridge retry the delivery.
            Invocation::OrderFinished(detail) => {
                cart.on_order_finished(&detail).await?;
                Ok(Value::Null)
            }
        }
    }))
    .await
}
