use adapters::payment::LocalPaymentProvider;
use adapters::{OrderTable, aws};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use process_payment::ProcessPayment;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    // Only the deterministic local provider exists so far; refuse to start with anything else
    // rather than silently not charging.
    let provider = match std::env::var("PAYMENT_PROVIDER").as_deref() {
        Ok("local") | Err(_) => LocalPaymentProvider {
            limit_cents: aws::env_or(
                "PAYMENT_LIMIT_CENTS",
                LocalPaymentProvider::default().limit_cents,
            )?,
        },
        Ok(other) => {
            return Err(format!("unknown PAYMENT_PROVIDER '{other}' (supported: local)").into());
        }
    };
    let handler = ProcessPayment {
        orders: OrderTable::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            aws::env("ORDER_TABLE")?,
        ),
        provider,
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler
            .handle(event.payload, chrono::Utc::now().timestamp_millis())
            .await
    }))
    .await
}
