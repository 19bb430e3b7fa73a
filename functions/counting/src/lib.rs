//! The counting service: the next human order number, from one atomic counter per business
//! day (so numbers restart at 1 every day at the configured UTC hour, with no reset job).
//! Invoked by the order workflow; answers `{"orderNumber": n}`.

use chrono::{DateTime, Utc};
use domain::AppError;
use domain::numbering::{business_day, counter_expiry, counter_key};
use domain::ports::OrderNumbers;
use serde_json::{Value, json};

pub async fn next_order_number<N: OrderNumbers>(
    numbers: &N,
    reset_hour_utc: u32,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let day = business_day(now, reset_hour_utc);
    let n = numbers.next(&counter_key(day), counter_expiry(day)).await?;
    Ok(json!({ "orderNumber": n }))
}
