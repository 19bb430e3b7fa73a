//! The four tables on DynamoDB. Items go through `serde_dynamo`, so the domain structs are the
//! single definition of each row's shape.

use crate::dependency_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use domain::AppError;
use domain::menu::MenuItem;
use domain::order::{ORDERS_PK, Order, OrderState};
use domain::ports::{
    ConfigReader, ConfigSeeder, Consume, OrderReader, OrderWriter, QrBuckets, Replaced, ShopConfig,
    ShopSwitch,
};
use domain::qr::Bucket;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn decode<T: DeserializeOwned>(what: &'static str, item: Item) -> Result<T, AppError> {
    serde_dynamo::from_item(item).map_err(|err| {
        tracing::error!(%err, "stored {what} does not match its schema");
        AppError::internal(format!("A stored {what} could not be read"))
    })
}

pub(crate) fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<Item, AppError> {
    serde_dynamo::to_item(value).map_err(|err| {
        tracing::error!(%err, "{what} could not be encoded");
        AppError::internal(format!("The {what} could not be stored"))
    })
}

/// The order table: `PK = "orders"`, `SK = orderId`, indexes by state and by user.
#[derive(Clone)]
pub struct OrderTable {
    client: Client,
    table: String,
}

pub const STATUS_INDEX: &str = "GSI-status";
pub const USER_INDEX: &str = "GSI-userId";

impl OrderTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        OrderTable {
            client,
            table: table.into(),
        }
    }

    /// Pages through an index until `limit` rows are collected or the index is exhausted
    /// (the SDK's paginator follows `LastEvaluatedKey`; dropping it stops the paging).
    async fn query_index(
        &self,
        index: &str,
        key_attr: &str,
        key: &str,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Order>, AppError> {
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", key_attr)
            .expression_attribute_values(":k", s(key))
            .scan_index_forward(!newest_first)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .into_paginator()
            .items()
            .send();
        let mut orders = Vec::new();
        while orders.len() < limit {
            let Some(item) = items.next().await else {
                break;
            };
            orders.push(decode(
                "order",
                item.map_err(dependency_error("Listing orders"))?,
            )?);
        }
        Ok(orders)
    }
}

impl OrderReader for OrderTable {
    async fn get(&self, order_id: &str) -> Result<Option<Order>, AppError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(ORDERS_PK))
            .key("SK", s(order_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(dependency_error("Reading the order"))?;
        out.item.map(|i| decode("order", i)).transpose()
    }

    async fn list_by_state(&self, state: OrderState, limit: usize) -> Result<Vec<Order>, AppError> {
        // Open orders are a queue (oldest first); finished ones are history (newest first).
        self.query_index(
            STATUS_INDEX,
            "ORDERSTATE",
            state.as_str(),
            state.is_terminal(),
            limit,
        )
        .await
    }

    async fn list_by_user(&self, user_id: &str, limit: usize) -> Result<Vec<Order>, AppError> {
        self.query_index(USER_INDEX, "USERID", user_id, true, limit)
            .await
    }

    async fn count_by_state(&self, state: OrderState) -> Result<u64, AppError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(STATUS_INDEX)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", "ORDERSTATE")
            .expression_attribute_values(":k", s(state.as_str()))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .into_paginator()
            .send();
        let mut count = 0u64;
        while let Some(page) = pages.next().await {
            let page = page.map_err(dependency_error("Counting orders"))?;
            count += u64::try_from(page.count).unwrap_or(0);
        }
        Ok(count)
    }
}

/// Puts `item` unless a row with its key exists (`key_attr` is one of the key's attributes):
/// `Ok(false)` when it existed, which leaves that row untouched and makes a retry harmless.
pub(crate) async fn put_new(
    client: &Client,
    table: &str,
    item: Item,
    key_attr: &str,
    what: &'static str,
) -> Result<bool, AppError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#k)")
        .expression_attribute_names("#k", key_attr)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(dependency_error(what)(e)),
    }
}

impl OrderWriter for OrderTable {
    async fn create(&self, order: &Order) -> Result<bool, AppError> {
        put_new(
            &self.client,
            &self.table,
            encode("order", order)?,
            "SK",
            "Saving the order",
        )
        .await
    }

    async fn replace(&self, order: &Order, expected_version: u64) -> Result<Replaced, AppError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode("order", order)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", n(expected_version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Replaced::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Replaced::VersionChanged)
            }
            Err(e) => Err(dependency_error("Updating the order")(e)),
        }
    }
}

/// The config table: `PK = "config"` (shop settings) and `PK = "menu"` (the drinks).
#[derive(Clone)]
pub struct ConfigTable {
    client: Client,
    table: String,
}

#[derive(Deserialize)]
struct MenuRow {
    value: Vec<MenuItem>,
}

impl ConfigTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        ConfigTable {
            client,
            table: table.into(),
        }
    }

    async fn row(&self, pk: &str) -> Result<Option<Item>, AppError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .send()
            .await
            .map_err(dependency_error("Reading the configuration"))?;
        Ok(out.item)
    }
}

impl ConfigReader for ConfigTable {
    async fn items(&self) -> Result<Vec<Value>, AppError> {
        let rows = self
            .client
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(dependency_error("Reading the configuration"))?;
        rows.into_iter()
            .map(|item| decode("configuration row", item))
            .collect()
    }

    async fn menu(&self) -> Result<Vec<MenuItem>, AppError> {
        match self.row("menu").await? {
            Some(item) => Ok(decode::<MenuRow>("menu", item)?.value),
            None => Ok(Vec::new()),
        }
    }

    async fn shop(&self) -> Result<ShopConfig, AppError> {
        match self.row("config").await? {
            Some(item) => decode("shop configuration", item),
            // No settings row: the shop is closed rather than open with unknown limits.
            None => Ok(ShopConfig {
                store_open: false,
                max_orders_per_user: 1,
                max_orders_in_queue: 10,
            }),
        }
    }
}

impl ShopSwitch for ConfigTable {
    async fn set_store_open(&self, open: bool) -> Result<Value, AppError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s("config"))
            .update_expression("SET storeOpen = :open")
            .expression_attribute_values(":open", AttributeValue::Bool(open))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(dependency_error("Updating the shop state"))?;
        decode("configuration row", out.attributes.unwrap_or_default())
    }
}

impl ConfigSeeder for ConfigTable {
    async fn put_if_absent(&self, row: &Value) -> Result<bool, AppError> {
        let item = encode("configuration row", row)?;
        put_new(
            &self.client,
            &self.table,
            item,
            "PK",
            "Seeding the configuration",
        )
        .await
    }
}

/// The validator table: one row per QR bucket, `PK` = bucket id (a number).
#[derive(Clone)]
pub struct ValidatorTable {
    client: Client,
    table: String,
}

impl ValidatorTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        ValidatorTable {
            client,
            table: table.into(),
        }
    }
}

impl QrBuckets for ValidatorTable {
    async fn get(&self, bucket_id: i64) -> Result<Option<Bucket>, AppError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", n(bucket_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(dependency_error("Reading the QR code"))?;
        out.item.map(|i| decode("QR bucket", i)).transpose()
    }

    async fn create(&self, bucket: &Bucket) -> Result<Bucket, AppError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode("QR bucket", bucket)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(bucket.clone()),
            // Another display created it first: everyone shows that one.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.get(bucket.pk)
                    .await?
                    .ok_or_else(|| AppError::internal("The QR code vanished while being created"))
            }
            Err(e) => Err(dependency_error("Creating the QR code")(e)),
        }
    }

    async fn consume(&self, bucket_id: i64, code: &str) -> Result<Consume, AppError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", n(bucket_id))
            .update_expression("SET availableTokens = availableTokens - :one")
            .condition_expression("last_code = :code AND availableTokens >= :one")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":code", s(code))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Consume::Taken(decode(
                "QR bucket",
                out.attributes.unwrap_or_default(),
            )?)),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(ccf) => {
                    let old = ccf.item.map(|i| decode("QR bucket", i)).transpose()?;
                    Ok(Consume::Refused(old))
                }
                other => Err(dependency_error("Taking a QR code use")(other)),
            },
        }
    }

    async fn release(&self, bucket_id: i64) -> Result<(), AppError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", n(bucket_id))
            .update_expression("SET availableTokens = availableTokens + :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map(|_| ())
            .map_err(dependency_error("Returning a QR code use"))
    }
}
