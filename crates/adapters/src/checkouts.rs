//! Checkout records on DynamoDB (`CheckoutsTable`): created in one transaction with the
//! deletion of the cart lines they came from, settled once with a condition on their stock fate.

use crate::dependency_error;
use crate::dynamo::{decode, encode, n, s};
use crate::transact::{Outcome, transact_once};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use domain::AppError;
use domain::cart::CartLine;
use domain::checkout::{Checkout, CheckoutStore, Converted, StockFate};

#[derive(Clone)]
pub struct CheckoutTable {
    client: Client,
    table: String,
    carts: String,
    products: String,
}

fn built(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("Building the checkout transaction: {e}"))
}

fn fate(f: StockFate) -> &'static str {
    match f {
        StockFate::Held => "held",
        StockFate::Committed => "committed",
        StockFate::Released => "released",
    }
}

impl CheckoutTable {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        carts: impl Into<String>,
        products: impl Into<String>,
    ) -> Self {
        CheckoutTable {
            client,
            table: table.into(),
            carts: carts.into(),
            products: products.into(),
        }
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Outcome, AppError> {
        transact_once(&self.client, items, "Checking out").await
    }
}

impl CheckoutStore for CheckoutTable {
    async fn get(&self, order_id: &str) -> Result<Option<Checkout>, AppError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(order_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(dependency_error("Reading the checkout"))?;
        out.item.map(|i| decode("checkout", i)).transpose()
    }

    async fn convert(
        &self,
        checkout: &Checkout,
        lines: &[CartLine],
    ) -> Result<Converted, AppError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(encode("checkout", checkout)?))
            .condition_expression("attribute_not_exists(orderId)")
            .build()
            .map_err(built)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        for line in lines {
            let delete = Delete::builder()
                .table_name(&self.carts)
                .key("userId", s(&line.user_id))
                .key("productId", s(line.product_id.as_str()))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(line.version))
                .build()
                .map_err(built)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(match self.transact(items).await? {
            Outcome::Committed => Converted::Created,
            Outcome::ConditionFailed(f) if f.first() == Some(&0) => Converted::Exists,
            Outcome::ConditionFailed(_) | Outcome::Conflict => Converted::Raced,
        })
    }

    async fn settle(&self, checkout: &Checkout, to: StockFate) -> Result<bool, AppError> {
        let record = Update::builder()
            .table_name(&self.table)
            .key("orderId", s(&checkout.order_id))
            .update_expression("SET #stock = :to")
            .condition_expression("#stock = :held")
            .expression_attribute_names("#stock", "stock")
            .expression_attribute_values(":to", s(fate(to)))
            .expression_attribute_values(":held", s(fate(StockFate::Held)))
            .build()
            .map_err(built)?;
        let mut items = vec![TransactWriteItem::builder().update(record).build()];
        if to == StockFate::Released {
            for line in &checkout.lines {
                let back = Update::builder()
                    .table_name(&self.products)
                    .key("productId", s(line.product_id.as_str()))
                    .update_expression("ADD stock :q")
                    .condition_expression("attribute_exists(productId)")
                    .expression_attribute_values(":q", n(line.quantity))
                    .build()
                    .map_err(built)?;
                items.push(TransactWriteItem::builder().update(back).build());
            }
        }
        for _ in 0..20 {
            match self.transact(items.clone()).await? {
                Outcome::Committed => return Ok(true),
                Outcome::ConditionFailed(f) if f.first() == Some(&0) => return Ok(false),
                // A product was deleted meanwhile: return what can be returned.
                Outcome::ConditionFailed(f) => {
                    if let Some(&i) = f.first() {
                        items.remove(i);
                    }
                }
                Outcome::Conflict => tokio::time::sleep(crate::backoff(3)).await,
            }
        }
        Err(AppError::unavailable(
            "The checkout's stock is busy; try again",
        ))
    }
}
