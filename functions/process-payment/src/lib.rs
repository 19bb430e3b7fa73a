//! process-payment: charges an order and refunds it, through the payment port.
//!
//! Both are idempotent per order: the charge is recorded on the order and a repeated `charge`
//! returns the recorded one without calling the provider; the provider itself is called with
//! the order id as idempotency key, so a crash between charging and recording cannot charge
//! twice either. The amount is the one stored on the order, never one from the request.

use apigw::task::{INVALID_INPUT, ORDER_CLOSED, PAYMENT_DECLINED, TRANSIENT, TaskFailure};
use domain::AppError;
use domain::lifecycle::Payment;
use domain::order::{Order, OrderCommand};
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
        match apply_command(&self.orders, &order.order_id, &record, now_ms).await {
            Ok(_) => Ok(json!({ "chargeId": charge.charge_id, "amount": charge.amount })),
            // Cancelled while we were charging: give the money back now, then report it closed.
            Err(AppError::Conflict(why)) => {
                self.provider
                    .refund(&order.order_id, &charge)
                    .await
                    .map_err(provider_failure)?;
                Err(TaskFailure::new(ORDER_CLOSED, why))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn refund(&self, order_id: &str, now_ms: i64) -> Result<Value, TaskFailure> {
        let order = self.order(order_id).await?;
        let Some(payment) = order.payment else {
            return Ok(json!({ "refunded": false, "reason": "nothing was charged" }));
        };
        if payment.refunded {
            return Ok(json!({ "refunded": true, "chargeId": payment.charge_id }));
        }
        let charge = Charge {
            charge_id: payment.charge_id.clone(),
            amount: payment.amount,
        };
        self.provider
            .refund(order_id, &charge)
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
