//! The smallest `lambda_runtime` function (echoes its event): the baseline
//! the cold-start bench (`benches/coldstart.rs`) compares the functions to.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
