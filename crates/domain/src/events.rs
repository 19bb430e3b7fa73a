//! Every event detail the system puts on the bus, as a typed struct whose JSON is
//! byte-compatible with the original's (field names and casing; reference §3). The frontends
//! switch on these detail-type strings, so they are constants here and nowhere else.

use crate::order::{DrinkOrder, Order, OrderState};
use crate::qr::Bucket;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `source` of every application event.
pub const EVENT_SOURCE: &str = "awsserverlessda.serverlesspresso";
/// Default name of the custom bus.
pub const DEFAULT_EVENT_BUS: &str = "Serverlesspresso";

/// An event as it travels on the bus: a detail-type and a JSON detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: Value,
}

/// A typed event detail.
pub trait Detail: Serialize {
    const DETAIL_TYPE: &'static str;

    fn to_event(&self) -> Event {
        Event {
            detail_type: Self::DETAIL_TYPE.to_owned(),
            // These structs hold only strings, numbers and string-keyed maps, which always
            // serialise; Null is unreachable but keeps this infallible.
            detail: serde_json::to_value(self).unwrap_or(Value::Null),
        }
    }
}

macro_rules! detail_type {
    ($ty:ident, $name:literal) => {
        impl Detail for $ty {
            const DETAIL_TYPE: &'static str = $name;
        }
    };
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatorNewOrder {
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "Message")]
    pub message: String,
    pub bucket: Bucket,
}
detail_type!(ValidatorNewOrder, "Validator.NewOrder");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowStarted {
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "TaskToken")]
    pub task_token: String,
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
}
detail_type!(WorkflowStarted, "OrderProcessor.WorkflowStarted");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessorWaitingCompletion {
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "TaskToken")]
    pub task_token: String,
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "orderNumber")]
    pub order_number: u64,
    #[serde(rename = "userId")]
    pub user_id: String,
}
detail_type!(
    ProcessorWaitingCompletion,
    "OrderProcessor.WaitingCompletion"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderTimeOut {
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "orderId")]
    pub order_id: String,
    /// `Customer timedout` or `Barista timedout`.
    pub cause: String,
}
detail_type!(OrderTimeOut, "OrderProcessor.OrderTimeOut");

pub const CUSTOMER_TIMEOUT: &str = "Customer timedout";
pub const BARISTA_TIMEOUT: &str = "Barista timedout";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopUnavailable {
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "userId")]
    pub user_id: String,
}
detail_type!(ShopUnavailable, "OrderProcessor.ShopUnavailable");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderFinished {
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "orderId")]
    pub order_id: String,
}
// Lower-case "o": the frontends match this exact string.
detail_type!(OrderFinished, "OrderProcessor.orderFinished");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerWaitingCompletion {
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "orderNumber")]
    pub order_number: u64,
    pub state: OrderState,
    #[serde(rename = "drinkOrder")]
    pub drink_order: DrinkOrder,
    #[serde(rename = "userId")]
    pub user_id: String,
    pub robot: bool,
    #[serde(rename = "TS")]
    pub ts: i64,
    #[serde(rename = "Message")]
    pub message: String,
}
detail_type!(ManagerWaitingCompletion, "OrderManager.WaitingCompletion");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MakeOrder {
    /// The claiming barista's `sub`, or `null` when the claim is released.
    #[serde(rename = "baristaUserId")]
    pub barista_user_id: Option<String>,
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "Message")]
    pub message: String,
    /// The order row as clients may see it (no task token, unlike the original).
    pub order: Value,
    #[serde(rename = "userId")]
    pub user_id: String,
}
detail_type!(MakeOrder, "OrderManager.MakeOrder");

/// The `order` summary carried by `OrderCompleted` / `OrderCancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    #[serde(rename = "orderNumber")]
    pub order_number: Option<u64>,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "drinkOrder")]
    pub drink_order: Option<DrinkOrder>,
    #[serde(rename = "orderState")]
    pub order_state: OrderState,
}

impl From<&Order> for OrderSummary {
    fn from(o: &Order) -> Self {
        OrderSummary {
            order_number: o.order_number,
            user_id: o.user_id.clone(),
            drink_order: o.drink_order.clone(),
            order_state: o.state,
        }
    }
}

/// The detail shared by `OrderManager.OrderCompleted` and `OrderManager.OrderCancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEnded {
    #[serde(rename = "actionUserId")]
    pub action_user_id: String,
    #[serde(rename = "orderId")]
    pub order_id: String,
    #[serde(rename = "Message")]
    pub message: String,
    pub order: OrderSummary,
    #[serde(rename = "userId")]
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderCompleted(pub OrderEnded);
detail_type!(OrderCompleted, "OrderManager.OrderCompleted");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderCancelled(pub OrderEnded);
detail_type!(OrderCancelled, "OrderManager.OrderCancelled");

/// The config table changed; `NewImage` is the new row in DynamoDB AttributeValue JSON
/// (`{"storeOpen": {"BOOL": false}, ...}`), which is what the frontends read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigChanged {
    #[serde(rename = "NewImage")]
    pub new_image: Value,
}
detail_type!(ConfigChanged, "ConfigService.ConfigChanged");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(e: &Event) -> Vec<String> {
        let mut k: Vec<String> = e.detail.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    fn drink() -> DrinkOrder {
        DrinkOrder {
            drink: "Latte".into(),
            icon: "i".into(),
            modifiers: vec![],
        }
    }

    #[test]
    fn detail_types_are_the_originals_byte_for_byte() {
        assert_eq!(ValidatorNewOrder::DETAIL_TYPE, "Validator.NewOrder");
        assert_eq!(
            WorkflowStarted::DETAIL_TYPE,
            "OrderProcessor.WorkflowStarted"
        );
        assert_eq!(
            ProcessorWaitingCompletion::DETAIL_TYPE,
            "OrderProcessor.WaitingCompletion"
        );
        assert_eq!(OrderTimeOut::DETAIL_TYPE, "OrderProcessor.OrderTimeOut");
        assert_eq!(
            ShopUnavailable::DETAIL_TYPE,
            "OrderProcessor.ShopUnavailable"
        );
        assert_eq!(OrderFinished::DETAIL_TYPE, "OrderProcessor.orderFinished");
        assert_eq!(
            ManagerWaitingCompletion::DETAIL_TYPE,
            "OrderManager.WaitingCompletion"
        );
        assert_eq!(MakeOrder::DETAIL_TYPE, "OrderManager.MakeOrder");
        assert_eq!(OrderCompleted::DETAIL_TYPE, "OrderManager.OrderCompleted");
        assert_eq!(OrderCancelled::DETAIL_TYPE, "OrderManager.OrderCancelled");
        assert_eq!(ConfigChanged::DETAIL_TYPE, "ConfigService.ConfigChanged");
    }

    #[test]
    fn detail_fields_match_the_reference() {
        let bucket = crate::qr::QrPolicy::default().new_bucket(1, "c");
        let e = ValidatorNewOrder {
            order_id: "o".into(),
            user_id: "u".into(),
            message: "m".into(),
            bucket,
        }
        .to_event();
        assert_eq!(keys(&e), ["Message", "bucket", "orderId", "userId"]);
        let mut bucket_keys: Vec<_> = e.detail["bucket"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        bucket_keys.sort();
        for k in [
            "PK",
            "availableTokens",
            "end_full",
            "end_ts",
            "last_code",
            "last_id",
            "start_full",
            "start_ts",
        ] {
            assert!(bucket_keys.contains(&k.to_string()), "bucket lacks {k}");
        }

        let e = WorkflowStarted {
            message: "m".into(),
            task_token: "t".into(),
            order_id: "o".into(),
            user_id: "u".into(),
        }
        .to_event();
        assert_eq!(keys(&e), ["Message", "TaskToken", "orderId", "userId"]);

        let e = ProcessorWaitingCompletion {
            message: "m".into(),
            task_token: "t".into(),
            order_id: "o".into(),
            order_number: 3,
            user_id: "u".into(),
        }
        .to_event();
        assert_eq!(
            keys(&e),
            ["Message", "TaskToken", "orderId", "orderNumber", "userId"]
        );
        assert_eq!(e.detail["orderNumber"], json!(3));

        let e = OrderTimeOut {
            message: "m".into(),
            user_id: "u".into(),
            order_id: "o".into(),
            cause: CUSTOMER_TIMEOUT.into(),
        }
        .to_event();
        assert_eq!(keys(&e), ["Message", "cause", "orderId", "userId"]);
        assert_eq!(e.detail["cause"], "Customer timedout");

        let e = ShopUnavailable {
            message: "m".into(),
            user_id: "u".into(),
        }
        .to_event();
        assert_eq!(keys(&e), ["Message", "userId"]);

        let e = OrderFinished {
            message: "m".into(),
            user_id: "u".into(),
            order_id: "o".into(),
        }
        .to_event();
        assert_eq!(keys(&e), ["Message", "orderId", "userId"]);

        let e = ManagerWaitingCompletion {
            order_id: "o".into(),
            order_number: 83,
            state: OrderState::Created,
            drink_order: drink(),
            user_id: "u".into(),
            robot: false,
            ts: 1,
            message: "m".into(),
        }
        .to_event();
        assert_eq!(
            keys(&e),
            [
                "Message",
                "TS",
                "drinkOrder",
                "orderId",
                "orderNumber",
                "robot",
                "state",
                "userId"
            ]
        );
        assert_eq!(e.detail["state"], "CREATED");
        assert_eq!(e.detail["drinkOrder"]["drink"], "Latte");

        let order = Order::new("o", "u", 1);
        let e = MakeOrder {
            barista_user_id: None,
            order_id: "o".into(),
            message: "m".into(),
            order: order.public_view(),
            user_id: "u".into(),
        }
        .to_event();
        assert_eq!(
            keys(&e),
            ["Message", "baristaUserId", "order", "orderId", "userId"]
        );
        assert_eq!(e.detail["baristaUserId"], Value::Null);

        let e = OrderCompleted(OrderEnded {
            action_user_id: "b".into(),
            order_id: "o".into(),
            message: "m".into(),
            order: (&order).into(),
            user_id: "u".into(),
        })
        .to_event();
        assert_eq!(
            keys(&e),
            ["Message", "actionUserId", "order", "orderId", "userId"]
        );
        let mut order_keys: Vec<_> = e.detail["order"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        order_keys.sort();
        assert_eq!(
            order_keys,
            ["drinkOrder", "orderNumber", "orderState", "userId"]
        );

        let e = ConfigChanged {
            new_image: json!({"PK": {"S": "config"}, "storeOpen": {"BOOL": false}}),
        }
        .to_event();
        assert_eq!(e.detail["NewImage"]["storeOpen"]["BOOL"], false);
    }

    #[test]
    fn event_envelope_uses_the_eventbridge_field_name() {
        let e = OrderFinished {
            message: "m".into(),
            user_id: "u".into(),
            order_id: "o".into(),
        }
        .to_event();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["detail-type"], "OrderProcessor.orderFinished");
    }
}
