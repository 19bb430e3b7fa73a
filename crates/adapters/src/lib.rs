//! Adapters: the domain ports implemented on the AWS SDK (used in Lambda and, pointed at
//! loopback emulators, in the local stack and the tests), plus in-memory ones that tests read.
//!
//! Clients are built once per cold start ([`aws::load`]) and cloned into the adapters; cloning
//! an SDK client is cheap (it is an `Arc`).

pub mod aws;
pub mod carts;
pub mod checkouts;
pub mod counters;
pub mod dynamo;
pub mod eventbridge;
pub mod ids;
pub mod iot;
pub mod memory;
pub mod orders_api;
pub mod payment;
pub mod products;
#[cfg(feature = "realtime-access")]
pub mod realtime_access;
#[cfg(test)]
pub(crate) mod replay;
pub mod sfn;
pub mod slots;
pub mod starter;
mod transact;

pub use carts::CartTable;
pub use checkouts::CheckoutTable;
pub use counters::CounterTable;
pub use dynamo::{ConfigTable, OrderTable, ValidatorTable};
pub use eventbridge::EventBridgeBus;
pub use orders_api::ApiOrderTable;
pub use products::ProductTable;
pub use sfn::StepFunctionsCallbacks;
pub use slots::SlotTable;

use domain::AppError;

/// A random pause before retrying a lost race (a transaction that collided with another), that
/// grows with the attempt so that racing writers spread out; at most 50 ms.
pub(crate) fn backoff(attempt: u32) -> std::time::Duration {
    let cap_ms = 2u64.saturating_pow(attempt.min(6)).min(50);
    let nanos = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    );
    std::time::Duration::from_micros(nanos % (cap_ms * 1000 + 1))
}

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
