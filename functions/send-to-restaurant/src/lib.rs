//! send-to-restaurant: hands an order to the shop.
//!
//! The shop accepts an order only if it can make it: the drink (a QR order's chosen drink, a
//! direct order's `name`) must be on the menu and available *now* (the menu may have changed
//! since the order was placed). Otherwise the order is rejected (`RestaurantRejected`).
//!
//! * Called with a task token (QR orders, `lambda:invoke.waitForTaskToken`): stores the token
//!   and the order number on the order, then announces it with
//!   `OrderProcessor.WaitingCompletion` and `OrderManager.WaitingCompletion`; the barista's
//!   complete or cancel resumes the workflow.
//! * Called without (direct orders, plain `lambda:invoke`): acceptance is the whole step.

mod handler;
pub use handler::{Handler, Settings};

use apigw::task::{INVALID_INPUT, ORDER_CLOSED, RESTAURANT_REJECTED, TaskFailure};
use domain::events::{Detail, ManagerWaitingCompletion, ProcessorWaitingCompletion};
use domain::menu::MenuItem;
use domain::order::{Order, OrderCommand};
use domain::ports::{ConfigReader, EventBus, OrderReader, OrderWriter, apply_command};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
pub struct Request {
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "orderNumber", default)]
    pub order_number: Option<u64>,
    #[serde(rename = "taskToken", default)]
    pub task_token: Option<String>,
}

pub struct SendToRestaurant<O, C, B> {
    pub orders: O,
    pub config: C,
    pub bus: B,
}

/// The drink this order asks the shop to make.
fn requested_drink(order: &Order) -> Option<&str> {
    order
        .drink_order
        .as_ref()
        .map(|d| d.drink.as_str())
        .or_else(|| order.item.as_ref().map(|i| i.name.as_str()))
}

/// Whether the shop can make `drink` from `menu`, and if not, why.
pub fn check_makeable(menu: &[MenuItem], drink: Option<&str>) -> Result<(), String> {
    let drink = drink.ok_or("the order names no drink")?;
    match menu.iter().find(|m| m.drink == drink) {
        None => Err(format!("'{drink}' is not on the menu")),
        Some(m) if !m.available => Err(format!("'{drink}' is not available right now")),
        Some(_) => Ok(()),
    }
}

impl<O, C, B> SendToRestaurant<O, C, B>
where
    O: OrderReader + OrderWriter,
    C: ConfigReader,
    B: EventBus,
{
    pub async fn handle(&self, payload: Value, now_ms: i64) -> Result<Value, TaskFailure> {
        let req: Request = serde_json::from_value(payload).map_err(|e| {
            TaskFailure::new(
                INVALID_INPUT,
                format!("unexpected send-to-restaurant input: {e}"),
            )
        })?;
        let order = self.orders.get(&req.order_id).await?.ok_or_else(|| {
            TaskFailure::new(INVALID_INPUT, format!("Order {} not found", req.order_id))
        })?;
        if order.state.is_terminal() {
            return Err(TaskFailure::new(
                ORDER_CLOSED,
                format!("The order is already {}", order.state),
            ));
        }
        // An orders-API order names no drink: the store's own system sold it, and only its
        // total is known. Everything else must be something the menu can make now.
        if !order.channel.names_no_drink() {
            check_makeable(&self.config.menu().await?, requested_drink(&order))
                .map_err(|why| TaskFailure::new(RESTAURANT_REJECTED, why))?;
        }

        let Some(token) = req.task_token else {
            // A direct order: accepted is done; it keeps its number for the receipt.
            if let Some(order_number) = req.order_number {
                let cmd = OrderCommand::RecordNumber { order_number };
                apply_command(&self.orders, &req.order_id, &cmd, now_ms).await?;
            }
            return Ok(json!({ "accepted": true }));
        };
        let number = req.order_number.ok_or_else(|| {
            TaskFailure::new(INVALID_INPUT, "a barista hand-off needs the order number")
        })?;
        let cmd = OrderCommand::AwaitBarista {
            task_token: token.clone(),
            order_number: number,
        };
        // Store first, so the order can be completed as soon as a barista sees it.
        let order = apply_command(&self.orders, &req.order_id, &cmd, now_ms).await?;
        let drink = order
            .drink_order
            .clone()
            .ok_or_else(|| TaskFailure::new(INVALID_INPUT, "the order has no drink"))?;
        self.bus
            .publish(
                ProcessorWaitingCompletion {
                    message: "The order is with the barista, waiting to be completed.".to_owned(),
                    task_token: token,
                    order_id: order.order_id.clone(),
                    order_number: number,
                    user_id: order.user_id.clone(),
                }
                .to_event(),
            )
            .await?;
        self.bus
            .publish(
                ManagerWaitingCompletion {
                    order_id: order.order_id.clone(),
                    order_number: number,
                    state: order.state,
                    drink_order: drink,
                    user_id: order.user_id.clone(),
                    robot: order.robot,
                    ts: order.ts,
                    message: "A new order is in the barista queue.".to_owned(),
                }
                .to_event(),
            )
            .await?;
        Ok(json!({ "accepted": true }))
    }
}

#[cfg(test)]
mod tests {
    use super::check_makeable;
    use domain::menu::MenuItem;

    #[test]
    fn only_available_menu_drinks_are_makeable() {
        let menu: Vec<MenuItem> = serde_json::from_value(serde_json::json!([
            {"drink": "Latte", "icon": "l"},
            {"drink": "Mocha", "icon": "m", "available": false}
        ]))
        .unwrap();
        assert!(check_makeable(&menu, Some("Latte")).is_ok());
        assert!(
            check_makeable(&menu, Some("Mocha"))
                .unwrap_err()
                .contains("not available")
        );
        assert!(
            check_makeable(&menu, Some("Pizza"))
                .unwrap_err()
                .contains("not on the menu")
        );
        assert!(check_makeable(&menu, None).is_err());
    }
}
