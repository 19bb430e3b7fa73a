//! One `TransactWriteItems` call and what became of it, for the adapters whose writes span
//! items (a cart line and its product's stock, a checkout and its cart lines, the queue places
//! and an order's mark).

use crate::dependency_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use domain::AppError;

/// How a transaction ended.
pub(crate) enum Outcome {
    Committed,
    /// The conditions of the items at these indexes (in the order the items were given,
    /// never empty) failed; nothing was written.
    ConditionFailed(Vec<usize>),
    /// Cancelled by a concurrent transaction on the same items: try again.
    Conflict,
}

/// Runs the transaction once; `what` names it in the error a failed call becomes.
pub(crate) async fn transact_once(
    client: &Client,
    items: Vec<TransactWriteItem>,
    what: &'static str,
) -> Result<Outcome, AppError> {
    let result = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Outcome::Committed),
        Err(e) => match e.into_service_error() {
            TransactWriteItemsError::TransactionCanceledException(c) => {
                let failed: Vec<usize> = c
                    .cancellation_reasons()
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(i, _)| i)
                    .collect();
                Ok(if failed.is_empty() {
                    Outcome::Conflict
                } else {
                    Outcome::ConditionFailed(failed)
                })
            }
            TransactWriteItemsError::TransactionInProgressException(_) => Ok(Outcome::Conflict),
            other => Err(dependency_error(what)(other)),
        },
    }
}
