//! The counting service: the human order number of an order, from one counter per business
//! day (so numbers restart at 1 every day at the configured UTC hour, with no reset job).
//! Invoked by the order workflow with `{"orderId"}`; answers `{"orderNumber": n}`.
//!
//! Numbering is keyed by the order: the number is written on the order row in the same
//! transaction that moves the counter, and an order that has a number gets that one back. So a
//! retried task, an SDK retry or a resumed execution neither skips nor doubles a number.

mod handler;
pub use handler::{Counting, Handler, Settings};

use apigw::task::{INVALID_INPUT, TaskFailure};
use chrono::{DateTime, Utc};
use domain::AppError;
use domain::numbering::{business_day, counter_expiry, counter_key};
use domain::ports::OrderNumbers;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Request {
    #[serde(rename = "orderId")]
    order_id: String,
}

/// The number of `order_id`: its own if it has one, else the next of today's counter.
pub async fn number_order<N: OrderNumbers>(
    numbers: &N,
    order_id: &str,
    reset_hour_utc: u32,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let day = business_day(now, reset_hour_utc);
    let n = numbers
        .number_order(order_id, &counter_key(day), counter_expiry(day))
        .await?;
    Ok(json!({ "orderNumber": n }))
}

/// The Lambda event: the workflow's `{"orderId"}`.
pub async fn handle<N: OrderNumbers>(
    numbers: &N,
    payload: Value,
    reset_hour_utc: u32,
    now: DateTime<Utc>,
) -> Result<Value, TaskFailure> {
    let req: Request = serde_json::from_value(payload)
        .map_err(|e| TaskFailure::new(INVALID_INPUT, format!("unexpected counting input: {e}")))?;
    Ok(number_order(numbers, &req.order_id, reset_hour_utc, now).await?)
}
