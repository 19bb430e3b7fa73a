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

/// Every change that can be made to an existing order.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderCommand {
    /// The customer picks a drink (`PUT /orders/{id}`).
    ChooseDrink { caller: Caller, drink: DrinkOrder },
    /// Takes back a drink choice whose workflow could not be resumed, so the customer can
    /// choose again (the workflow still waits on the same token).
    WithdrawDrink,
    /// A barista claims (`Some(sub)`) or releases (`None`) an order.
    Claim {
        caller: Caller,
        barista: Option<String>,
    },
    /// A barista completes the order.
    Complete { caller: Caller },
    /// The owner or an admin cancels the order.
    Cancel { caller: Caller },
    /// The workflow parks the order on a callback token (waiting for the customer's drink).
    AwaitCustomer { task_token: String },
    /// The workflow hands the order to the barista: its number and the barista callback token.
    AwaitBarista {
        task_token: String,
        order_number: u64,
    },
    /// The workflow numbered the order (a direct order accepted by the restaurant).
    RecordNumber { order_number: u64 },
    /// The workflow took the payment. Recorded even on an order that closed while it was
    /// being charged: the money moved, and the refund is decided from the row.
    RecordPayment { payment: Payment },
    /// The workflow refunded the payment.
    RecordRefund,
    /// The workflow ends the order (timeout, payment declined, shop closed, ...).
    Finish {
        to: OrderState,
        reason: Option<String>,
    },
}

impl OrderCommand {
    /// The precondition, with the message the caller gets when it does not hold.
    pub fn check(&self, order: &Order) -> Result<(), AppError> {
        match self {
            OrderCommand::ChooseDrink { caller, .. } => {
                if !order.is_owned_by(caller) {
                    return Err(AppError::forbidden(
                        "This order belongs to another customer",
                    ));
                }
                order.check_open()?;
                if order.drink_order.is_some() {
                    return Err(AppError::conflict(
                        "A drink has already been chosen for this order",
                    ));
                }
                if order.task_token.is_none() {
                    return Err(AppError::conflict("Workflow not ready yet."));
                }
                Ok(())
            }
            OrderCommand::WithdrawDrink => {
                order.check_open()?;
                if order.drink_order.is_none() {
                    return Err(AppError::conflict(
                        "No drink has been chosen for this order",
                    ));
                }
                Ok(())
            }
            OrderCommand::Claim { caller, .. } | OrderCommand::Complete { caller } => {
                caller.require_admin()?;
                order.check_with_barista()
            }
            OrderCommand::Cancel { caller } => {
                if !order.is_owned_by(caller) && !caller.is_admin() {
                    return Err(AppError::forbidden(
                        "Only the customer who placed the order or an admin can cancel it",
                    ));
                }
                order.check_open()
            }
            OrderCommand::AwaitCustomer { .. } => {
                order.check_open()?;
                if order.drink_order.is_some() {
                    return Err(AppError::conflict(
                        "A drink has already been chosen for this order",
                    ));
                }
                Ok(())
            }
            OrderCommand::AwaitBarista { .. } => {
                order.check_open()?;
                if order.drink_order.is_none() {
                    return Err(AppError::conflict(
                        "The order has no drink to send to the barista",
                    ));
                }
                Ok(())
            }
            OrderCommand::RecordNumber { .. } => order.check_open(),
            OrderCommand::RecordPayment { .. } => {
                if order.payment.is_some() {
                    return Err(AppError::conflict("The order is already paid"));
                }
                Ok(())
            }
            OrderCommand::RecordRefund => match &order.payment {
                Some(p) if !p.refunded => Ok(()),
                Some(_) => Err(AppError::conflict("The payment is already refunded")),
                None => Err(AppError::conflict("The order has no payment to refund")),
            },
            OrderCommand::Finish { to, .. } => order.state.transition(*to).map(|_| ()),
        }
    }

    /// Applies the change after `check` passed. `now_ms` becomes the order's `TS`.
    pub fn apply(&self, order: &mut Order, now_ms: i64) -> Result<(), AppError> {
        self.check(order)?;
        match self {
            OrderCommand::ChooseDrink { drink, .. } => {
                order.drink_order = Some(drink.clone());
            }
            OrderCommand::WithdrawDrink => order.drink_order = None,
            OrderCommand::Claim { barista, .. } => {
                order.barista_user_id = barista.clone();
            }
            OrderCommand::Complete { .. } => order.set_state(OrderState::Completed)?,
            OrderCommand::Cancel { caller } => {
                order.set_state(OrderState::Cancelled)?;
                order.reason = Some(if order.is_owned_by(caller) {
                    "Cancelled by customer".to_owned()
                } else {
                    "Cancelled by barista".to_owned()
                });
            }
            OrderCommand::AwaitCustomer { task_token } => {
                order.task_token = Some(task_token.clone());
            }
            OrderCommand::AwaitBarista {
                task_token,
                order_number,
            } => {
                order.task_token = Some(task_token.clone());
                order.order_number = Some(*order_number);
            }
            OrderCommand::RecordNumber { order_number } => order.order_number = Some(*order_number),
            OrderCommand::RecordPayment { payment } => order.payment = Some(payment.clone()),
            OrderCommand::RecordRefund => {
                if let Some(p) = &mut order.payment {
                    p.refunded = true;
                }
                // The reason said the refund was pending; it no longer is (`payment.refunded`
                // now says it was made).
                if let Some(r) = order
                    .reason
                    .as_mut()
                    .filter(|r| r.ends_with(REFUND_PENDING))
                {
                    r.truncate(r.len() - REFUND_PENDING.len());
                }
            }
            OrderCommand::Finish { to, reason } => {
                order.set_state(*to)?;
                order.reason = reason.clone();
            }
        }
        order.ts = now_ms;
        order.version += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> Caller {
        Caller::new("cust-1", vec![])
    }
    fn admin() -> Caller {
        Caller::new("barista-1", vec!["admin".into()])
    }
    fn latte() -> DrinkOrder {
        DrinkOrder {
            drink: "Latte".into(),
            icon: "latte".into(),
            modifiers: vec!["Oat".into()],
        }
    }
    fn waiting_for_drink() -> Order {
        let mut o = Order::new("o1", "cust-1", 1);
        OrderCommand::AwaitCustomer {
            task_token: "t1".into(),
        }
        .apply(&mut o, 2)
        .unwrap();
        o
    }
    fn with_barista() -> Order {
        let mut o = waiting_for_drink();
        OrderCommand::ChooseDrink {
            caller: customer(),
            drink: latte(),
        }
        .apply(&mut o, 3)
        .unwrap();
        OrderCommand::AwaitBarista {
            task_token: "t2".into(),
            order_number: 7,
        }
        .apply(&mut o, 4)
        .unwrap();
        o
    }

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
    fn choosing_a_drink_needs_the_owner_an_open_order_and_a_waiting_workflow() {
        let cmd = |c: Caller| OrderCommand::ChooseDrink {
            caller: c,
            drink: latte(),
        };
        let fresh = Order::new("o1", "cust-1", 1);
        assert_eq!(
            cmd(customer()).check(&fresh).unwrap_err().message(),
            "Workflow not ready yet."
        );
        let o = waiting_for_drink();
        assert_eq!(
            cmd(Caller::new("someone-else", vec![]))
                .check(&o)
                .unwrap_err()
                .status(),
            403
        );
        let mut chosen = o.clone();
        cmd(customer()).apply(&mut chosen, 10).unwrap();
        assert_eq!(chosen.drink_order, Some(latte()));
        assert_eq!(chosen.ts, 10);
        assert_eq!(chosen.version, o.version + 1);
        assert_eq!(cmd(customer()).check(&chosen).unwrap_err().status(), 409);
    }

    #[test]
    fn a_withdrawn_drink_can_be_chosen_again_but_only_on_an_open_order() {
        let choose = OrderCommand::ChooseDrink {
            caller: customer(),
            drink: latte(),
        };
        let mut o = waiting_for_drink();
        assert_eq!(
            OrderCommand::WithdrawDrink.check(&o).unwrap_err().status(),
            409,
            "nothing to withdraw"
        );
        choose.apply(&mut o, 3).unwrap();
        OrderCommand::WithdrawDrink.apply(&mut o, 4).unwrap();
        assert_eq!((o.drink_order.as_ref(), o.ts), (None, 4));
        assert_eq!(
            o.task_token.as_deref(),
            Some("t1"),
            "the workflow still waits"
        );
        choose.apply(&mut o, 5).unwrap();
        let mut ended = o.clone();
        OrderCommand::Cancel { caller: customer() }
            .apply(&mut ended, 6)
            .unwrap();
        let before = ended.clone();
        assert_eq!(
            OrderCommand::WithdrawDrink
                .apply(&mut ended, 7)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(ended, before);
    }

    #[test]
    fn barista_actions_need_admin_and_an_order_at_the_barista() {
        let o = waiting_for_drink();
        let complete = |c| OrderCommand::Complete { caller: c };
        assert_eq!(
            complete(customer())
                .check(&with_barista())
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            complete(admin()).check(&o).unwrap_err().message(),
            "The order has not reached the barista yet"
        );
        let mut done = with_barista();
        complete(admin()).apply(&mut done, 9).unwrap();
        assert_eq!(done.state, OrderState::Completed);
        assert_eq!(done.status, OrderStatus::Success);
        // A terminal order refuses every further change.
        for cmd in [
            complete(admin()),
            OrderCommand::Cancel { caller: admin() },
            OrderCommand::Claim {
                caller: admin(),
                barista: Some("b".into()),
            },
            OrderCommand::Finish {
                to: OrderState::Failed,
                reason: None,
            },
        ] {
            let before = done.clone();
            assert_eq!(cmd.apply(&mut done, 99).unwrap_err().status(), 409);
            assert_eq!(done, before, "a refused command must not change the order");
        }
    }

    #[test]
    fn claim_sets_and_clears_the_barista() {
        let mut o = with_barista();
        OrderCommand::Claim {
            caller: admin(),
            barista: Some("barista-1".into()),
        }
        .apply(&mut o, 5)
        .unwrap();
        assert_eq!(o.barista_user_id.as_deref(), Some("barista-1"));
        OrderCommand::Claim {
            caller: admin(),
            barista: None,
        }
        .apply(&mut o, 6)
        .unwrap();
        assert_eq!(o.barista_user_id, None);
        assert_eq!(o.state, OrderState::Created);
    }

    #[test]
    fn only_the_owner_or_an_admin_can_cancel() {
        let o = waiting_for_drink();
        let stranger = OrderCommand::Cancel {
            caller: Caller::new("cust-2", vec![]),
        };
        assert_eq!(stranger.check(&o).unwrap_err().status(), 403);
        let mut mine = o.clone();
        OrderCommand::Cancel { caller: customer() }
            .apply(&mut mine, 5)
            .unwrap();
        assert_eq!(mine.state, OrderState::Cancelled);
        assert_eq!(mine.reason.as_deref(), Some("Cancelled by customer"));
        let mut theirs = o;
        OrderCommand::Cancel { caller: admin() }
            .apply(&mut theirs, 5)
            .unwrap();
        assert_eq!(theirs.reason.as_deref(), Some("Cancelled by barista"));
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

    fn paid(o: &mut Order) {
        OrderCommand::RecordPayment {
            payment: Payment {
                charge_id: "ch".into(),
                amount: 450,
                refunded: false,
            },
        }
        .apply(o, 5)
        .unwrap();
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

    #[test]
    fn a_charge_is_recorded_even_on_an_order_closed_meanwhile() {
        let mut o = waiting_for_drink();
        OrderCommand::Cancel { caller: customer() }
            .apply(&mut o, 3)
            .unwrap();
        paid(&mut o);
        assert!(o.refund_due());
        let again = OrderCommand::RecordPayment {
            payment: o.payment.clone().unwrap(),
        };
        assert_eq!(again.check(&o).unwrap_err().status(), 409);
    }

    #[test]
    fn workflow_cannot_hand_a_drinkless_order_to_the_barista() {
        let o = waiting_for_drink();
        let cmd = OrderCommand::AwaitBarista {
            task_token: "t".into(),
            order_number: 1,
        };
        assert_eq!(cmd.check(&o).unwrap_err().status(), 409);
    }
}
