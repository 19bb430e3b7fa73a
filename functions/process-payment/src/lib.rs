//! process-payment: charges an order and refunds it, through the payment port.
//!
//! Both are idempotent per order: the charge is recorded on the order and a repeated `charge`
//! returns the recorded one without calling the provider; the provider itself is called with
//! an idempotency key derived from the order id (the order id for the charge, `<id>-refund`
//! for the refund), so a crash between calling and recording cannot charge or refund twice
//! either. The amount is the one stored on the order, never one from the request.
//!
//! There is one refund path: the workflow's `Refund` state, taken when `finish` says the
//! finished order is owed a refund. A charge that lands on an order cancelled meanwhile is
//! recorded on it (not refunded here), so that path sees it. `refund` refunds only a finished,
//! not completed, order, and records the refund on the row with a conditional write.

mod handler;
pub use handler::{Handler, Settings};

use apigw::task::{INVALID_INPUT, ORDER_CLOSED, PAYMENT_DECLINED, TRANSIENT, TaskFailure};
use domain::AppError;
use domain::lifecycle::Payment;
use domain::order::{Order, OrderCommand, OrderState};
use domain::ports::{
    Charge, OrderReader, OrderWriter, PaymentError, PaymentProvider, apply_command,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Request {
    /// `request` is the workflow state; only `orderId` and the optional `card` are read.
    Charge { request: ChargeRequest },
    Refund {
        #[serde(rename = "orderId")]
        order_id: String,
    },
}

#[derive(Debug, Deserialize)]
pub struct ChargeRequest {
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(default)]
    pub card: Option<String>,
}

/// The provider's idempotency key for an order's refund: one per order, and not the charge's
/// (a provider may answer a reused key with the first call's response).
pub fn refund_key(order_id: &str) -> String {
    format!("{order_id}-refund")
}

pub struct ProcessPayment<O, P> {
    pub orders: O,
    pub provider: P,
}

fn provider_failure(err: PaymentError) -> TaskFailure {
    match err {
        PaymentError::Declined(why) => TaskFailure::new(PAYMENT_DECLINED, why),
        PaymentError::Unavailable(e) => TaskFailure::new(TRANSIENT, e.message()),
    }
}

impl<O: OrderReader + OrderWriter, P: PaymentProvider> ProcessPayment<O, P> {
    pub async fn handle(&self, payload: Value, now_ms: i64) -> Result<Value, TaskFailure> {
        let request: Request = serde_json::from_value(payload).map_err(|e| {
            TaskFailure::new(
                INVALID_INPUT,
                format!("unexpected process-payment input: {e}"),
            )
        })?;
        match request {
            Request::Charge { request } => self.charge(&request, now_ms).await,
            Request::Refund { order_id } => self.refund(&order_id, now_ms).await,
        }
    }

    async fn order(&self, id: &str) -> Result<Order, TaskFailure> {
        self.orders
            .get(id)
            .await?
            .ok_or_else(|| TaskFailure::new(INVALID_INPUT, format!("Order {id} not found")))
    }

    async fn charge(&self, req: &ChargeRequest, now_ms: i64) -> Result<Value, TaskFailure> {
        let order = self.order(&req.order_id).await?;
        if let Some(p) = &order.payment {
            return Ok(json!({ "chargeId": p.charge_id, "amount": p.amount }));
        }
        if order.state.is_terminal() {
            return Err(TaskFailure::new(
                ORDER_CLOSED,
                format!("The order is already {}", order.state),
            ));
        }
        let charge = self
            .provider
            .charge(&order.order_id, order.amount, req.card.as_deref())
            .await
            .map_err(provider_failure)?;
        let record = OrderCommand::RecordPayment {
            payment: Payment {
                charge_id: charge.charge_id.clone(),
                amount: charge.amount,
                refunded: false,
            },
        };
        // Recorded even if the order was cancelled while we were charging; the workflow then
        // finishes it and refunds it, because the row says it is paid.
        let recorded = match apply_command(&self.orders, &order.order_id, &record, now_ms).await {
            Ok(o) => o,
            // A concurrent try of this task recorded the (same, idempotent) charge first.
            Err(AppError::Conflict(_)) => self.order(&order.order_id).await?,
            Err(e) => return Err(e.into()),
        };
        if recorded.state.is_terminal() {
            return Err(TaskFailure::new(
                ORDER_CLOSED,
                format!(
                    "The order was {} while it was being charged",
                    recorded.state
                ),
            ));
        }
        Ok(json!({ "chargeId": charge.charge_id, "amount": charge.amount }))
    }

    async fn refund(&self, order_id: &str, now_ms: i64) -> Result<Value, TaskFailure> {
        let order = self.order(order_id).await?;
        let Some(payment) = order.payment else {
            return Ok(json!({ "refunded": false, "reason": "nothing was charged" }));
        };
        if payment.refunded {
            return Ok(json!({ "refunded": true, "chargeId": payment.charge_id }));
        }
        if order.state == OrderState::Completed {
            // The customer got their order (e.g. completed just before a barista timeout).
            return Ok(json!({ "refunded": false, "reason": "the order was completed" }));
        }
        if !order.state.is_terminal() {
            // Not decided yet: a refund now could be followed by a completion. Not retried;
            // the workflow parks it for an operator.
            return Err(TaskFailure::new(
                INVALID_INPUT,
                format!("Order {order_id} is still open; only a finished order is refunded"),
            ));
        }
        let charge = Charge {
            charge_id: payment.charge_id.clone(),
            amount: payment.amount,
        };
        self.provider
            .refund(&refund_key(order_id), &charge)
            .await
            .map_err(provider_failure)?;
        match apply_command(&self.orders, order_id, &OrderCommand::RecordRefund, now_ms).await {
            Ok(_) | Err(AppError::Conflict(_)) => {
                Ok(json!({ "refunded": true, "chargeId": payment.charge_id }))
            }
            Err(e) => Err(e.into()),
        }
    }
}
