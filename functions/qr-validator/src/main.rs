use adapters::{EventBridgeBus, ValidatorTable, aws};
use domain::qr::QrPolicy;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let buckets = ValidatorTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws::env("VALIDATOR_TABLE")?,
    );
    let bus = EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        aws::env("EVENT_BUS_NAME")?,
    );
    let defaults = QrPolicy::default();
    let policy = QrPolicy {
        interval_minutes: aws::env_or("QR_INTERVAL_MINUTES", defaults.interval_minutes)?,
        tokens_per_bucket: aws::env_or("QR_TOKENS_PER_BUCKET", defaults.tokens_per_bucket)?,
    };
    let (buckets, bus) = (&buckets, &bus);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<apigw::Request>| async move {
            let now = chrono::Utc::now().timestamp_millis();
            Ok::<_, Error>(qr_validator::handle(&event.payload, buckets, bus, policy, now).await)
        },
    ))
    .await
}
