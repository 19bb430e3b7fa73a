//! The shop's queue places: open-order counters in the counting table (`open#shop`, and
//! `open#user#<sub>` for the channels `maxOrdersPerUser` applies to), moved in the same
//! DynamoDB transaction as the order's `holdsSlot` mark.
//!
//! * Taking a place increments each counter on the condition that it is under its limit, and
//!   sets `holdsSlot = true` on the order on the condition that it is open and has no mark yet.
//!   A retried Admit fails that last condition and takes nothing more; concurrent orders cannot
//!   overshoot a limit because each increment is checked against the value it changes.
//! * Giving it back decrements the same counters on the condition that the order's mark is
//!   still `true`, and sets it to `false` (not removed: a released order must never take a
//!   place again). A retried Finish fails the condition and frees nothing twice.
//!
//! Counters are created on first use (`if_not_exists`). Both transactions bump the order's
//! version, so a writer holding the row as it was read before re-reads it instead of
//! overwriting the mark.

use crate::backoff;
use crate::dynamo::{n, s};
use crate::transact::{Outcome, transact_once};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use domain::AppError;
use domain::order::{ORDERS_PK, Order, OrderState};
use domain::ports::{OrderReader, OrderSlots, ShopConfig, SlotRefusal, SlotTaken};

/// Attempts when transactions on the same counters collide (as a transient error after that:
/// the workflow retries the task).
const MAX_ATTEMPTS: u32 = 50;
const COUNT: &str = "openOrders";
const SHOP_KEY: &str = "open#shop";

fn user_key(user_id: &str) -> String {
    format!("open#user#{user_id}")
}

#[derive(Clone)]
pub struct SlotTable {
    client: Client,
    table: String,
    orders: String,
    /// The same order table, to read an order back.
    order_rows: crate::OrderTable,
}

fn built(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("Building the queue-slot transaction: {e}"))
}

impl SlotTable {
    /// `table`: the counting table; `orders`: the order table the marks are written on.
    pub fn new(client: Client, table: impl Into<String>, orders: impl Into<String>) -> Self {
        let orders = orders.into();
        SlotTable {
            order_rows: crate::OrderTable::new(client.clone(), orders.clone()),
            client,
            table: table.into(),
            orders,
        }
    }

    /// `+1` on a counter, only while it is below `max`.
    fn increment(&self, key: &str, max: u32) -> Result<TransactWriteItem, AppError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", s(key))
            .update_expression("SET #c = if_not_exists(#c, :zero) + :one")
            .condition_expression("attribute_not_exists(#c) OR #c < :max")
            .expression_attribute_names("#c", COUNT)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max))
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// `-1` on a counter. Unconditional: the order's mark is the guard, and a place that was
    /// taken must be given back even if the counter row was lost meanwhile.
    fn decrement(&self, key: &str) -> Result<TransactWriteItem, AppError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", s(key))
            .update_expression("SET #c = if_not_exists(#c, :one) - :one")
            .expression_attribute_names("#c", COUNT)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Sets the order's mark to `to`, on `condition`, and bumps its version.
    fn mark(
        &self,
        order_id: &str,
        to: bool,
        condition: &str,
    ) -> Result<TransactWriteItem, AppError> {
        let mut update = Update::builder()
            .table_name(&self.orders)
            .key("PK", s(ORDERS_PK))
            .key("SK", s(order_id))
            .update_expression("SET #h = :to, version = if_not_exists(version, :zero) + :one")
            .condition_expression(condition)
            .expression_attribute_names("#h", "holdsSlot")
            .expression_attribute_values(":to", AttributeValue::Bool(to))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        if to {
            update = update
                .expression_attribute_names("#s", "ORDERSTATE")
                .expression_attribute_values(":open", s(OrderState::Created.as_str()));
        } else {
            update = update.expression_attribute_values(":held", AttributeValue::Bool(true));
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(built)?)
            .build())
    }

    async fn run(&self, items: Vec<TransactWriteItem>) -> Result<Outcome, AppError> {
        transact_once(&self.client, items, "Updating the queue places").await
    }

    async fn read_order(&self, order_id: &str) -> Result<Option<Order>, AppError> {
        self.order_rows.get(order_id).await
    }

    /// After the order's own condition failed: a place it already holds, or none to take.
    async fn explain_order(&self, order_id: &str) -> Result<Option<SlotTaken>, AppError> {
        let order = self
            .read_order(order_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("Order {order_id} not found")))?;
        Ok(match order.holds_slot {
            Some(true) => Some(SlotTaken::AlreadyHeld),
            Some(false) => Some(SlotTaken::Refused(SlotRefusal::OrderClosed)),
            None if order.state.is_terminal() => Some(SlotTaken::Refused(SlotRefusal::OrderClosed)),
            // Changed between the transaction and this read: try again.
            None => None,
        })
    }
}

impl OrderSlots for SlotTable {
    async fn take(&self, order: &Order, shop: &ShopConfig) -> Result<SlotTaken, AppError> {
        let per_user = shop.per_user_limit(order.channel);
        // A limit of 0 takes no orders; the first-use branch of the condition would let one in.
        if shop.max_orders_in_queue == 0 {
            return Ok(SlotTaken::Refused(SlotRefusal::ShopFull { max: 0 }));
        }
        if per_user == Some(0) {
            return Ok(SlotTaken::Refused(SlotRefusal::UserAtLimit { max: 0 }));
        }
        for attempt in 0..MAX_ATTEMPTS {
            let mut items = vec![self.increment(SHOP_KEY, shop.max_orders_in_queue)?];
            if let Some(max) = per_user {
                items.push(self.increment(&user_key(&order.user_id), max)?);
            }
            let order_item = items.len();
            items.push(self.mark(
                &order.order_id,
                true,
                "attribute_exists(SK) AND attribute_not_exists(#h) AND #s = :open",
            )?);
            match self.run(items).await? {
                Outcome::Committed => return Ok(SlotTaken::Taken),
                // The order's own state comes first: a retried Admit is answered as before
                // whatever the counters say now.
                Outcome::ConditionFailed(f) if f.contains(&order_item) => {
                    match self.explain_order(&order.order_id).await? {
                        Some(answer) => return Ok(answer),
                        None => continue,
                    }
                }
                Outcome::ConditionFailed(f) => {
                    let refusal = match per_user {
                        Some(max) if f.contains(&1) => SlotRefusal::UserAtLimit { max },
                        _ => SlotRefusal::ShopFull {
                            max: shop.max_orders_in_queue,
                        },
                    };
                    return Ok(SlotTaken::Refused(refusal));
                }
                Outcome::Conflict => tokio::time::sleep(backoff(attempt)).await,
            }
        }
        Err(AppError::internal(
            "The queue places are too busy; try again",
        ))
    }

    async fn release(&self, order: &Order) -> Result<bool, AppError> {
        for attempt in 0..MAX_ATTEMPTS {
            let mut items = vec![self.decrement(SHOP_KEY)?];
            // The same rule as `take`: the channel never changes on an order.
            if order.channel.limited_per_user() {
                items.push(self.decrement(&user_key(&order.user_id))?);
            }
            items.push(self.mark(&order.order_id, false, "#h = :held")?);
            match self.run(items).await? {
                Outcome::Committed => return Ok(true),
                // Only the mark has a condition: the order holds no place (never took one, or
                // it was given back already).
                Outcome::ConditionFailed(_) => return Ok(false),
                Outcome::Conflict => tokio::time::sleep(backoff(attempt)).await,
            }
        }
        Err(AppError::internal(
            "The queue places are too busy; try again",
        ))
    }
}
