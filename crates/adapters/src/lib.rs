//! Adapters: the domain ports implemented on the AWS SDK (used in Lambda and, pointed at
//! loopback emulators, in the local stack and the tests), plus in-memory ones that tests read.
//!
//! Clients are built once per cold start ([`aws::load`]) and cloned into the adapters; cloning
//! an SDK client is cheap (it is an `Arc`).

pub mod aws;
pub mod counters;
pub mod dynamo;
pub mod eventbridge;
pub mod ids;
pub mod iot;
pub mod memory;
pub mod orders_api;
pub mod payment;
pub mod sfn;
pub mod slots;
pub mod starter;

pub use counters::CounterTable;
pub use dynamo::{ConfigTable, OrderTable, ValidatorTable};
pub use eventbridge::EventBridgeBus;
pub use orders_api::ApiOrderTable;
pub use sfn::StepFunctionsCallbacks;
pub use slots::SlotTable;

use domain::AppError;

/// Maps an SDK error to a safe 500 and logs the full error chain (the SDK's `Display` alone
/// only says "service error").
pub(crate) fn dependency_error<E>(what: &'static str) -> impl FnOnce(E) -> AppError
where
    E: std::error::Error + 'static,
{
    move |err| {
        tracing::error!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "{what} failed");
        AppError::internal(format!("{what} failed"))
    }
}
