//! manage-state: the workflow's hold on the order row.
//!
//! * `admit` saves the order with a conditional put (a retried or redelivered start finds it
//!   there and goes on), then decides whether the shop takes it: open, and a place in the queue
//!   ([`OrderSlots::take`]: fewer than `maxOrdersInQueue` open orders, and for QR orders fewer
//!   than `maxOrdersPerUser` of this customer's, taken atomically with the order's mark so a
//!   retried Admit takes nothing more).
//! * `finish` is the one place an order becomes terminal (COMPLETED, CANCELLED or FAILED, from
//!   the [`Outcome`] the workflow reached). It is idempotent: an order that is already finished
//!   (the barista completed it, the customer cancelled it) stays as it is and is reported as it
//!   is. It emits the ending's own event (timeouts, shop unavailable) and returns the customer
//!   notification the workflow sends. Every call then gives back the order's place in the
//!   queue if it still holds one ([`OrderSlots::release`]), also when the barista or the
//!   customer ended the order first: the workflow's Finish always runs after them, and the
//!   release is conditional on the order's mark, so a retried Finish frees nothing twice.
//!
//! Refunds: `finish` answers `refundDue`, read from the row after it is terminal
//! ([`Order::refund_due`]), and the workflow's `RefundDue` choice refunds exactly when it is
//! true. The path the workflow took is not trusted for this: an order cancelled after
//! send-to-restaurant looked at it reaches `finish` on the "completed" path but ends
//! CANCELLED (refund due), and a barista timeout after the barista completed it ends COMPLETED
//! (no refund). `finish` itself cannot require the refund first: the order manager cancels
//! orders directly, and whether money is owed is only known once the order is terminal.
//!
//! One domain state, two views: the result carries both `state` (CREATED/COMPLETED/CANCELLED/
//! FAILED) and `status` (ORDER_APP's PENDING/SUCCESS/FAILURE).

mod handler;
pub use handler::{Handler, Settings};

use apigw::task::{INVALID_INPUT, TaskFailure};
use domain::AppError;
use domain::lifecycle::{OrderRequest, Outcome, notification};
use domain::order::{Order, OrderCommand, REFUND_PENDING};
use domain::ports::{
    ConfigReader, EventBus, OrderReader, OrderSlots, OrderWriter, SlotTaken, apply_command,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// What the workflow asks for.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Request {
    Admit {
        request: OrderRequest,
    },
    Finish {
        #[serde(rename = "orderId")]
        order_id: String,
        /// Used only if the order was never saved (the save itself failed).
        #[serde(rename = "userId", default)]
        user_id: Option<String>,
        outcome: Outcome,
        /// Why: a string, or a caught error `{"Error", "Cause"}`, or null.
        #[serde(default)]
        detail: Value,
    },
}

pub struct ManageState<O, C, B, S> {
    pub orders: O,
    pub config: C,
    pub bus: B,
    /// The queue places (shop-wide and per customer).
    pub slots: S,
    /// The cancellation grace period the workflow waits after numbering the order.
    pub grace_seconds: u64,
}

impl<O, C, B, S> ManageState<O, C, B, S>
where
    O: OrderReader + OrderWriter,
    C: ConfigReader,
    B: EventBus,
    S: OrderSlots,
{
    pub async fn handle(&self, payload: Value, now_ms: i64) -> Result<Value, TaskFailure> {
        let request: Request = serde_json::from_value(payload).map_err(|e| {
            TaskFailure::new(INVALID_INPUT, format!("unexpected manage-state input: {e}"))
        })?;
        match request {
            Request::Admit { request } => self.admit(&request).await,
            Request::Finish {
                order_id,
                user_id,
                outcome,
                detail,
            } => {
                self.finish(&order_id, user_id, outcome, &detail, now_ms)
                    .await
            }
        }
        .map_err(TaskFailure::from)
    }

    async fn admit(&self, request: &OrderRequest) -> Result<Value, AppError> {
        let created = self.orders.create(&request.to_order()).await?;
        let refuse = |reason: String| json!({ "admitted": false, "reason": reason, "graceSeconds": self.grace_seconds });
        if !created {
            // A retried or redelivered start: the row is there. Go on unless it has ended.
            let existing = self.orders.get(&request.order_id).await?;
            if let Some(o) = existing.filter(|o| o.state.is_terminal()) {
                return Ok(refuse(format!("the order is already {}", o.state)));
            }
        }
        let shop = self.config.shop().await?;
        if !shop.store_open {
            return Ok(refuse("the shop is closed".to_owned()));
        }
        match self.slots.take(&request.to_order(), &shop).await? {
            SlotTaken::Taken | SlotTaken::AlreadyHeld => {}
            SlotTaken::Refused(why) => return Ok(refuse(why.reason())),
        }
        Ok(json!({ "admitted": true, "reason": null, "graceSeconds": self.grace_seconds }))
    }

    async fn finish(
        &self,
        order_id: &str,
        user_id: Option<String>,
        outcome: Outcome,
        detail: &Value,
        now_ms: i64,
    ) -> Result<Value, AppError> {
        let (order, changed) = self.end(order_id, user_id, outcome, detail, now_ms).await?;
        // After the order is terminal, so the queue never counts fewer orders than are open;
        // a failure here fails the task, and its retry finds the order ended and frees it.
        self.slots.release(&order).await?;
        Ok(result(&order, changed))
    }

    /// Makes the order terminal (or finds it so); the row as it is now, and whether this call
    /// ended it.
    async fn end(
        &self,
        order_id: &str,
        user_id: Option<String>,
        outcome: Outcome,
        detail: &Value,
        now_ms: i64,
    ) -> Result<(Order, bool), AppError> {
        let detail = describe(detail);
        let order = match self.orders.get(order_id).await? {
            Some(o) => o,
            None => {
                // The save never happened (Admit failed for good): record the order so that it
                // exists, and ends, like every other.
                let user = user_id
                    .ok_or_else(|| AppError::not_found(format!("Order {order_id} not found")))?;
                self.orders
                    .create(&Order::new(order_id, user, now_ms))
                    .await?;
                self.orders
                    .get(order_id)
                    .await?
                    .ok_or_else(|| AppError::internal("The order vanished while being recorded"))?
            }
        };
        if order.state.is_terminal() {
            return Ok((order, false));
        }
        let mut reason = outcome.reason(detail.as_deref());
        if order.payment.as_ref().is_some_and(|p| !p.refunded) && outcome != Outcome::Completed {
            reason.push_str(REFUND_PENDING);
        }
        // Emit before writing: if the write then fails, the retry emits again (at least once)
        // rather than never.
        if let Some(event) = outcome.event(&order, detail.as_deref()) {
            self.bus.publish(event).await?;
        }
        let cmd = OrderCommand::Finish {
            to: outcome.state(),
            reason: Some(reason),
        };
        match apply_command(&self.orders, order_id, &cmd, now_ms).await {
            Ok(done) => Ok((done, true)),
            // Someone else finished it between our read and our write: report it as it is.
            Err(AppError::Conflict(_)) => {
                let current = self
                    .orders
                    .get(order_id)
                    .await?
                    .ok_or_else(|| AppError::internal("The order vanished while finishing"))?;
                Ok((current, false))
            }
            Err(e) => Err(e),
        }
    }
}

fn result(order: &Order, changed: bool) -> Value {
    json!({
        "orderId": order.order_id,
        "state": order.state,
        "status": order.status,
        "reason": order.reason,
        "changed": changed,
        "refundDue": order.refund_due(),
        "notification": notification(order),
    })
}

/// A readable reason from what the workflow passed: a string, or a caught error.
fn describe(detail: &Value) -> Option<String> {
    match detail {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(map) => {
            let cause = map
                .get("Cause")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty());
            let error = map.get("Error").and_then(Value::as_str);
            // A Lambda's cause is its JSON error report; show the message in it.
            let cause = cause.map(|c| {
                serde_json::from_str::<Value>(c)
                    .ok()
                    .and_then(|v| {
                        v.get("errorMessage")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| c.to_owned())
            });
            cause.or_else(|| error.map(str::to_owned))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::describe;
    use serde_json::json;

    #[test]
    fn reasons_come_from_strings_and_caught_errors() {
        assert_eq!(describe(&json!("closed")), Some("closed".into()));
        assert_eq!(describe(&json!(null)), None);
        assert_eq!(
            describe(&json!({"Error": "X", "Cause": "why"})),
            Some("why".into())
        );
        assert_eq!(describe(&json!({"Error": "X"})), Some("X".into()));
        let lambda = json!({"Error": "PaymentDeclined", "Cause": "{\"errorType\":\"PaymentDeclined\",\"errorMessage\":\"card declined\"}"});
        assert_eq!(describe(&lambda), Some("card declined".into()));
    }
}
