//! The orders API of seed 002 (`POST /new-order`, `POST /user-orders`): its requests, parsed
//! once into checked values; who may call it; its rows; and its answers, byte-compatible with
//! the original (`{"statusCode": ..., ...}` bodies, the status also returned as the HTTP status).
//!
//! Differences from the original, each a defect it had:
//! * identity comes from the verified token: a customer acts only for themselves, a store's
//!   system only for the stores its OAuth scopes grant ([`OrdersApiCaller`]);
//! * the listing matches the user exactly (`user1` never sees `user10`'s orders) and keeps two
//!   orders of the same millisecond apart ([`user_key`]);
//! * `grand_total` is money: parsed exactly into minor units ([`GrandTotal`]), never a float.

use crate::{AppError, Caller};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

/// How many orders `POST /user-orders` returns, newest first.
pub const LIST_LIMIT: usize = 5;
/// Longest id (store, order, user), in characters; the API model says the same.
pub const MAX_ID_CHARS: usize = 64;
/// The OAuth scope a store's system (Cognito client-credentials app client) must hold.
pub const STORES_SCOPE: &str = "orders-api/stores";
/// A store's system may act for store `X` when it also holds the scope `orders-api/store.X`.
pub const STORE_SCOPE_PREFIX: &str = "orders-api/store.";
/// The largest `grand_total` accepted: 1,000,000.00.
pub const MAX_TOTAL_CENTS: u64 = 100_000_000;

/// An id of the orders API: 1 to [`MAX_ID_CHARS`] characters, no whitespace or control
/// characters (a store id is also part of an OAuth scope name, which has neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ApiId(String);

impl ApiId {
    pub fn parse(field: &str, raw: &str) -> Result<ApiId, AppError> {
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_ID_CHARS {
            return Err(AppError::bad_request(format!(
                "'{field}' must be 1 to {MAX_ID_CHARS} characters"
            )));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AppError::bad_request(format!(
                "'{field}' must not contain spaces or control characters"
            )));
        }
        Ok(ApiId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ApiId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money in minor units (cents), read exactly from a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GrandTotal(u64);

impl GrandTotal {
    /// Reads `110`, `110.00`, `12.5`, `0.1`; refuses negative amounts, more than two decimals
    /// and more than [`MAX_TOTAL_CENTS`]. The digits are those of the number's shortest exact
    /// rendering, so `0.1` is ten cents, not `0.1000000000000000055...`.
    pub fn parse(n: &Number) -> Result<GrandTotal, AppError> {
        let bad = |why: &str| Err(AppError::bad_request(format!("'grand_total' {why}")));
        let too_much = "must be at most 1000000.00";
        match n.as_f64() {
            Some(f) if f < 0.0 => return bad("must not be negative"),
            Some(f) if f > (MAX_TOTAL_CENTS / 100 + 1) as f64 => return bad(too_much),
            _ => {}
        }
        let Some((digits, scale)) = decimal(&n.to_string()) else {
            return bad("must be a plain decimal number");
        };
        if scale > 2 {
            return bad("must have at most two decimals");
        }
        let cents = 10u128
            .checked_pow(2 - scale)
            .and_then(|f| digits.checked_mul(f))
            .and_then(|c| u64::try_from(c).ok())
            .filter(|c| *c <= MAX_TOTAL_CENTS);
        match cents {
            Some(c) => Ok(GrandTotal(c)),
            None => bad(too_much),
        }
    }

    pub fn from_cents(cents: u64) -> GrandTotal {
        GrandTotal(cents)
    }

    pub fn cents(self) -> u64 {
        self.0
    }

    /// The amount as the original shows it: `110` for 110.00, `12.5` for 12.50.
    pub fn to_json(self) -> Value {
        if self.0.is_multiple_of(100) {
            Value::from(self.0 / 100)
        } else {
            // At most 8 digits before the point and 2 after: exact in an f64's shortest form.
            Number::from_f64(self.0 as f64 / 100.0).map_or(Value::Null, Value::Number)
        }
    }
}

/// A decimal rendering (`-12.340`, `1e-7`, `1.5E3`) as `(digits, scale)` with trailing zeros
/// removed, so that the value is `digits / 10^scale`; the sign is ignored.
fn decimal(text: &str) -> Option<(u128, u32)> {
    let text = text.trim_start_matches('-');
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = int.chars().chain(frac.chars()).collect();
    if all.is_empty() || !all.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let all = all.trim_start_matches('0');
    let mut digits: u128 = if all.is_empty() { 0 } else { all.parse().ok()? };
    let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exp);
    while scale > 0 && digits != 0 && digits.is_multiple_of(10) {
        digits /= 10;
        scale -= 1;
    }
    if digits == 0 {
        return Some((0, 0));
    }
    if scale < 0 {
        let up = 10u128.checked_pow(u32::try_from(-scale).ok()?)?;
        return Some((digits.checked_mul(up)?, 0));
    }
    Some((digits, u32::try_from(scale).ok()?))
}

/// `POST /new-order`'s body as the client sends it (the API model refuses anything else).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrderBody {
    store_id: String,
    order_id: String,
    user_id: String,
    grand_total: Number,
}

/// `POST /user-orders`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserOrdersBody {
    user_id: String,
    store_id: String,
}

/// A checked `POST /new-order` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub store_id: ApiId,
    pub order_id: ApiId,
    pub user_id: ApiId,
    pub grand_total: GrandTotal,
}

impl NewOrder {
    pub fn parse(body: &str) -> Result<NewOrder, AppError> {
        let b: NewOrderBody = from_json(body)?;
        Ok(NewOrder {
            store_id: ApiId::parse("store_id", &b.store_id)?,
            order_id: ApiId::parse("order_id", &b.order_id)?,
            user_id: ApiId::parse("user_id", &b.user_id)?,
            grand_total: GrandTotal::parse(&b.grand_total)?,
        })
    }
}

/// A checked `POST /user-orders` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOrdersQuery {
    pub store_id: ApiId,
    pub user_id: ApiId,
}

impl UserOrdersQuery {
    pub fn parse(body: &str) -> Result<UserOrdersQuery, AppError> {
        let b: UserOrdersBody = from_json(body)?;
        Ok(UserOrdersQuery {
            store_id: ApiId::parse("store_id", &b.store_id)?,
            user_id: ApiId::parse("user_id", &b.user_id)?,
        })
    }
}

fn from_json<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, AppError> {
    serde_json::from_str(body)
        .map_err(|e| AppError::bad_request(format!("Invalid request body: {e}")))
}

/// Who is calling the orders API, from the verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrdersApiCaller {
    /// A signed-in customer: acts only for their own `sub`.
    Customer { sub: String },
    /// A store's system (client-credentials token with [`STORES_SCOPE`]): acts for any user
    /// of the stores its `orders-api/store.<id>` scopes name.
    StoreSystem {
        client_id: String,
        stores: Vec<String>,
    },
}

impl OrdersApiCaller {
    pub fn from_caller(caller: &Caller) -> OrdersApiCaller {
        if caller.scopes.iter().any(|s| s == STORES_SCOPE) {
            let stores = caller
                .scopes
                .iter()
                .filter_map(|s| s.strip_prefix(STORE_SCOPE_PREFIX))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            OrdersApiCaller::StoreSystem {
                client_id: caller.sub.clone(),
                stores,
            }
        } else {
            OrdersApiCaller::Customer {
                sub: caller.sub.clone(),
            }
        }
    }

    /// Whether this caller may create or list `user_id`'s orders in `store_id` (403 if not).
    pub fn authorize(&self, store_id: &ApiId, user_id: &ApiId) -> Result<(), AppError> {
        match self {
            OrdersApiCaller::Customer { sub } if sub == user_id.as_str() => Ok(()),
            OrdersApiCaller::Customer { .. } => Err(AppError::forbidden(
                "A customer may only use the orders API for themselves: 'user_id' must be the user id of your token",
            )),
            OrdersApiCaller::StoreSystem { stores, .. }
                if stores.iter().any(|s| s == store_id.as_str()) =>
            {
                Ok(())
            }
            OrdersApiCaller::StoreSystem { client_id, .. } => Err(AppError::forbidden(format!(
                "The client '{client_id}' has no grant for store '{store_id}' (scope '{STORE_SCOPE_PREFIX}{store_id}')"
            ))),
        }
    }

    /// Who created a row, for the record: the customer's `sub` or the client's id.
    pub fn principal(&self) -> &str {
        match self {
            OrdersApiCaller::Customer { sub } => sub,
            OrdersApiCaller::StoreSystem { client_id, .. } => client_id,
        }
    }
}

/// One order of the orders API, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOrder {
    pub store_id: String,
    pub order_id: String,
    pub user_id: String,
    pub grand_total: GrandTotal,
    /// When it was created (epoch ms).
    pub created_ms: i64,
    /// The id of this order in the order lifecycle (its workflow execution's name): minted
    /// once, when the row is created, so every delivery of the row starts the same execution.
    pub lifecycle_id: String,
    /// Who created it (a customer's `sub` or a store system's client id).
    pub created_by: String,
}

impl ApiOrder {
    pub fn new(
        req: &NewOrder,
        caller: &OrdersApiCaller,
        now_ms: i64,
        lifecycle_id: String,
    ) -> Self {
        ApiOrder {
            store_id: req.store_id.as_str().to_owned(),
            order_id: req.order_id.as_str().to_owned(),
            user_id: req.user_id.as_str().to_owned(),
            grand_total: req.grand_total,
            created_ms: now_ms,
            lifecycle_id,
            created_by: caller.principal().to_owned(),
        }
    }

    /// The original's `timestamp`: `"<user_id>#<epoch ms>"`.
    pub fn timestamp(&self) -> String {
        format!("{}#{}", self.user_id, self.created_ms)
    }

    /// The sort key of the per-store user index: see [`user_key`].
    pub fn user_key(&self) -> String {
        format!(
            "{}{:013}#{}",
            user_key_prefix(&self.user_id),
            self.created_ms.max(0),
            self.order_id
        )
    }
}

/// The prefix of every [`ApiOrder::user_key`] of `user_id`: the user id with `%` and `#`
/// escaped, then `#`. Since an escaped id never contains `#`, the prefix of `user1`
/// (`user1#`) matches none of `user10`'s keys (`user10#...`) nor those of `user1#x`
/// (`user1%23x#...`); the zero-padded time after it sorts the user's orders by age, and the
/// order id last keeps two orders of the same millisecond apart.
pub fn user_key_prefix(user_id: &str) -> String {
    let mut key = String::with_capacity(user_id.len() + 1);
    for c in user_id.chars() {
        match c {
            '%' => key.push_str("%25"),
            '#' => key.push_str("%23"),
            c => key.push(c),
        }
    }
    key.push('#');
    key
}

/// The answers of the orders API, field for field in the original's order.
pub mod answer {
    use super::{ApiOrder, Value};
    use serde::Serialize;

    #[derive(Serialize)]
    struct Message {
        message: String,
    }

    #[derive(Serialize)]
    struct Created {
        #[serde(rename = "statusCode")]
        status_code: u16,
        body: Message,
    }

    #[derive(Serialize)]
    struct Refused {
        #[serde(rename = "statusCode")]
        status_code: u16,
        error: String,
    }

    #[derive(Serialize)]
    struct Listed {
        #[serde(rename = "statusCode")]
        status_code: u16,
        orders: Vec<Listing>,
        body: Message,
    }

    #[derive(Serialize)]
    struct Listing {
        user_id: String,
        grand_total: Value,
        order_id: String,
        store_id: String,
        timestamp: String,
    }

    /// An answer: the HTTP status and the body's exact text.
    pub type Answer = (u16, String);

    fn render(status: u16, body: &impl Serialize) -> Answer {
        // Serialising these plain structs cannot fail; an empty object is a safe fallback.
        (
            status,
            serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned()),
        )
    }

    /// `201 {"statusCode":201,"body":{"message":"Order <id> submitted successfully"}}`
    pub fn created(order_id: &str) -> Answer {
        render(
            201,
            &Created {
                status_code: 201,
                body: Message {
                    message: format!("Order {order_id} submitted successfully"),
                },
            },
        )
    }

    /// `400 {"statusCode":400,"error":"The conditional request failed"}` (DynamoDB's own
    /// message, which the original passed through).
    pub fn already_exists() -> Answer {
        refused("The conditional request failed".to_owned())
    }

    /// `400 {"statusCode":400,"error":"User <id> has no orders yet !"}`
    pub fn no_orders(user_id: &str) -> Answer {
        refused(format!("User {user_id} has no orders yet !"))
    }

    fn refused(error: String) -> Answer {
        render(
            400,
            &Refused {
                status_code: 400,
                error,
            },
        )
    }

    /// `200 {"statusCode":200,"orders":[...],"body":{"message":"Orders retrieved successfully"}}`
    pub fn listed(orders: &[ApiOrder]) -> Answer {
        let orders = orders
            .iter()
            .map(|o| Listing {
                user_id: o.user_id.clone(),
                grand_total: o.grand_total.to_json(),
                order_id: o.order_id.clone(),
                store_id: o.store_id.clone(),
                timestamp: o.timestamp(),
            })
            .collect();
        render(
            200,
            &Listed {
                status_code: 200,
                orders,
                body: Message {
                    message: "Orders retrieved successfully".to_owned(),
                },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn total(v: Value) -> Result<u64, AppError> {
        match v {
            Value::Number(n) => GrandTotal::parse(&n).map(GrandTotal::cents),
            _ => unreachable!(),
        }
    }

    fn num(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn money_is_read_exactly_in_cents() {
        assert_eq!(total(num("110.00")).unwrap(), 11000);
        assert_eq!(total(num("110")).unwrap(), 11000);
        assert_eq!(total(num("0.1")).unwrap(), 10);
        assert_eq!(total(num("12.34")).unwrap(), 1234);
        assert_eq!(total(num("1e2")).unwrap(), 10000);
        assert_eq!(total(num("0")).unwrap(), 0);
        assert_eq!(total(num("1000000.00")).unwrap(), MAX_TOTAL_CENTS);
    }

    #[test]
    fn money_refuses_what_is_not_an_amount() {
        for bad in [
            "-1",
            "-0.5",
            "12.345",
            "1.005",
            "0.0100000001",
            "1e-7",
            "1000000.01",
            "1e300",
        ] {
            let err = total(num(bad)).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            assert!(err.message().starts_with("'grand_total'"), "{bad}: {err}");
        }
    }

    #[test]
    fn money_renders_as_the_original_did() {
        assert_eq!(GrandTotal::from_cents(11000).to_json(), json!(110));
        assert_eq!(GrandTotal::from_cents(1250).to_json().to_string(), "12.5");
        assert_eq!(GrandTotal::from_cents(1).to_json().to_string(), "0.01");
    }

    #[test]
    fn ids_are_bounded_and_plain() {
        assert!(ApiId::parse("store_id", "store01").is_ok());
        assert!(ApiId::parse("store_id", "").is_err());
        assert!(ApiId::parse("store_id", &"x".repeat(MAX_ID_CHARS + 1)).is_err());
        assert!(ApiId::parse("store_id", "a b").is_err());
        assert!(ApiId::parse("store_id", "a\u{0}").is_err());
    }

    #[test]
    fn bodies_parse_once_into_checked_values() {
        let o = NewOrder::parse(
            r#"{"store_id":"store01","order_id":"order01","user_id":"user01","grand_total":110.00}"#,
        )
        .unwrap();
        assert_eq!(o.grand_total.cents(), 11000);
        assert_eq!(o.order_id.as_str(), "order01");
        for bad in [
            r#"{"store_id":"s","order_id":"o","user_id":"u"}"#,
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":"110"}"#,
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":1,"x":1}"#,
            r#"{"store_id":5,"order_id":"o","user_id":"u","grand_total":1}"#,
            "not json",
        ] {
            assert_eq!(NewOrder::parse(bad).unwrap_err().status(), 400, "{bad}");
        }
        let q = UserOrdersQuery::parse(r#"{"user_id":"user1","store_id":"store1"}"#).unwrap();
        assert_eq!(q.user_id.as_str(), "user1");
        assert!(UserOrdersQuery::parse(r#"{"user_id":"user1"}"#).is_err());
    }

    #[test]
    fn a_user_key_prefix_matches_only_that_user() {
        let order = |user: &str| ApiOrder {
            store_id: "s".into(),
            order_id: "o".into(),
            user_id: user.into(),
            grand_total: GrandTotal::from_cents(1),
            created_ms: 1_544_092_158_240,
            lifecycle_id: "l".into(),
            created_by: "c".into(),
        };
        let prefix = user_key_prefix("user1");
        assert!(order("user1").user_key().starts_with(&prefix));
        assert!(!order("user10").user_key().starts_with(&prefix));
        assert!(!order("user1#x").user_key().starts_with(&prefix));
        assert!(
            !order("user1%23x")
                .user_key()
                .starts_with(&user_key_prefix("user1#x"))
        );
        assert_eq!(order("user1").timestamp(), "user1#1544092158240");
        // Later orders sort after earlier ones.
        let mut later = order("user1");
        later.created_ms += 1;
        assert!(later.user_key() > order("user1").user_key());
    }

    #[test]
    fn customers_act_for_themselves_and_stores_for_their_stores() {
        let id = |s: &str| ApiId::parse("x", s).unwrap();
        let alice = OrdersApiCaller::from_caller(&Caller::new("alice", vec![]));
        assert!(alice.authorize(&id("any"), &id("alice")).is_ok());
        assert_eq!(
            alice
                .authorize(&id("any"), &id("bob"))
                .unwrap_err()
                .status(),
            403
        );

        let till = Caller::new("till-1", vec![]).with_scopes(vec![
            STORES_SCOPE.to_owned(),
            format!("{STORE_SCOPE_PREFIX}store01"),
        ]);
        let till = OrdersApiCaller::from_caller(&till);
        assert!(till.authorize(&id("store01"), &id("anyone")).is_ok());
        assert_eq!(
            till.authorize(&id("store02"), &id("anyone"))
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(till.principal(), "till-1");

        // A store scope without the stores scope grants nothing beyond a customer's rights.
        let odd = Caller::new("u", vec![]).with_scopes(vec![format!("{STORE_SCOPE_PREFIX}s")]);
        let odd = OrdersApiCaller::from_caller(&odd);
        assert_eq!(
            odd.authorize(&id("s"), &id("other")).unwrap_err().status(),
            403
        );
    }

    #[test]
    fn answers_are_the_originals_byte_for_byte() {
        assert_eq!(
            answer::created("order01"),
            (
                201,
                r#"{"statusCode":201,"body":{"message":"Order order01 submitted successfully"}}"#
                    .to_owned()
            )
        );
        assert_eq!(
            answer::already_exists(),
            (
                400,
                r#"{"statusCode":400,"error":"The conditional request failed"}"#.to_owned()
            )
        );
        assert_eq!(
            answer::no_orders("user1"),
            (
                400,
                r#"{"statusCode":400,"error":"User user1 has no orders yet !"}"#.to_owned()
            )
        );
        let o = ApiOrder {
            store_id: "store1".into(),
            order_id: "order8".into(),
            user_id: "user1".into(),
            grand_total: GrandTotal::from_cents(11000),
            created_ms: 1_544_092_158_240,
            lifecycle_id: "l".into(),
            created_by: "c".into(),
        };
        assert_eq!(
            answer::listed(&[o]).1,
            r#"{"statusCode":200,"orders":[{"user_id":"user1","grand_total":110,"order_id":"order8","store_id":"store1","timestamp":"user1#1544092158240"}],"body":{"message":"Orders retrieved successfully"}}"#
        );
    }
}
