//! A customer's cart: one line per product, each line a stock hold.
//!
//! While a line exists its quantity is taken off the product's stock, until the hold expires
//! ([`CartLine::hold_expires_ms`]) and the sweeper gives it back, or the customer removes the
//! line, or checkout turns it into an order. Every change of a line moves the stock by the
//! difference in the same transaction as the line ([`CartStore`]), conditional on the line's
//! version, so two changes (the customer's delete and the sweeper) can never both return the
//! same units, and a decrement never takes stock below zero.
//!
//! Prices are never stored on the line: totals are computed from the catalogue when the cart is
//! read ([`CartView::build`]).

use crate::AppError;
use crate::catalog::{Product, ProductId};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// Largest quantity of one product in a cart (the API's request model says the same).
pub const MAX_QUANTITY: u32 = 99;
/// Most lines one cart may have.
pub const MAX_LINES: usize = 50;
/// The constant partition of the holds index (every line has one hold).
pub const HOLD_SHARD: &str = "hold";
/// How long after its hold ends a line the sweeper missed is removed by DynamoDB's TTL.
pub const TTL_GRACE_SECONDS: i64 = 3600;

/// One cart line as stored (`CartTable`, key `userId` + `productId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "productId")]
    pub product_id: ProductId,
    pub quantity: u32,
    #[serde(default)]
    pub modifiers: Vec<String>,
    /// Bumped by every write; writes are conditional on it.
    pub version: u64,
    #[serde(rename = "holdShard")]
    pub hold_shard: String,
    /// When the stock hold ends (epoch ms); the holds index sorts by it.
    #[serde(rename = "holdExpiresAt")]
    pub hold_expires_ms: i64,
    /// DynamoDB TTL (epoch seconds): a late clean-up, [`TTL_GRACE_SECONDS`] after the hold.
    #[serde(rename = "expiresAt")]
    pub ttl_seconds: i64,
}

impl CartLine {
    /// The line `previous` becomes with `quantity` and `modifiers`, its hold renewed from `now`.
    pub fn next(
        user_id: &str,
        product_id: &ProductId,
        previous: Option<&CartLine>,
        request: &LineRequest,
        now_ms: i64,
        hold_ms: i64,
    ) -> CartLine {
        let hold_expires_ms = now_ms.saturating_add(hold_ms);
        CartLine {
            user_id: user_id.to_owned(),
            product_id: product_id.clone(),
            quantity: request.quantity,
            modifiers: request.modifiers.clone(),
            version: previous.map_or(1, |p| p.version + 1),
            hold_shard: HOLD_SHARD.to_owned(),
            hold_expires_ms,
            ttl_seconds: hold_expires_ms / 1000 + TTL_GRACE_SECONDS,
        }
    }
}

/// The body of `PUT /cart/items/{productId}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub quantity: u32,
    #[serde(default)]
    pub modifiers: Vec<String>,
}

impl LineRequest {
    pub fn validate(&self) -> Result<(), AppError> {
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return Err(AppError::bad_request(format!(
                "'quantity' must be a whole number from 1 to {MAX_QUANTITY}"
            )));
        }
        Ok(())
    }
}

/// What a conditional line write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineWrite {
    Written,
    /// The product has fewer units left than the change needs; nothing was written.
    OutOfStock,
    /// The line changed (or the product vanished) since it was read: read again.
    Raced,
}

/// What releasing a hold did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// The line is gone and its units are back in stock (or its product no longer exists).
    Returned,
    /// Someone else changed or removed the line first (their write decided its stock).
    Raced,
}

/// The carts' storage: every write moves the line and the product's stock together.
pub trait CartStore: Send + Sync {
    /// The customer's lines, by product id.
    fn lines(&self, user_id: &str) -> impl Future<Output = Result<Vec<CartLine>, AppError>> + Send;
    /// Writes `line` and takes `line.quantity - previous.quantity` units off the product (or
    /// gives them back), conditional on the stored line still being `previous`.
    fn write_line(
        &self,
        line: &CartLine,
        previous: Option<&CartLine>,
    ) -> impl Future<Output = Result<LineWrite, AppError>> + Send;
    /// Deletes `line` and returns its units to stock, conditional on its version and, for the
    /// sweeper, on its hold having ended by `expired_by_ms`.
    fn release(
        &self,
        line: &CartLine,
        expired_by_ms: Option<i64>,
    ) -> impl Future<Output = Result<Released, AppError>> + Send;
    /// Lines whose hold ended by `now_ms`, oldest first, at most `limit`.
    fn expired(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<CartLine>, AppError>> + Send;
}

/// A cart line as the customer sees it, priced from the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    #[serde(rename = "productId")]
    pub product_id: ProductId,
    pub name: String,
    pub quantity: u32,
    pub modifiers: Vec<String>,
    #[serde(rename = "unitPrice")]
    pub unit_price: u64,
    #[serde(rename = "lineTotal")]
    pub line_total: u64,
    #[serde(rename = "holdExpiresAt")]
    pub hold_expires_at: String,
}

/// The cart as `GET /cart` answers it: lines and totals in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartView {
    pub items: Vec<LineView>,
    #[serde(rename = "itemCount")]
    pub item_count: u32,
    pub total: u64,
    pub currency: Option<String>,
    /// Lines whose product was removed from the catalogue: shown, not charged.
    #[serde(rename = "unavailable", skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<ProductId>,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

impl CartView {
    /// Prices `lines` with `products` (the catalogue as it is now).
    pub fn build(lines: &[CartLine], products: &[Product]) -> CartView {
        let mut view = CartView {
            items: Vec::new(),
            item_count: 0,
            total: 0,
            currency: None,
            unavailable: Vec::new(),
        };
        for line in lines {
            let Some(p) = products.iter().find(|p| p.id == line.product_id) else {
                view.unavailable.push(line.product_id.clone());
                continue;
            };
            let line_total = p.price.saturating_mul(u64::from(line.quantity));
            view.total = view.total.saturating_add(line_total);
            view.item_count += line.quantity;
            view.currency.get_or_insert_with(|| p.currency.clone());
            view.items.push(LineView {
                product_id: line.product_id.clone(),
                name: p.name.clone(),
                quantity: line.quantity,
                modifiers: line.modifiers.clone(),
                unit_price: p.price,
                line_total,
                hold_expires_at: iso(line.hold_expires_ms),
            });
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::seed_products;

    fn request(quantity: u32) -> LineRequest {
        LineRequest {
            quantity,
            modifiers: vec![],
        }
    }

    #[test]
    fn quantities_are_bounded_and_extra_fields_refused() {
        assert!(request(1).validate().is_ok() && request(99).validate().is_ok());
        assert_eq!(request(0).validate().unwrap_err().status(), 400);
        assert_eq!(request(100).validate().unwrap_err().status(), 400);
        assert!(
            serde_json::from_str::<LineRequest>(r#"{"quantity":1,"price":1}"#).is_err(),
            "the client cannot send a price"
        );
        assert!(serde_json::from_str::<LineRequest>(r#"{"quantity":-1}"#).is_err());
    }

    #[test]
    fn a_changed_line_bumps_its_version_and_renews_its_hold() {
        let id = ProductId::parse("latte").unwrap();
        let first = CartLine::next("u1", &id, None, &request(2), 1_000, 900_000);
        assert_eq!((first.version, first.hold_expires_ms), (1, 901_000));
        assert_eq!(first.ttl_seconds, 901 + TTL_GRACE_SECONDS);
        let second = CartLine::next("u1", &id, Some(&first), &request(3), 5_000, 900_000);
        assert_eq!((second.version, second.quantity), (2, 3));
        assert_eq!(second.hold_expires_ms, 905_000);
    }

    #[test]
    fn totals_come_from_the_catalogue_prices() {
        let products = seed_products().unwrap();
        let price = |id: &str| products.iter().find(|p| p.id.as_str() == id).unwrap().price;
        let line = |id: &str, q: u32| {
            CartLine::next(
                "u1",
                &ProductId::parse(id).unwrap(),
                None,
                &request(q),
                0,
                1,
            )
        };
        let lines = [line("latte", 2), line("espresso", 1), line("gone", 5)];
        let view = CartView::build(&lines, &products);
        assert_eq!(view.items.len(), 2);
        assert_eq!(view.items[0].line_total, 2 * price("latte"));
        assert_eq!(view.total, 2 * price("latte") + price("espresso"));
        assert_eq!(view.item_count, 3);
        assert_eq!(view.currency.as_deref(), Some("USD"));
        assert_eq!(view.unavailable, [ProductId::parse("gone").unwrap()]);
    }
}
