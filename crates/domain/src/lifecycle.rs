//! The order lifecycle's vocabulary: what enters the workflow ([`OrderRequest`], built from any
//! queue message), and how an order ends ([`Outcome`]).
//!
//! Every entry path (QR scan, direct `POST /orders`, later checkout and the orders API) ends in
//! one queue; [`OrderRequest::from_queue_message`] turns each message shape into the one input
//! the workflow runs on, so the workflow has a single path for every order.

use crate::AppError;
use crate::events::{Detail, Event, OrderTimeOut, ShopUnavailable};
use crate::order::{Order, OrderState};
use crate::orders_api::ApiOrder;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How the order came in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Serverlesspresso: a QR scan; the customer picks the drink while the workflow waits.
    #[default]
    Qr,
    /// ORDER_APP: `POST /orders` with `{"name","restaurantId","quantity"}`; sent to the
    /// restaurant, done when the restaurant accepts it.
    Direct,
    /// The orders API (seed 002): `POST /new-order` with a grand total; the store's own system
    /// says what was sold, so it is charged and sent to the restaurant like a direct order,
    /// without a menu check.
    Api,
    /// E-commerce (seed 003): `POST /cart/checkout` turned the customer's cart (whose stock is
    /// already held) into an order of a known total; charged and handed over like an orders-API
    /// order, without a menu check (a cart may hold beans and cups).
    Checkout,
}

impl Channel {
    /// Whether `maxOrdersPerUser` applies. It is the original's limit for a person in the shop
    /// with the order app (QR scans). Direct (ORDER_APP) and orders-API orders are placed by
    /// other systems (a store's till may order for many people under one identity), so only
    /// the shop-wide `maxOrdersInQueue` bounds them.
    pub fn limited_per_user(self) -> bool {
        self == Channel::Qr
    }

    /// Whether the order says what was sold without naming a drink of the menu (the restaurant
    /// does not check it against the menu).
    pub fn names_no_drink(self) -> bool {
        matches!(self, Channel::Api | Channel::Checkout)
    }
}

/// The detail-type of a checked-out cart on the bus; a rule routes it to the order queue.
pub const CHECKOUT_ACCEPTED: &str = "Cart.CheckoutAccepted";

/// What `POST /cart/checkout` puts on the bus (the queue message's `detail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutAccepted {
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    /// The cart's total in minor units, computed from the catalogue at checkout.
    pub amount: u64,
    pub currency: String,
}

impl crate::events::Detail for CheckoutAccepted {
    const DETAIL_TYPE: &'static str = CHECKOUT_ACCEPTED;
}

/// The ORDER_APP order body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectItem {
    pub name: String,
    #[serde(rename = "restaurantId")]
    pub restaurant_id: String,
    pub quantity: u32,
}

pub const MAX_QUANTITY: u32 = 100;

impl DirectItem {
    pub fn validate(&self) -> Result<(), AppError> {
        let bad = |m: &str| Err(AppError::bad_request(m.to_owned()));
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return bad("'name' must be 1 to 200 characters");
        }
        if self.restaurant_id.trim().is_empty() || self.restaurant_id.chars().count() > 100 {
            return bad("'restaurantId' must be 1 to 100 characters");
        }
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return bad("'quantity' must be a whole number from 1 to 100");
        }
        Ok(())
    }
}

/// Prices direct orders (QR coffee is free, as at the original's events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    pub unit_price_cents: u64,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            unit_price_cents: 450,
        }
    }
}

/// The workflow's input: one shape for every entry path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    pub channel: Channel,
    /// The workflow waits for the customer's drink choice (QR orders).
    #[serde(rename = "needsDrink")]
    pub needs_drink: bool,
    /// What to charge, in cents; 0 = nothing to pay.
    pub amount: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<DirectItem>,
    /// The payment card, if the client gave one (direct orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    /// When the order was accepted (epoch ms).
    #[serde(rename = "acceptedAt")]
    pub accepted_at: i64,
}

/// The body `POST /orders` puts on the queue: the client's JSON under `data`, and the caller's
/// verified `sub` (added by the gateway from the token, outside what the client controls).
#[derive(Deserialize)]
struct DirectMessage {
    data: DirectBody,
    #[serde(rename = "userId")]
    user_id: String,
}

#[derive(Deserialize)]
struct DirectBody {
    #[serde(flatten)]
    item: DirectItem,
    #[serde(default)]
    card: Option<String>,
}

#[derive(Deserialize)]
struct NewOrderEnvelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Value,
    #[serde(default)]
    time: Option<String>,
}

#[derive(Deserialize)]
struct NewOrderDetail {
    #[serde(rename = "orderId")]
    order_id: String,
    #[serde(rename = "userId")]
    user_id: String,
}

/// Whether Step Functions accepts `name` as an execution name: 1 to 80 characters, none of
/// them whitespace, `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`, or a control character.
/// An order id is its execution's name, so every order id must pass.
pub fn is_valid_execution_name(name: &str) -> bool {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let len = name.chars().count();
    (1..=80).contains(&len)
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c))
}

/// An order id becomes the workflow execution's name, so it must be a valid one; refusing it
/// here makes a bad id a malformed message (to the DLQ) instead of a start that always fails.
fn order_id(v: &str) -> Result<(), AppError> {
    if is_valid_execution_name(v) {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "'orderId' must be 1 to 80 characters without spaces or any of <>{}[]?*\"#%\\^|~`$&,;:/",
        ))
    }
}

fn non_empty_id(what: &str, v: &str) -> Result<(), AppError> {
    if v.is_empty() || v.len() > 128 {
        return Err(AppError::bad_request(format!(
            "'{what}' must be 1 to 128 characters"
        )));
    }
    Ok(())
}

impl OrderRequest {
    /// Reads one queue message. `message_id` becomes the id of a direct order (ORDER_APP's
    /// contract: the `SendMessageResponse.MessageId` the client got is its order id).
    pub fn from_queue_message(
        message_id: &str,
        body: &str,
        pricing: Pricing,
        now_ms: i64,
    ) -> Result<OrderRequest, AppError> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| AppError::bad_request(format!("message body is not JSON: {e}")))?;
        if value.get("detail-type").is_some() {
            let env: NewOrderEnvelope = serde_json::from_value(value)
                .map_err(|e| AppError::bad_request(format!("malformed bus event: {e}")))?;
            let accepted_at = env
                .time
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(now_ms, |t| t.timestamp_millis());
            if env.detail_type == CHECKOUT_ACCEPTED {
                return Self::from_checkout(env.detail, accepted_at);
            }
            if env.detail_type != "Validator.NewOrder" {
                return Err(AppError::bad_request(format!(
                    "unexpected event type '{}'",
                    env.detail_type
                )));
            }
            let detail: NewOrderDetail = serde_json::from_value(env.detail)
                .map_err(|e| AppError::bad_request(format!("malformed bus event: {e}")))?;
            order_id(&detail.order_id)?;
            non_empty_id("userId", &detail.user_id)?;
            return Ok(OrderRequest {
                order_id: detail.order_id,
                user_id: detail.user_id,
                channel: Channel::Qr,
                needs_drink: true,
                amount: 0,
                item: None,
                card: None,
                accepted_at,
            });
        }
        if value.get("data").is_some() {
            let msg: DirectMessage = serde_json::from_value(value)
                .map_err(|e| AppError::bad_request(format!("malformed order: {e}")))?;
            msg.data.item.validate()?;
            non_empty_id("userId", &msg.user_id)?;
            order_id(message_id)?;
            return Ok(OrderRequest {
                order_id: message_id.to_owned(),
                user_id: msg.user_id,
                channel: Channel::Direct,
                needs_drink: false,
                amount: u64::from(msg.data.item.quantity) * pricing.unit_price_cents,
                item: Some(msg.data.item),
                card: msg.data.card,
                accepted_at: now_ms,
            });
        }
        Err(AppError::bad_request(
            "message is neither a Validator.NewOrder event nor a direct order",
        ))
    }

    /// The workflow input of a checked-out cart: its total is charged, nothing waits for a drink.
    fn from_checkout(detail: Value, accepted_at: i64) -> Result<OrderRequest, AppError> {
        let c: CheckoutAccepted = serde_json::from_value(detail)
            .map_err(|e| AppError::bad_request(format!("malformed checkout: {e}")))?;
        order_id(&c.order_id)?;
        non_empty_id("userId", &c.user_id)?;
        Ok(OrderRequest {
            order_id: c.order_id,
            user_id: c.user_id,
            channel: Channel::Checkout,
            needs_drink: false,
            amount: c.amount,
            item: None,
            card: None,
            accepted_at,
        })
    }

    /// The workflow input of an order created through the orders API: its execution is named
    /// by the lifecycle id minted with the row, so every delivery of the row starts the same one.
    pub fn from_api_order(order: &ApiOrder) -> Result<OrderRequest, AppError> {
        order_id(&order.lifecycle_id)?;
        non_empty_id("userId", &order.user_id)?;
        Ok(OrderRequest {
            order_id: order.lifecycle_id.clone(),
            user_id: order.user_id.clone(),
            channel: Channel::Api,
            needs_drink: false,
            amount: order.grand_total.cents(),
            item: None,
            card: None,
            accepted_at: order.created_ms,
        })
    }

    /// The order row this request creates.
    pub fn to_order(&self) -> Order {
        let mut o = Order::new(&self.order_id, &self.user_id, self.accepted_at);
        o.channel = self.channel;
        o.item = self.item.clone();
        o.amount = self.amount;
        o.robot = self.user_id == "robot";
        o
    }
}

/// A payment taken for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    #[serde(rename = "chargeId")]
    pub charge_id: String,
    pub amount: u64,
    #[serde(default)]
    pub refunded: bool,
}

/// How an order ends. Every branch of the workflow ends in exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Completed,
    Cancelled,
    CustomerTimeout,
    BaristaTimeout,
    ShopUnavailable,
    PaymentDeclined,
    RestaurantRejected,
    Failed,
}

impl Outcome {
    pub fn state(self) -> OrderState {
        match self {
            Outcome::Completed => OrderState::Completed,
            Outcome::Cancelled | Outcome::CustomerTimeout | Outcome::BaristaTimeout => {
                OrderState::Cancelled
            }
            Outcome::ShopUnavailable
            | Outcome::PaymentDeclined
            | Outcome::RestaurantRejected
            | Outcome::Failed => OrderState::Failed,
        }
    }

    /// The reason stored on the order; `detail` (e.g. the payment provider's message) is added
    /// where it helps. The two timeout reasons are the original's `cause` strings.
    pub fn reason(self, detail: Option<&str>) -> String {
        let base = match self {
            Outcome::Completed => "Completed",
            Outcome::Cancelled => "Cancelled",
            Outcome::CustomerTimeout => crate::events::CUSTOMER_TIMEOUT,
            Outcome::BaristaTimeout => crate::events::BARISTA_TIMEOUT,
            Outcome::ShopUnavailable => "Shop unavailable",
            Outcome::PaymentDeclined => "Payment declined",
            Outcome::RestaurantRejected => "Rejected by the restaurant",
            Outcome::Failed => "Order processing failed",
        };
        match detail.filter(|d| !d.is_empty()) {
            Some(d) if !matches!(self, Outcome::CustomerTimeout | Outcome::BaristaTimeout) => {
                format!("{base}: {d}")
            }
            _ => base.to_owned(),
        }
    }

    /// The event this ending emits besides `orderFinished`, if any (timeouts and shop
    /// unavailable; completion and cancellation are announced by the order manager).
    pub fn event(self, order: &Order, detail: Option<&str>) -> Option<Event> {
        match self {
            Outcome::CustomerTimeout | Outcome::BaristaTimeout => Some(
                OrderTimeOut {
                    message: "The order timed out and was cancelled.".to_owned(),
                    user_id: order.user_id.clone(),
                    order_id: order.order_id.clone(),
                    cause: self.reason(None),
                }
                .to_event(),
            ),
            Outcome::ShopUnavailable => Some(
                ShopUnavailable {
                    message: format!(
                        "The shop cannot take orders right now{}.",
                        detail.map(|d| format!(" ({d})")).unwrap_or_default()
                    ),
                    user_id: order.user_id.clone(),
                }
                .to_event(),
            ),
            _ => None,
        }
    }
}

/// The customer notification for a finished order (one line, with the order id).
pub fn notification(order: &Order) -> String {
    let mut text = format!("Order {}: {}", order.order_id, order.status_word());
    if let Some(n) = order.order_number {
        text.push_str(&format!(" (order number {n})"));
    }
    if let Some(reason) = &order.reason {
        text.push_str(&format!(" - {reason}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_000;

    #[test]
    fn a_validator_event_becomes_a_qr_request() {
        let body = json!({
            "version": "0", "id": "e1", "detail-type": "Validator.NewOrder",
            "source": "awsserverlessda.serverlesspresso", "time": "2026-11-21T10:00:00Z",
            "detail": {"orderId": "o1", "userId": "u1", "Message": "m", "bucket": {}}
        })
        .to_string();
        let r = OrderRequest::from_queue_message("mid", &body, Pricing::default(), NOW).unwrap();
        assert_eq!((r.order_id.as_str(), r.user_id.as_str()), ("o1", "u1"));
        assert_eq!((r.channel, r.needs_drink, r.amount), (Channel::Qr, true, 0));
        assert_eq!(
            r.accepted_at, 1_795_255_200_000,
            "taken from the event time"
        );
    }

    #[test]
    fn a_direct_order_takes_the_message_id_and_is_priced() {
        let body = json!({"data": {"name": "Latte to go", "restaurantId": "Restaurant 99", "quantity": 3}, "userId": "u1"}).to_string();
        let r = OrderRequest::from_queue_message(
            "msg-1",
            &body,
            Pricing {
                unit_price_cents: 400,
            },
            NOW,
        )
        .unwrap();
        assert_eq!(r.order_id, "msg-1");
        assert_eq!(
            (r.channel, r.needs_drink, r.amount),
            (Channel::Direct, false, 1_200)
        );
        assert_eq!(r.item.as_ref().unwrap().restaurant_id, "Restaurant 99");
        let o = r.to_order();
        assert_eq!(
            (o.channel, o.amount, o.state),
            (Channel::Direct, 1_200, OrderState::Created)
        );
        assert_eq!(serde_json::to_value(&o).unwrap()["orderStatus"], "PENDING");
    }

    #[test]
    fn malformed_messages_are_rejected_with_a_reason() {
        let cases = [
            ("not json", "not JSON"),
            (r#"{"hello": 1}"#, "neither"),
            (
                r#"{"detail-type": "Validator.NewCode", "detail": {"orderId": "o", "userId": "u"}}"#,
                "unexpected event type",
            ),
            (
                r#"{"detail-type": "Validator.NewOrder", "detail": {"orderId": "o"}}"#,
                "malformed bus event",
            ),
            (
                r#"{"detail-type": "Validator.NewOrder", "detail": {"orderId": "", "userId": "u"}}"#,
                "orderId",
            ),
            (
                r#"{"data": {"name": "x", "restaurantId": "r", "quantity": "3"}, "userId": "u"}"#,
                "malformed order",
            ),
            (
                r#"{"data": {"name": "x", "restaurantId": "r", "quantity": 0}, "userId": "u"}"#,
                "quantity",
            ),
            (
                r#"{"data": {"name": "x", "restaurantId": "r", "quantity": 101}, "userId": "u"}"#,
                "quantity",
            ),
            (
                r#"{"data": {"name": " ", "restaurantId": "r", "quantity": 1}, "userId": "u"}"#,
                "name",
            ),
            (
                r#"{"data": {"name": "x", "restaurantId": "r", "quantity": 1}}"#,
                "malformed order",
            ),
        ];
        for (body, why) in cases {
            let err =
                OrderRequest::from_queue_message("m", body, Pricing::default(), NOW).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.message().contains(why), "{body}: {err}");
        }
    }

    #[test]
    fn outcomes_map_to_one_terminal_state_each() {
        use Outcome::*;
        for (o, s) in [
            (Completed, OrderState::Completed),
            (Cancelled, OrderState::Cancelled),
            (CustomerTimeout, OrderState::Cancelled),
            (BaristaTimeout, OrderState::Cancelled),
            (ShopUnavailable, OrderState::Failed),
            (PaymentDeclined, OrderState::Failed),
            (RestaurantRejected, OrderState::Failed),
            (Failed, OrderState::Failed),
        ] {
            assert_eq!(o.state(), s);
            assert!(s.is_terminal());
        }
        assert_eq!(
            serde_json::to_value(CustomerTimeout).unwrap(),
            "customer-timeout"
        );
    }

    #[test]
    fn timeouts_and_unavailability_emit_their_events() {
        let order = Order::new("o1", "u1", 0);
        let e = Outcome::CustomerTimeout
            .event(&order, Some("ignored"))
            .unwrap();
        assert_eq!(e.detail_type, "OrderProcessor.OrderTimeOut");
        assert_eq!(e.detail["cause"], "Customer timedout");
        assert_eq!(
            Outcome::BaristaTimeout.reason(Some("x")),
            "Barista timedout"
        );
        let e = Outcome::ShopUnavailable
            .event(&order, Some("the shop is closed"))
            .unwrap();
        assert_eq!(e.detail_type, "OrderProcessor.ShopUnavailable");
        assert_eq!(
            e.detail.as_object().unwrap().len(),
            2,
            "{{Message, userId}} only"
        );
        assert!(Outcome::Completed.event(&order, None).is_none());
        assert_eq!(
            Outcome::PaymentDeclined.reason(Some("card declined")),
            "Payment declined: card declined"
        );
    }

    #[test]
    fn notifications_name_the_order_and_its_outcome() {
        let mut o = Order::new("o1", "u1", 0);
        o.order_number = Some(7);
        crate::order::OrderCommand::Finish {
            to: OrderState::Failed,
            reason: Some("Payment declined".into()),
        }
        .apply(&mut o, 1)
        .unwrap();
        assert_eq!(
            notification(&o),
            "Order o1: FAILURE (order number 7) - Payment declined"
        );
    }

    #[test]
    fn a_checked_out_cart_is_charged_its_total_without_waiting_for_a_drink() {
        let body = json!({
            "detail-type": CHECKOUT_ACCEPTED,
            "time": "2026-12-04T21:00:00Z",
            "detail": {"orderId": "ck-1", "userId": "alice", "amount": 1250, "currency": "USD"}
        });
        let r = OrderRequest::from_queue_message("m1", &body.to_string(), Pricing::default(), 0)
            .unwrap();
        assert_eq!(
            (r.channel, r.needs_drink, r.amount),
            (Channel::Checkout, false, 1250)
        );
        assert_eq!((r.order_id.as_str(), r.user_id.as_str()), ("ck-1", "alice"));
        assert!(r.channel.names_no_drink() && !r.channel.limited_per_user());
        let bad = json!({"detail-type": CHECKOUT_ACCEPTED, "detail": {"orderId": "a b", "userId": "u", "amount": 1, "currency": "USD"}});
        assert!(
            OrderRequest::from_queue_message("m1", &bad.to_string(), Pricing::default(), 0)
                .is_err()
        );
    }
}
