//! The order and its lifecycle.
//!
//! One domain state ([`OrderState`]) with guarded transitions. It is stored in `ORDERSTATE`
//! (the Serverlesspresso view: `CREATED | COMPLETED | CANCELLED`, plus `FAILED` for orders the
//! workflow could not fulfil, which the original never had) and mirrored in `orderStatus`
//! (the ORDER_APP view: `PENDING | SUCCESS | FAILURE`). Both are derived from the one state.
//!
//! Every change to an order is an [`OrderCommand`]: `check` states the precondition (and the
//! 409/403 message when it does not hold), `apply` makes the change. The store applies a command
//! with a write that is conditional on the version it read, so a concurrent change can never be
//! overwritten and a terminal order can never be changed.

use crate::AppError;
use crate::identity::Caller;
use crate::lifecycle::{Channel, DirectItem, Payment};
use serde::{Deserialize, Serialize};

mod command;
#[cfg(test)]
mod fixtures;

pub use command::OrderCommand;

/// Appended to a finished order's reason while its refund is owed; removed when the refund is
/// recorded.
pub const REFUND_PENDING: &str = " (refund pending)";

/// Partition key of every order row (the original's single `"orders"` partition).
pub const ORDERS_PK: &str = "orders";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderState {
    Created,
    Completed,
    Cancelled,
    Failed,
}

/// The ORDER_APP view of the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Success,
    Failure,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Created => "CREATED",
            OrderState::Completed => "COMPLETED",
            OrderState::Cancelled => "CANCELLED",
            OrderState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CREATED" => Some(OrderState::Created),
            "COMPLETED" => Some(OrderState::Completed),
            "CANCELLED" => Some(OrderState::Cancelled),
            "FAILED" => Some(OrderState::Failed),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        self != OrderState::Created
    }

    pub fn status(self) -> OrderStatus {
        match self {
            OrderState::Created => OrderStatus::Pending,
            OrderState::Completed => OrderStatus::Success,
            OrderState::Cancelled | OrderState::Failed => OrderStatus::Failure,
        }
    }

    /// The only transitions there are: from `CREATED` to one terminal state. Anything from a
    /// terminal state is refused, including a repeat of the same transition (callers that want
    /// idempotency check `order.state == to` themselves and treat it as done).
    pub fn transition(self, to: OrderState) -> Result<OrderState, AppError> {
        match (self, to) {
            (OrderState::Created, OrderState::Created) => {
                Err(AppError::conflict("The order is already in state CREATED"))
            }
            (OrderState::Created, to) => Ok(to),
            (from, _) => Err(AppError::conflict(format!(
                "The order is already {} and can no longer be changed",
                from.as_str()
            ))),
        }
    }
}

impl std::fmt::Display for OrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The drink the customer chose, as validated against the menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrinkOrder {
    pub drink: String,
    pub icon: String,
    #[serde(default)]
    pub modifiers: Vec<String>,
}

/// One order row. Attribute names are the original table's, so existing tools and the
/// frontends' field reads keep working.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub order_id: String,
    #[serde(rename = "USERID")]
    pub user_id: String,
    #[serde(rename = "ORDERSTATE")]
    pub state: OrderState,
    /// Mirror of `state` in the ORDER_APP vocabulary; always `state.status()`.
    #[serde(rename = "orderStatus")]
    pub status: OrderStatus,
    /// Epoch milliseconds of the last change (the original's `TS`).
    #[serde(rename = "TS")]
    pub ts: i64,
    /// The workflow callback token the order is currently waiting on, if any. Never sent to
    /// clients (see [`Order::public_view`]).
    #[serde(rename = "TaskToken", default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
    #[serde(
        rename = "drinkOrder",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub drink_order: Option<DrinkOrder>,
    #[serde(
        rename = "orderNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub order_number: Option<u64>,
    /// The number the counter gave this order, written in the same transaction as the
    /// counter's increment (so a retried or resumed numbering finds it and takes no other).
    /// `orderNumber` is set from it when the order reaches the barista or the restaurant, as in
    /// the original (the barista's queue and complete/claim go by `orderNumber`).
    #[serde(
        rename = "assignedNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub assigned_number: Option<u64>,
    #[serde(rename = "baristaUserId", default)]
    pub barista_user_id: Option<String>,
    #[serde(default)]
    pub robot: bool,
    /// Why a terminal order ended the way it did (timeout cause, payment declined, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How the order came in (QR scan or direct `POST /orders`).
    #[serde(default)]
    pub channel: Channel,
    /// What a direct (ORDER_APP) order is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<DirectItem>,
    /// What the order costs, in cents (0: nothing to pay).
    #[serde(default)]
    pub amount: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// Whether the order holds a place in the shop's queue: absent until `Admit` takes one,
    /// `true` while it is held, `false` once `Finish` gave it back. Written only by the slot
    /// transactions (with the version bumped); kept here so whole-row rewrites carry it along.
    #[serde(rename = "holdsSlot", default, skip_serializing_if = "Option::is_none")]
    pub holds_slot: Option<bool>,
    /// Optimistic-concurrency version: every write is conditional on the version it read.
    #[serde(default)]
    pub version: u64,
}

impl Order {
    /// A new order from a QR scan: it has an owner and nothing else yet.
    pub fn new(order_id: impl Into<String>, user_id: impl Into<String>, now_ms: i64) -> Self {
        Order {
            pk: ORDERS_PK.to_owned(),
            order_id: order_id.into(),
            user_id: user_id.into(),
            state: OrderState::Created,
            status: OrderState::Created.status(),
            ts: now_ms,
            task_token: None,
            drink_order: None,
            order_number: None,
            assigned_number: None,
            barista_user_id: None,
            robot: false,
            reason: None,
            channel: Channel::Qr,
            item: None,
            amount: 0,
            payment: None,
            holds_slot: None,
            version: 0,
        }
    }

    /// The ORDER_APP word for the order's state (`PENDING`, `SUCCESS`, `FAILURE`).
    pub fn status_word(&self) -> &'static str {
        match self.status {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Success => "SUCCESS",
            OrderStatus::Failure => "FAILURE",
        }
    }

    /// The row as clients see it: everything except the workflow's task token and the
    /// internal bookkeeping (version counter, queue slot).
    pub fn public_view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(map) = v.as_object_mut() {
            map.remove("TaskToken");
            map.remove("version");
            map.remove("holdsSlot");
        }
        v
    }

    /// `GET /orders/{id}`: the original's `{orderId, drinkOrder, orderState}`, plus the `TS`
    /// the original meant to return, the order number, the ORDER_APP view (`orderStatus`,
    /// `item`) and why a finished order ended as it did.
    pub fn receipt(&self) -> serde_json::Value {
        serde_json::json!({
            "orderId": self.order_id,
            "drinkOrder": self.drink_order,
            "orderState": self.state,
            "orderStatus": self.status,
            "orderNumber": self.order_number,
            "item": self.item,
            "reason": self.reason,
            "TS": self.ts,
        })
    }

    pub fn is_owned_by(&self, caller: &Caller) -> bool {
        self.user_id == caller.sub
    }

    /// Customers see their own orders; admins see every order.
    pub fn check_readable_by(&self, caller: &Caller) -> Result<(), AppError> {
        if self.is_owned_by(caller) || caller.is_admin() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "This order belongs to another customer",
            ))
        }
    }

    /// Whether the order owes the customer their money back: it was paid, is finished, and
    /// did not end completed. Decided on the row, never on the workflow's path, so an order
    /// cancelled after the workflow last looked at it is refunded, and a completed one never.
    pub fn refund_due(&self) -> bool {
        self.state.is_terminal()
            && self.state != OrderState::Completed
            && self.payment.as_ref().is_some_and(|p| !p.refunded)
    }

    fn check_open(&self) -> Result<(), AppError> {
        if self.state.is_terminal() {
            Err(AppError::conflict(format!(
                "The order is already {} and can no longer be changed",
                self.state
            )))
        } else {
            Ok(())
        }
    }

    fn check_with_barista(&self) -> Result<(), AppError> {
        self.check_open()?;
        if self.order_number.is_none() {
            return Err(AppError::conflict(
                "The order has not reached the barista yet",
            ));
        }
        Ok(())
    }

    fn set_state(&mut self, to: OrderState) -> Result<(), AppError> {
        self.state = self.state.transition(to)?;
        self.status = self.state.status();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn only_created_can_move_and_only_to_a_terminal_state() {
        use OrderState::*;
        for to in [Completed, Cancelled, Failed] {
            assert_eq!(Created.transition(to), Ok(to));
            for from in [Completed, Cancelled, Failed] {
                let err = from.transition(to).unwrap_err();
                assert_eq!(err.status(), 409);
                assert!(err.message().contains(from.as_str()));
            }
        }
        assert!(Created.transition(Created).is_err());
    }

    #[test]
    fn two_views_of_one_state() {
        assert_eq!(OrderState::Created.status(), OrderStatus::Pending);
        assert_eq!(OrderState::Completed.status(), OrderStatus::Success);
        assert_eq!(OrderState::Cancelled.status(), OrderStatus::Failure);
        assert_eq!(OrderState::Failed.status(), OrderStatus::Failure);
        for s in ["CREATED", "COMPLETED", "CANCELLED", "FAILED"] {
            assert_eq!(OrderState::parse(s).map(|x| x.as_str()), Some(s));
        }
        assert_eq!(OrderState::parse("created"), None);
    }

    #[test]
    fn row_serialises_with_the_original_attribute_names() {
        let o = with_barista();
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["PK"], "orders");
        assert_eq!(v["SK"], "o1");
        assert_eq!(v["USERID"], "cust-1");
        assert_eq!(v["ORDERSTATE"], "CREATED");
        assert_eq!(v["orderStatus"], "PENDING");
        assert_eq!(v["orderNumber"], 7);
        assert_eq!(v["drinkOrder"]["drink"], "Latte");
        assert_eq!(v["TaskToken"], "t2");
        let back: Order = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn public_view_never_carries_the_task_token() {
        let v = with_barista().public_view();
        assert!(v.get("TaskToken").is_none());
        assert!(v.get("version").is_none());
        assert_eq!(v["SK"], "o1");
    }

    #[test]
    fn readable_by_owner_and_admin_only() {
        let o = waiting_for_drink();
        assert!(o.check_readable_by(&customer()).is_ok());
        assert!(o.check_readable_by(&admin()).is_ok());
        assert_eq!(
            o.check_readable_by(&Caller::new("x", vec![]))
                .unwrap_err()
                .status(),
            403
        );
    }

    #[test]
    fn a_refund_is_due_only_for_a_paid_order_that_ended_not_completed() {
        let mut open = with_barista();
        paid(&mut open);
        assert!(!open.refund_due(), "still open: not decided yet");
        let mut done = open.clone();
        OrderCommand::Complete { caller: admin() }
            .apply(&mut done, 6)
            .unwrap();
        assert!(!done.refund_due(), "completed orders keep their payment");
        let mut cancelled = open.clone();
        OrderCommand::Finish {
            to: OrderState::Cancelled,
            reason: Some(format!("Barista timedout{REFUND_PENDING}")),
        }
        .apply(&mut cancelled, 6)
        .unwrap();
        assert!(cancelled.refund_due());
        OrderCommand::RecordRefund.apply(&mut cancelled, 7).unwrap();
        assert!(!cancelled.refund_due());
        assert_eq!(cancelled.reason.as_deref(), Some("Barista timedout"));
        assert_eq!(
            OrderCommand::RecordRefund
                .check(&cancelled)
                .unwrap_err()
                .status(),
            409,
            "a second refund is refused"
        );
        assert!(!with_barista().refund_due(), "unpaid");
    }
}
