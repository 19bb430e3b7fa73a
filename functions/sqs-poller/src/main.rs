use adapters::aws;
use adapters::starter::StepFunctionsStarter;
use aws_lambda_events::sqs::SqsEvent;
use domain::lifecycle::Pricing;
use lambda_runtime::{Error, LambdaEvent, service_fn};

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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let now = chrono::Utc::now().timestamp_millis();
        Ok::<_, Error>(sqs_poller::handle(event.payload, starter, pricing, now).await)
    }))
    .await
}
