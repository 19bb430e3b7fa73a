use auth_challenge::sns::SnsCodeSender;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = adapters::aws::load().await;
    let sender = SnsCodeSender::new(aws_sdk_sns::Client::new(&sdk));
    let sender = &sender;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        auth_challenge::handle(sender, event.payload).await
    }))
    .await
}
