//! Checkout: a cart becomes an order. The cart's lines (whose stock is already held) are
//! deleted and written as the order's checkout record in one transaction, so their stock moves
//! with them and is neither returned by the hold sweeper nor lost. When the order's workflow has
//! finished, the record's stock is settled exactly once ([`StockFate`]): kept (sold) for a
//! completed order, returned to the catalogue for a failed or cancelled one.

use crate::AppError;
use crate::cart::{CartLine, LineView};
use crate::catalog::Product;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// What became of a checkout's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StockFate {
    /// Taken off the catalogue while the order runs.
    Held,
    /// The order completed: the units are sold.
    Committed,
    /// The order failed or was cancelled: the units are back in stock.
    Released,
}

/// The checkout record (`CheckoutsTable`, key `orderId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    pub lines: Vec<CheckoutLine>,
    pub total: u64,
    pub currency: String,
    #[serde(rename = "createdAt")]
    pub created_ms: i64,
    pub stock: StockFate,
}

/// One line as it was bought: the catalogue's name and price at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutLine {
    #[serde(rename = "productId")]
    pub product_id: crate::catalog::ProductId,
    pub name: String,
    pub quantity: u32,
    #[serde(default)]
    pub modifiers: Vec<String>,
    #[serde(rename = "unitPrice")]
    pub unit_price: u64,
    #[serde(rename = "lineTotal")]
    pub line_total: u64,
}

impl From<&LineView> for CheckoutLine {
    fn from(v: &LineView) -> Self {
        CheckoutLine {
            product_id: v.product_id.clone(),
            name: v.name.clone(),
            quantity: v.quantity,
            modifiers: v.modifiers.clone(),
            unit_price: v.unit_price,
            line_total: v.line_total,
        }
    }
}

impl Checkout {
    /// The checkout of `lines` priced with `products`: refused (409) when the cart is empty or a
    /// line's product is no longer sold.
    pub fn price(
        order_id: &str,
        user_id: &str,
        lines: &[CartLine],
        products: &[Product],
        now_ms: i64,
    ) -> Result<Checkout, AppError> {
        if lines.is_empty() {
            return Err(AppError::conflict("The cart is empty"));
        }
        for line in lines {
            match products.iter().find(|p| p.id == line.product_id) {
                Some(p) if p.available => {}
                _ => {
                    return Err(AppError::conflict(format!(
                        "{} is no longer sold; remove it from the cart",
                        line.product_id
                    )));
                }
            }
        }
        let view = crate::cart::CartView::build(lines, products);
        Ok(Checkout {
            order_id: order_id.to_owned(),
            user_id: user_id.to_owned(),
            lines: view.items.iter().map(CheckoutLine::from).collect(),
            total: view.total,
            currency: view.currency.unwrap_or_default(),
            created_ms: now_ms,
            stock: StockFate::Held,
        })
    }
}

/// What a conversion of a cart did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    Created,
    /// A checkout with this order id exists (a repeated request with the same key).
    Exists,
    /// The cart changed since it was read: read again.
    Raced,
}

/// Checkout records; each write is conditional.
pub trait CheckoutStore: Send + Sync {
    fn get(
        &self,
        order_id: &str,
    ) -> impl Future<Output = Result<Option<Checkout>, AppError>> + Send;
    /// Writes `checkout` (unless its order id exists) and deletes `lines` (each as read), in one
    /// transaction: the held stock moves from the cart to the order.
    fn convert(
        &self,
        checkout: &Checkout,
        lines: &[CartLine],
    ) -> impl Future<Output = Result<Converted, AppError>> + Send;
    /// Moves the record from `Held` to `fate` (and for `Released` returns each line's units to
    /// its product, in the same transaction). `false` when it was settled already.
    fn settle(
        &self,
        checkout: &Checkout,
        fate: StockFate,
    ) -> impl Future<Output = Result<bool, AppError>> + Send;
}

/// The order id of a checkout: derived from the customer and their `Idempotency-Key` (so a
/// repeated request finds the same order), else fresh. Both are valid execution names.
pub fn order_id(user_id: &str, idempotency_key: Option<&str>, fresh: &str) -> String {
    match idempotency_key {
        Some(key) => {
            use md5::Digest as _;
            let digest = md5::Md5::digest(format!("{user_id}\n{key}").as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("ck-{hex}")
        }
        None => format!("ck-{fresh}"),
    }
}

/// An `Idempotency-Key` header value: 1 to 64 characters of letters, digits, `-` and `_`.
pub fn parse_idempotency_key(v: &str) -> Result<&str, AppError> {
    let ok = (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(v)
    } else {
        Err(AppError::bad_request(
            "The Idempotency-Key header must be 1 to 64 characters of letters, digits, '-' and '_'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::LineRequest;
    use crate::catalog::{ProductId, seed_products};
    use crate::lifecycle::is_valid_execution_name;

    #[test]
    fn order_ids_follow_the_key_and_the_customer() {
        let a = order_id("alice", Some("k1"), "x");
        assert_eq!(
            a,
            order_id("alice", Some("k1"), "y"),
            "same key, same order"
        );
        assert_ne!(a, order_id("bob", Some("k1"), "x"), "keys are per customer");
        assert_ne!(a, order_id("alice", Some("k2"), "x"));
        assert_eq!(order_id("alice", None, "abc"), "ck-abc");
        assert!(is_valid_execution_name(&a));
        assert!(parse_idempotency_key("order-2026_01").is_ok());
        for bad in ["", "a b", "ü", &"k".repeat(65)] {
            assert_eq!(parse_idempotency_key(bad).unwrap_err().status(), 400);
        }
    }

    #[test]
    fn a_checkout_is_priced_from_the_catalogue_and_refuses_what_is_not_sold() {
        let products = seed_products().unwrap();
        let line = |id: &str, q: u32| {
            let r = LineRequest {
                quantity: q,
                modifiers: vec![],
            };
            CartLine::next("u", &ProductId::parse(id).unwrap(), None, &r, 0, 1)
        };
        let c = Checkout::price("o1", "u", &[line("latte", 2)], &products, 5).unwrap();
        assert_eq!(c.total, c.lines[0].unit_price * 2);
        assert_eq!((c.stock, c.currency.as_str()), (StockFate::Held, "USD"));
        let empty = Checkout::price("o1", "u", &[], &products, 5).unwrap_err();
        assert_eq!(empty.status(), 409);
        let gone = Checkout::price("o1", "u", &[line("gone", 1)], &products, 5).unwrap_err();
        assert!(gone.message().contains("no longer sold"));
        let off = Checkout::price("o1", "u", &[line("coffee-of-the-day", 1)], &products, 5);
        assert_eq!(off.unwrap_err().status(), 409);
    }
}
