//! The orders API's table (seed 002): `store_id` (partition) and `order_id` (sort), so "this
//! order id already exists in this store" is one conditional put; and a local secondary index
//! `user-orders` sorted by `user_key` (escaped user id, zero-padded time, order id), so "the
//! newest five of this user in this store" is one strongly consistent query.

use crate::dependency_error;
use crate::dynamo::{Item, decode, encode, put_new, s};
use aws_sdk_dynamodb::Client;
use domain::AppError;
use domain::orders_api::{ApiOrder, GrandTotal, user_key_prefix};
use domain::ports::ApiOrderStore;
use serde::{Deserialize, Serialize};

/// The index `POST /user-orders` reads (template.yaml, OrdersApiTable).
pub const USER_ORDERS_INDEX: &str = "user-orders";

/// A row as stored: the seed's attributes (`timestamp` included, for anyone reading the table
/// the original way) plus the exact amount in cents and what the index and lifecycle need.
#[derive(Serialize, Deserialize)]
struct Row {
    store_id: String,
    order_id: String,
    user_id: String,
    grand_total_cents: u64,
    timestamp: String,
    created_ms: i64,
    user_key: String,
    lifecycle_id: String,
    created_by: String,
}

impl Row {
    fn from_order(o: &ApiOrder) -> Row {
        Row {
            store_id: o.store_id.clone(),
            order_id: o.order_id.clone(),
            user_id: o.user_id.clone(),
            grand_total_cents: o.grand_total.cents(),
            timestamp: o.timestamp(),
            created_ms: o.created_ms,
            user_key: o.user_key(),
            lifecycle_id: o.lifecycle_id.clone(),
            created_by: o.created_by.clone(),
        }
    }

    fn into_order(self) -> ApiOrder {
        ApiOrder {
            store_id: self.store_id,
            order_id: self.order_id,
            user_id: self.user_id,
            grand_total: GrandTotal::from_cents(self.grand_total_cents),
            created_ms: self.created_ms,
            lifecycle_id: self.lifecycle_id,
            created_by: self.created_by,
        }
    }
}

/// Reads a stored row.
pub fn order_from_item(item: Item) -> Result<ApiOrder, AppError> {
    decode::<Row>("orders-API order", item).map(Row::into_order)
}

/// Reads a row from the table's stream (the record's new image).
pub fn order_from_image(image: serde_dynamo::Item) -> Result<ApiOrder, AppError> {
    serde_dynamo::from_item::<_, Row>(image)
        .map(Row::into_order)
        .map_err(|err| {
            tracing::error!(%err, "a stream image does not match the orders-API row");
            AppError::bad_request(format!("The row is not an orders-API order: {err}"))
        })
}

#[derive(Clone)]
pub struct ApiOrderTable {
    client: Client,
    table: String,
}

impl ApiOrderTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        ApiOrderTable {
            client,
            table: table.into(),
        }
    }
}

impl ApiOrderStore for ApiOrderTable {
    async fn create(&self, order: &ApiOrder) -> Result<bool, AppError> {
        let item = encode("orders-API order", &Row::from_order(order))?;
        put_new(
            &self.client,
            &self.table,
            item,
            "order_id",
            "Saving the order",
        )
        .await
    }

    async fn latest(
        &self,
        store_id: &str,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<ApiOrder>, AppError> {
        // The SDK's paginator follows LastEvaluatedKey; `limit` bounds each page and `take`
        // the total, so at most one page is read in practice.
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(USER_ORDERS_INDEX)
            .key_condition_expression("store_id = :s AND begins_with(user_key, :u)")
            .expression_attribute_values(":s", s(store_id))
            .expression_attribute_values(":u", s(&user_key_prefix(user_id)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .into_paginator()
            .items()
            .send();
        let mut orders = Vec::with_capacity(limit);
        while orders.len() < limit {
            match items.next().await {
                Some(Ok(item)) => orders.push(order_from_item(item)?),
                Some(Err(e)) => return Err(dependency_error("Listing the orders")(e)),
                None => break,
            }
        }
        Ok(orders)
    }
}
