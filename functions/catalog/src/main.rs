use adapters::{ProductTable, aws};
use catalog::Catalog;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let catalog = Catalog {
        products: ProductTable::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            aws::env("PRODUCTS_TABLE")?,
        ),
        assets_base_url: aws::env("ASSETS_BASE_URL")?,
    };
    let catalog = &catalog;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<apigw::Request>| async move {
            Ok::<apigw::Response, Error>(catalog.handle(&event.payload).await)
        },
    ))
    .await
}
