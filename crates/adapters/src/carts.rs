//! Carts on DynamoDB (`CartTable`), each line written in one transaction with its product's
//! stock (`ProductsTable`): the line conditional on the version read, the stock conditional on
//! there being enough units, so no interleaving of buyers, the customer's own changes and the
//! sweeper can oversell or return a hold twice.

use crate::dynamo::{Item, decode, encode, n, s};
use crate::transact::{Outcome, transact_once};
use crate::{backoff, dependency_error};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use domain::AppError;
use domain::cart::{CartLine, CartStore, HOLD_SHARD, LineWrite, Released};

pub const HOLDS_INDEX: &str = "holds-by-expiry";

/// Transactions that collided with another (DynamoDB's `TransactionConflict`) are tried again
/// this many times before the caller is told to retry.
const MAX_CONFLICT_RETRIES: u32 = 100;

#[derive(Clone)]
pub struct CartTable {
    client: Client,
    table: String,
    products: String,
}

fn built(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("Building the cart transaction: {e}"))
}

impl CartTable {
    /// `table`: the cart table; `products`: the catalogue whose stock the holds take.
    pub fn new(client: Client, table: impl Into<String>, products: impl Into<String>) -> Self {
        CartTable {
            client,
            table: table.into(),
            products: products.into(),
        }
    }

    fn line_key(&self, line: &CartLine) -> Item {
        Item::from([
            ("userId".to_owned(), s(&line.user_id)),
            ("productId".to_owned(), s(line.product_id.as_str())),
        ])
    }

    /// Moves the product's stock by `delta` units; taking units needs that many in stock.
    fn stock_update(&self, line: &CartLine, delta: i64) -> Result<Update, AppError> {
        let condition = if delta > 0 {
            // A return needs the product to exist (a missing one would be created as a stub).
            "attribute_exists(productId)"
        } else {
            "attribute_exists(productId) AND stock >= :need"
        };
        let mut update = Update::builder()
            .table_name(&self.products)
            .key("productId", s(line.product_id.as_str()))
            .update_expression("ADD stock :delta")
            .condition_expression(condition)
            .expression_attribute_values(":delta", n(delta));
        if delta <= 0 {
            update = update.expression_attribute_values(":need", n(-delta));
        }
        update.build().map_err(built)
    }

    /// Runs the transaction until a condition decides it (conflicts with other transactions
    /// are retried after a growing random pause).
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Outcome, AppError> {
        for attempt in 0..MAX_CONFLICT_RETRIES {
            match transact_once(&self.client, items.clone(), "Updating the cart").await? {
                Outcome::Conflict => tokio::time::sleep(backoff(attempt)).await,
                decided => return Ok(decided),
            }
        }
        Ok(Outcome::Conflict)
    }

    /// Deletes the line alone (its product is gone, so there is no stock to return to).
    async fn delete_line(&self, line: &CartLine) -> Result<Released, AppError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.line_key(line)))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(line.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Released::Returned),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Released::Raced)
            }
            Err(e) => Err(dependency_error("Removing the cart line")(e)),
        }
    }
}

impl CartStore for CartTable {
    async fn lines(&self, user_id: &str) -> Result<Vec<CartLine>, AppError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("userId = :u")
            .expression_attribute_values(":u", s(user_id))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut lines = Vec::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(dependency_error("Reading the cart"))?;
            lines.push(decode("cart line", item)?);
        }
        Ok(lines)
    }

    async fn write_line(
        &self,
        line: &CartLine,
        previous: Option<&CartLine>,
    ) -> Result<LineWrite, AppError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(encode("cart line", line)?));
        put = match previous {
            Some(p) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(p.version)),
            None => put.condition_expression("attribute_not_exists(userId)"),
        };
        let mut items = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(built)?)
                .build(),
        ];
        let delta = i64::from(previous.map_or(0, |p| p.quantity)) - i64::from(line.quantity);
        if delta != 0 {
            let update = self.stock_update(line, delta)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(match self.transact(items).await? {
            Outcome::Committed => LineWrite::Written,
            Outcome::ConditionFailed(f) if f.first() == Some(&1) && delta < 0 => {
                LineWrite::OutOfStock
            }
            Outcome::ConditionFailed(_) | Outcome::Conflict => LineWrite::Raced,
        })
    }

    async fn release(
        &self,
        line: &CartLine,
        expired_by_ms: Option<i64>,
    ) -> Result<Released, AppError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(self.line_key(line)))
            .expression_attribute_values(":v", n(line.version));
        delete = match expired_by_ms {
            Some(now) => delete
                .condition_expression("version = :v AND holdExpiresAt <= :now")
                .expression_attribute_values(":now", n(now)),
            None => delete.condition_expression("version = :v"),
        };
        let items = vec![
            TransactWriteItem::builder()
                .delete(delete.build().map_err(built)?)
                .build(),
            TransactWriteItem::builder()
                .update(self.stock_update(line, i64::from(line.quantity))?)
                .build(),
        ];
        match self.transact(items).await? {
            Outcome::Committed => Ok(Released::Returned),
            Outcome::ConditionFailed(f) if f.first() == Some(&1) => self.delete_line(line).await,
            Outcome::ConditionFailed(_) | Outcome::Conflict => Ok(Released::Raced),
        }
    }

    async fn expired(&self, now_ms: i64, limit: usize) -> Result<Vec<CartLine>, AppError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(HOLDS_INDEX)
            .key_condition_expression("holdShard = :h AND holdExpiresAt <= :now")
            .expression_attribute_values(":h", s(HOLD_SHARD))
            .expression_attribute_values(":now", n(now_ms))
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await
            .map_err(dependency_error("Listing expired holds"))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|i| decode("cart line", i))
            .collect()
    }
}
