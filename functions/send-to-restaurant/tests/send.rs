//! send-to-restaurant against a real DynamoDB engine, events recorded in memory.

use adapters::memory::RecordingBus;
use adapters::{ConfigTable, OrderTable};
use domain::Caller;
use domain::lifecycle::{OrderRequest, Pricing};
use domain::menu::{DrinkChoice, validate_choice};
use domain::order::{Order, OrderCommand, OrderState};
use domain::ports::{ConfigReader, OrderReader, OrderWriter, apply_command};
use local::testing::TestTables;
use send_to_restaurant::SendToRestaurant;
use serde_json::json;

async fn setup() -> (
    TestTables,
    SendToRestaurant<OrderTable, ConfigTable, RecordingBus>,
) {
    let t = TestTables::start().await.unwrap();
    let s = SendToRestaurant {
        orders: t.orders.clone(),
        config: t.config.clone(),
        bus: RecordingBus::default(),
    };
    (t, s)
}

/// A QR order whose customer chose `drink`.
async fn qr_order(t: &TestTables, id: &str, drink: &str) {
    t.orders.create(&Order::new(id, "u1", 1)).await.unwrap();
    apply_command(
        &t.orders,
        id,
        &OrderCommand::AwaitCustomer {
            task_token: "c".into(),
        },
        2,
    )
    .await
    .unwrap();
    let choice = DrinkChoice {
        drink: drink.into(),
        modifiers: vec!["Oat".into()],
    };
    let drink = validate_choice(&t.config.menu().await.unwrap(), &choice).unwrap();
    let cmd = OrderCommand::ChooseDrink {
        caller: Caller::new("u1", vec![]),
        drink,
    };
    apply_command(&t.orders, id, &cmd, 3).await.unwrap();
}

async fn direct_order(t: &TestTables, id: &str, name: &str) {
    let body = json!({"data": {"name": name, "restaurantId": "r", "quantity": 1}, "userId": "u1"})
        .to_string();
    let req = OrderRequest::from_queue_message(id, &body, Pricing::default(), 1).unwrap();
    t.orders.create(&req.to_order()).await.unwrap();
}

#[tokio::test]
async fn a_qr_order_is_parked_at_the_barista_and_announced() {
    let (t, s) = setup().await;
    qr_order(&t, "o1", "Latte").await;
    let out = s
        .handle(
            json!({"orderId": "o1", "orderNumber": 17, "taskToken": "barista-token"}),
            10,
        )
        .await
        .unwrap();
    assert_eq!(out, json!({"accepted": true}));
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert_eq!(
        (o.task_token.as_deref(), o.order_number),
        (Some("barista-token"), Some(17))
    );

    let p = s.bus.of_type("OrderProcessor.WaitingCompletion");
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].detail,
        json!({"Message": p[0].detail["Message"], "TaskToken": "barista-token", "orderId": "o1", "orderNumber": 17, "userId": "u1"})
    );
    let m = s.bus.of_type("OrderManager.WaitingCompletion");
    assert_eq!(m.len(), 1);
    let d = &m[0].detail;
    assert_eq!(
        (
            d["orderId"].as_str(),
            d["orderNumber"].as_u64(),
            d["state"].as_str()
        ),
        (Some("o1"), Some(17), Some("CREATED"))
    );
    assert_eq!(
        d["drinkOrder"],
        json!({"drink": "Latte", "icon": "barista-icons_cafe-latte", "modifiers": ["Oat"]})
    );
    assert_eq!(
        (d["userId"].as_str(), d["robot"].as_bool(), d["TS"].as_i64()),
        (Some("u1"), Some(false), Some(10))
    );
    assert!(d.get("TaskToken").is_none());
}

#[tokio::test]
async fn a_direct_order_is_accepted_without_waiting() {
    let (t, s) = setup().await;
    direct_order(&t, "d1", "Flat White").await;
    assert_eq!(
        s.handle(json!({"orderId": "d1", "orderNumber": 3}), 5)
            .await
            .unwrap(),
        json!({"accepted": true})
    );
    assert!(s.bus.events().is_empty());
    assert_eq!(
        t.orders.get("d1").await.unwrap().unwrap().state,
        OrderState::Created,
        "finishing is the workflow's job"
    );
}

#[tokio::test]
async fn the_shop_rejects_what_it_cannot_make() {
    let (t, s) = setup().await;
    direct_order(&t, "pizza", "Step Functions Pizza").await;
    let err = s.handle(json!({"orderId": "pizza"}), 5).await.unwrap_err();
    assert_eq!(
        (err.error, err.cause.as_str()),
        (
            "RestaurantRejected",
            "'Step Functions Pizza' is not on the menu"
        )
    );
    direct_order(&t, "cotd", "Coffee of the day").await;
    let err = s.handle(json!({"orderId": "cotd"}), 5).await.unwrap_err();
    assert_eq!(err.error, "RestaurantRejected");
    assert!(err.cause.contains("not available"));
    assert!(s.bus.events().is_empty());
}

#[tokio::test]
async fn a_finished_order_is_not_sent() {
    let (t, s) = setup().await;
    qr_order(&t, "o1", "Latte").await;
    let cancel = OrderCommand::Cancel {
        caller: Caller::new("u1", vec![]),
    };
    apply_command(&t.orders, "o1", &cancel, 4).await.unwrap();
    let err = s
        .handle(
            json!({"orderId": "o1", "orderNumber": 1, "taskToken": "t"}),
            5,
        )
        .await
        .unwrap_err();
    assert_eq!(err.error, "OrderClosed");
    assert!(
        t.orders
            .get("o1")
            .await
            .unwrap()
            .unwrap()
            .task_token
            .as_deref()
            != Some("t")
    );
}

#[tokio::test]
async fn bad_input_is_named_not_a_panic() {
    let (t, s) = setup().await;
    for bad in [json!({}), json!({"orderId": 5}), json!([])] {
        assert_eq!(
            s.handle(bad.clone(), 1).await.unwrap_err().error,
            "InvalidInput",
            "{bad}"
        );
    }
    assert_eq!(
        s.handle(json!({"orderId": "nope"}), 1)
            .await
            .unwrap_err()
            .error,
        "InvalidInput"
    );
    qr_order(&t, "o1", "Latte").await;
    let err = s
        .handle(json!({"orderId": "o1", "taskToken": "t"}), 1)
        .await
        .unwrap_err();
    assert_eq!(err.error, "InvalidInput", "a hand-off without a number");
}
