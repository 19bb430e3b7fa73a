//! One `TransactWriteItems` call and what became of it, for the adapters whose writes span
//! items (a cart line and its product's stock, a checkout and its cart lines).

use crate::dependency_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use domain::AppError;

/// How a transaction ended.
pub(crate) enum Outcome {
    Committed,
    /// The condition of the item at this index failed; nothing was written.
    ConditionFailed(usize),
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
            TransactWriteItemsError::TransactionCanceledException(c) => Ok(c
                .cancellation_reasons()
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
                .map_or(Outcome::Conflict, Outcome::ConditionFailed)),
            TransactWriteItemsError::TransactionInProgressException(_) => Ok(Outcome::Conflict),
            other => Err(dependency_error(what)(other)),
        },
    }
}
