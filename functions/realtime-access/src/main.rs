// The SDK futures nest deeply: the default limit (128) is too small for this main future.
#![recursion_limit = "256"]

use adapters::aws;
use adapters::realtime_access::IdentityPoolIotAccess;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    apigw::init_tracing();
    let sdk = aws::load().await;
    let access = IdentityPoolIotAccess::new(
        aws_sdk_cognitoidentity::Client::new(&sdk),
        aws_sdk_iot::Client::new(&sdk),
        aws::env("IDENTITY_POOL_ID")?,
        aws::env("USER_POOL_PROVIDER_NAME")?,
        aws::env("REALTIME_IOT_POLICY")?,
    );
    let access = &access;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<apigw::Request>| async move {
            Ok::<_, Error>(realtime_access::handle(&event.payload, access).await)
        },
    ))
    .await
}
