//! The catalogue on DynamoDB (`ProductsTable`): one item per product through `serde_dynamo`,
//! listings by category through the `by-category` index, one page per call with the position
//! of the next page as a [`PageToken`].

use crate::dependency_error;
use crate::dynamo::{Item, decode, encode, put_new, s};
use aws_sdk_dynamodb::Client;
use domain::AppError;
use domain::catalog::{Category, Page, PageToken, Product, ProductId, ProductStore};

pub const CATEGORY_INDEX: &str = "by-category";

#[derive(Clone)]
pub struct ProductTable {
    client: Client,
    table: String,
}

impl ProductTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        ProductTable {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Writes each product that is not there yet (a fresh stack's catalogue), so an admin's
    /// later change is kept (a product an admin deleted comes back when the seed runs again).
    /// Returns how many were written.
    pub async fn seed_absent(&self, products: &[Product]) -> Result<usize, AppError> {
        let mut written = 0;
        for p in products {
            let item = encode("product", p)?;
            if put_new(
                &self.client,
                &self.table,
                item,
                "productId",
                "Seeding the catalogue",
            )
            .await?
            {
                written += 1;
            }
        }
        Ok(written)
    }
}

fn start_key(token: PageToken) -> Item {
    let mut key = Item::new();
    key.insert("productId".to_owned(), s(token.product_id.as_str()));
    if let Some(c) = token.category {
        key.insert("category".to_owned(), s(c.as_str()));
    }
    key
}

/// The token of the page after the last product read (`None` when DynamoDB says the listing is
/// exhausted).
fn next_token(
    last_key: Option<Item>,
    last: Option<&Product>,
    by_category: bool,
) -> Option<PageToken> {
    last_key.filter(|k| !k.is_empty())?;
    let last = last?;
    Some(PageToken {
        product_id: last.id.clone(),
        category: by_category.then(|| last.category.clone()),
    })
}

impl ProductStore for ProductTable {
    async fn get(&self, id: &ProductId) -> Result<Option<Product>, AppError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("productId", s(id.as_str()))
            .send()
            .await
            .map_err(dependency_error("Reading the product"))?;
        out.item.map(|i| decode("product", i)).transpose()
    }

    async fn list(
        &self,
        category: Option<&Category>,
        limit: usize,
        after: Option<PageToken>,
    ) -> Result<Page<Product>, AppError> {
        let limit = i32::try_from(limit.max(1)).unwrap_or(100);
        let start = after.map(start_key);
        let (items, last_key) = match category {
            Some(c) => {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(CATEGORY_INDEX)
                    .key_condition_expression("category = :c")
                    .expression_attribute_values(":c", s(c.as_str()))
                    .limit(limit)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(dependency_error("Listing products"))?;
                (out.items, out.last_evaluated_key)
            }
            None => {
                let out = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .limit(limit)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(dependency_error("Listing products"))?;
                (out.items, out.last_evaluated_key)
            }
        };
        let items = items
            .unwrap_or_default()
            .into_iter()
            .map(|i| decode("product", i))
            .collect::<Result<Vec<Product>, _>>()?;
        let next = next_token(last_key, items.last(), category.is_some());
        Ok(Page { items, next })
    }

    async fn put(&self, product: &Product) -> Result<(), AppError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode("product", product)?))
            .send()
            .await
            .map_err(dependency_error("Saving the product"))?;
        Ok(())
    }

    async fn delete(&self, id: &ProductId) -> Result<bool, AppError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("productId", s(id.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(dependency_error("Deleting the product"))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}
