//! `POST /cart/checkout` and the settling of a checkout's stock when its order has finished.
//!
//! Checkout converts the cart (its held stock moves to the order's checkout record, one
//! transaction), then emits `Cart.CheckoutAccepted`, which the bus routes to the order queue
//! like every other entry path; the answer is 202 `{"orderId"}` at once. The workflow charges
//! the total and hands the order over; when it emits `OrderProcessor.orderFinished`, the stock is
//! settled once: sold for a completed order, returned for a failed or cancelled one (the
//! workflow itself refunds a paid order that did not complete).

use crate::Cart;
use apigw::Request;
use domain::cart::CartStore;
use domain::catalog::{Product, ProductStore};
use domain::checkout::{
    Checkout, CheckoutStore, Converted, StockFate, order_id, parse_idempotency_key,
};
use domain::events::Detail;
use domain::lifecycle::CheckoutAccepted;
use domain::order::OrderState;
use domain::ports::{EventBus, OrderReader};
use domain::{AppError, Caller};
use serde_json::{Value, json};

const MAX_ATTEMPTS: usize = 10;

impl<C, P, K, B, O> Cart<C, P, K, B, O>
where
    C: CartStore,
    P: ProductStore,
    K: CheckoutStore,
    B: EventBus,
    O: OrderReader,
{
    pub(crate) async fn checkout(
        &self,
        req: &Request,
        caller: &Caller,
        now_ms: i64,
    ) -> Result<(u16, Value), AppError> {
        let key = req
            .headers
            .get("idempotency-key")
            .map(|v| {
                v.to_str()
                    .map_err(|_| AppError::bad_request("The Idempotency-Key header is not text"))
                    .and_then(parse_idempotency_key)
            })
            .transpose()?;
        let fresh = uuid::Uuid::new_v4().simple().to_string();
        let id = order_id(&caller.sub, key, &fresh);
        for _ in 0..MAX_ATTEMPTS {
            if let Some(done) = self.checkouts.get(&id).await? {
                // The same key again: the same order (queued again in case the first request
                // failed after converting the cart; the workflow starts once per order id).
                self.enqueue(&done).await?;
                return Ok((202, json!({ "orderId": done.order_id })));
            }
            let lines = self.carts.lines(&caller.sub).await?;
            let mut products: Vec<Product> = Vec::with_capacity(lines.len());
            for line in &lines {
                products.extend(self.products.get(&line.product_id).await?);
            }
            let checkout = Checkout::price(&id, &caller.sub, &lines, &products, now_ms)?;
            match self.checkouts.convert(&checkout, &lines).await? {
                Converted::Created => {
                    tracing::info!(order_id = %id, total = checkout.total, "cart checked out");
                    self.enqueue(&checkout).await?;
                    return Ok((202, json!({ "orderId": id })));
                }
                Converted::Exists | Converted::Raced => continue,
            }
        }
        Err(crate::raced())
    }

    async fn enqueue(&self, c: &Checkout) -> Result<(), AppError> {
        let event = CheckoutAccepted {
            order_id: c.order_id.clone(),
            user_id: c.user_id.clone(),
            amount: c.total,
            currency: c.currency.clone(),
        }
        .to_event();
        self.bus.publish(event).await.map_err(|e| {
            tracing::error!(order_id = %c.order_id, error = %e, "checkout not queued");
            AppError::unavailable(
                "The order could not be queued; send the request again with the same Idempotency-Key",
            )
        })
    }

    /// `OrderProcessor.orderFinished`: settles the stock of a checkout order (other orders
    /// have no checkout record and are ignored). An error makes the bus retry the delivery.
    pub async fn on_order_finished(&self, detail: &Value) -> Result<(), AppError> {
        let Some(order_id) = detail.get("orderId").and_then(Value::as_str) else {
            return Err(AppError::bad_request("orderFinished without an orderId"));
        };
        let Some(checkout) = self.checkouts.get(order_id).await? else {
            return Ok(());
        };
        if checkout.stock != StockFate::Held {
            return Ok(());
        }
        let order = self
            .orders
            .get(order_id)
            .await?
            .ok_or_else(|| AppError::internal(format!("Order {order_id} not found")))?;
        let to = match order.state {
            OrderState::Completed => StockFate::Committed,
            s if s.is_terminal() => StockFate::Released,
            s => {
                return Err(AppError::internal(format!(
                    "Order {order_id} finished but is {s}"
                )));
            }
        };
        if self.checkouts.settle(&checkout, to).await? {
            tracing::info!(order_id, stock = ?to, "checkout stock settled");
        }
        Ok(())
    }
}
