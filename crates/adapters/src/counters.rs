//! Order numbers: one counter row per business day in the counting table, and the number
//! written on the order row in the same DynamoDB transaction as the counter's increment.
//!
//! The order row is the per-order record (`assignedNumber`, which send-to-restaurant copies to
//! `orderNumber` at the hand-off): a number is given only with the condition that the order has
//! none, and the counter moves only with the condition that it still holds the value
//! read. So a retried task, an SDK retry or a resumed execution finds the order's number and
//! takes no new one, no number is skipped (a crash either commits both writes or neither) and
//! none is given twice. Concurrent orders race on the counter's value; the losers read again
//! (with a jittered backoff), which is cheap at a coffee bar's rate of orders.

use crate::dynamo::{Item, n, s};
use crate::{backoff, dependency_error};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use domain::AppError;
use domain::order::ORDERS_PK;
use domain::ports::OrderNumbers;

/// Attempts before giving up (as a transient error: the workflow retries the task).
const MAX_ATTEMPTS: u32 = 200;

#[derive(Clone)]
pub struct CounterTable {
    client: Client,
    table: String,
    orders: String,
}

/// What the order row says about its number.
enum Numbered {
    Missing,
    No,
    Yes(u64),
}

/// Why a numbering transaction did not commit.
enum Lost {
    /// The order got its number meanwhile (or vanished): look at the row again.
    Order,
    /// Another order took the counter's value, or the items were busy: read again.
    Counter,
}

fn number_attr(item: Option<&Item>, attr: &str) -> Option<u64> {
    item?.get(attr)?.as_n().ok()?.parse().ok()
}

impl CounterTable {
    /// `table`: the counting table; `orders`: the order table the numbers are written on.
    pub fn new(client: Client, table: impl Into<String>, orders: impl Into<String>) -> Self {
        CounterTable {
            client,
            table: table.into(),
            orders: orders.into(),
        }
    }

    async fn order_number(&self, order_id: &str) -> Result<Numbered, AppError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.orders)
            .key("PK", s(ORDERS_PK))
            .key("SK", s(order_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(dependency_error("Reading the order's number"))?;
        Ok(match &out.item {
            None => Numbered::Missing,
            Some(_) => {
                number_attr(out.item.as_ref(), "assignedNumber").map_or(Numbered::No, Numbered::Yes)
            }
        })
    }

    async fn counter(&self, key: &str) -> Result<u64, AppError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(dependency_error("Reading the order counter"))?;
        Ok(number_attr(out.item.as_ref(), "IDvalue").unwrap_or(0))
    }

    /// Moves the counter from `current` to `current + 1` and writes that number on the order,
    /// both or neither.
    async fn give(
        &self,
        order_id: &str,
        key: &str,
        current: u64,
        expires_at: i64,
    ) -> Result<Result<u64, Lost>, AppError> {
        let next = current + 1;
        let built = |e| AppError::internal(format!("Building the numbering transaction: {e}"));
        let counter = Update::builder()
            .table_name(&self.table)
            .key("PK", s(key))
            .update_expression("SET IDvalue = :next, expiresAt = :exp")
            .condition_expression(if current == 0 {
                "attribute_not_exists(IDvalue) OR IDvalue = :cur"
            } else {
                "IDvalue = :cur"
            })
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":cur", n(current))
            .expression_attribute_values(":exp", n(expires_at))
            .build()
            .map_err(built)?;
        // The version moves too, so a writer holding the row as it was read before re-reads
        // it (and keeps the number) instead of overwriting it.
        let order = Update::builder()
            .table_name(&self.orders)
            .key("PK", s(ORDERS_PK))
            .key("SK", s(order_id))
            .update_expression(
                "SET assignedNumber = :next, version = if_not_exists(version, :zero) + :one",
            )
            .condition_expression("attribute_exists(SK) AND attribute_not_exists(assignedNumber)")
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(built)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(counter).build())
            .transact_items(TransactWriteItem::builder().update(order).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(next)),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let order_lost = c
                        .cancellation_reasons()
                        .get(1)
                        .and_then(|r| r.code())
                        .is_some_and(|code| code == "ConditionalCheckFailed");
                    Ok(Err(if order_lost {
                        Lost::Order
                    } else {
                        Lost::Counter
                    }))
                }
                TransactWriteItemsError::TransactionInProgressException(_) => {
                    Ok(Err(Lost::Counter))
                }
                other => Err(dependency_error("Allocating the order number")(other)),
            },
        }
    }
}

impl OrderNumbers for CounterTable {
    async fn number_order(
        &self,
        order_id: &str,
        key: &str,
        expires_at: i64,
    ) -> Result<u64, AppError> {
        for attempt in 0..MAX_ATTEMPTS {
            match self.order_number(order_id).await? {
                Numbered::Yes(number) => return Ok(number),
                Numbered::Missing => {
                    return Err(AppError::not_found(format!("Order {order_id} not found")));
                }
                Numbered::No => {}
            }
            let current = self.counter(key).await?;
            match self.give(order_id, key, current, expires_at).await? {
                Ok(number) => return Ok(number),
                Err(Lost::Order) => continue,
                Err(Lost::Counter) => tokio::time::sleep(backoff(attempt)).await,
            }
        }
        Err(AppError::internal(
            "The order counter is too busy; try again",
        ))
    }
}
