//! manage-state against a real DynamoDB engine (embedded dynoxide), events recorded in memory.

use adapters::memory::RecordingBus;
use adapters::{ConfigTable, OrderTable};
use aws_sdk_dynamodb::types::AttributeValue;
use domain::lifecycle::{Channel, Payment};
use domain::order::{OrderCommand, OrderState};
use domain::ports::{OrderReader, ShopSwitch, apply_command};
use local::testing::TestTables;
use manage_state::ManageState;
use serde_json::{Value, json};

struct Fixture {
    t: TestTables,
    m: ManageState<OrderTable, ConfigTable, RecordingBus>,
}

async fn fixture() -> Fixture {
    let t = TestTables::start().await.unwrap();
    let m = ManageState {
        orders: t.orders.clone(),
        config: t.config.clone(),
        bus: RecordingBus::default(),
        grace_seconds: 30,
    };
    Fixture { t, m }
}

fn qr(id: &str) -> Value {
    json!({"orderId": id, "userId": "u1", "channel": "qr", "needsDrink": true, "amount": 0, "acceptedAt": 1000})
}
fn direct(id: &str, amount: u64) -> Value {
    json!({"orderId": id, "userId": "u1", "channel": "direct", "needsDrink": false, "amount": amount,
           "item": {"name": "Latte", "restaurantId": "r1", "quantity": 1}, "acceptedAt": 1000})
}
fn admit(request: Value) -> Value {
    json!({"action": "admit", "request": request})
}
fn finish(id: &str, outcome: &str, detail: Value) -> Value {
    json!({"action": "finish", "orderId": id, "userId": "u1", "outcome": outcome, "detail": detail})
}

#[tokio::test]
async fn admitting_saves_the_order_once_and_lets_it_in() {
    let f = fixture().await;
    let out = f.m.handle(admit(direct("o1", 450)), 5).await.unwrap();
    assert_eq!(
        out,
        json!({"admitted": true, "reason": null, "graceSeconds": 30})
    );
    // A redelivered or retried start: same answer, still one order.
    assert_eq!(
        f.m.handle(admit(direct("o1", 450)), 6).await.unwrap()["admitted"],
        true
    );
    let o = f.t.orders.get("o1").await.unwrap().unwrap();
    assert_eq!(
        (o.state, o.channel, o.amount, o.ts),
        (OrderState::Created, Channel::Direct, 450, 1000)
    );
    assert_eq!(f.t.orders.list_by_user("u1", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_closed_shop_refuses_and_the_order_waits_for_finish() {
    let f = fixture().await;
    f.t.config.set_store_open(false).await.unwrap();
    let out = f.m.handle(admit(qr("o1")), 5).await.unwrap();
    assert_eq!(
        (out["admitted"].as_bool(), out["reason"].as_str()),
        (Some(false), Some("the shop is closed"))
    );
    assert_eq!(
        f.t.orders.get("o1").await.unwrap().unwrap().state,
        OrderState::Created
    );

    let done =
        f.m.handle(finish("o1", "shop-unavailable", out["reason"].clone()), 6)
            .await
            .unwrap();
    assert_eq!(
        (done["state"].as_str(), done["status"].as_str()),
        (Some("FAILED"), Some("FAILURE"))
    );
    assert_eq!(done["reason"], "Shop unavailable: the shop is closed");
    let ev = f.m.bus.of_type("OrderProcessor.ShopUnavailable");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].detail["userId"], "u1");
    assert!(
        ev[0].detail.get("orderId").is_none(),
        "the original's detail has no orderId"
    );
}

#[tokio::test]
async fn a_full_queue_refuses_new_orders() {
    let f = fixture().await;
    f.t.dynamo
        .client()
        .update_item()
        .table_name("ConfigTable")
        .key("PK", AttributeValue::S("config".into()))
        .update_expression("SET maxOrdersInQueue = :m")
        .expression_attribute_values(":m", AttributeValue::N("2".into()))
        .send()
        .await
        .unwrap();
    for id in ["a", "b"] {
        assert_eq!(
            f.m.handle(admit(qr(id)), 1).await.unwrap()["admitted"],
            true
        );
    }
    let out = f.m.handle(admit(qr("c")), 1).await.unwrap();
    assert_eq!(out["admitted"], false);
    assert_eq!(out["reason"], "the shop is at capacity (2 orders waiting)");
    // Finished orders leave the queue (the refused one too, once the workflow finishes it).
    f.m.handle(finish("c", "shop-unavailable", out["reason"].clone()), 2)
        .await
        .unwrap();
    f.m.handle(finish("a", "completed", Value::Null), 2)
        .await
        .unwrap();
    assert_eq!(
        f.m.handle(admit(qr("d")), 3).await.unwrap()["admitted"],
        true
    );
}

#[tokio::test]
async fn finishing_is_idempotent_and_keeps_an_order_already_finished() {
    let f = fixture().await;
    f.m.handle(admit(direct("o1", 0)), 1).await.unwrap();
    let done =
        f.m.handle(finish("o1", "completed", Value::Null), 2)
            .await
            .unwrap();
    assert_eq!(
        (done["state"].as_str(), done["changed"].as_bool()),
        (Some("COMPLETED"), Some(true))
    );
    assert_eq!(done["notification"], "Order o1: SUCCESS - Completed");
    // A retry, or a late timeout branch, changes nothing and reports the order as it is.
    let again =
        f.m.handle(finish("o1", "barista-timeout", Value::Null), 3)
            .await
            .unwrap();
    assert_eq!(
        (again["state"].as_str(), again["changed"].as_bool()),
        (Some("COMPLETED"), Some(false))
    );
    assert!(
        f.m.bus.of_type("OrderProcessor.OrderTimeOut").is_empty(),
        "no timeout for a finished order"
    );
}

#[tokio::test]
async fn timeouts_cancel_with_the_original_causes_and_events() {
    let f = fixture().await;
    for (id, outcome, cause) in [
        ("a", "customer-timeout", "Customer timedout"),
        ("b", "barista-timeout", "Barista timedout"),
    ] {
        f.m.handle(admit(qr(id)), 1).await.unwrap();
        let done =
            f.m.handle(
                finish(
                    id,
                    outcome,
                    json!({"Error": "States.HeartbeatTimeout", "Cause": ""}),
                ),
                2,
            )
            .await
            .unwrap();
        assert_eq!(
            (done["state"].as_str(), done["reason"].as_str()),
            (Some("CANCELLED"), Some(cause))
        );
    }
    let ev = f.m.bus.of_type("OrderProcessor.OrderTimeOut");
    let causes: Vec<_> = ev
        .iter()
        .map(|e| e.detail["cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes, ["Customer timedout", "Barista timedout"]);
    assert_eq!(ev[0].detail["orderId"], "a");
}

#[tokio::test]
async fn failures_record_why_and_an_unrefunded_payment_is_flagged() {
    let f = fixture().await;
    f.m.handle(admit(direct("o1", 900)), 1).await.unwrap();
    let declined = json!({"Error": "PaymentDeclined", "Cause": "{\"errorType\":\"PaymentDeclined\",\"errorMessage\":\"card declined\"}"});
    let done =
        f.m.handle(finish("o1", "payment-declined", declined), 2)
            .await
            .unwrap();
    assert_eq!(done["reason"], "Payment declined: card declined");
    assert_eq!(done["status"], "FAILURE");

    f.m.handle(admit(direct("o2", 900)), 1).await.unwrap();
    let pay = OrderCommand::RecordPayment {
        payment: Payment {
            charge_id: "ch_1".into(),
            amount: 900,
            refunded: false,
        },
    };
    apply_command(&f.t.orders, "o2", &pay, 2).await.unwrap();
    let done =
        f.m.handle(
            finish(
                "o2",
                "restaurant-rejected",
                json!("could not understand order"),
            ),
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        done["reason"],
        "Rejected by the restaurant: could not understand order (refund pending)"
    );
}

#[tokio::test]
async fn an_order_whose_save_failed_is_still_recorded_as_finished() {
    let f = fixture().await;
    let done =
        f.m.handle(
            finish(
                "ghost",
                "failed",
                json!({"Error": "Lambda.Unknown", "Cause": "boom"}),
            ),
            9,
        )
        .await
        .unwrap();
    assert_eq!(
        (done["state"].as_str(), done["reason"].as_str()),
        (Some("FAILED"), Some("Order processing failed: boom"))
    );
    let o = f.t.orders.get("ghost").await.unwrap().unwrap();
    assert_eq!((o.state, o.user_id.as_str()), (OrderState::Failed, "u1"));
}

#[tokio::test]
async fn bad_input_is_a_named_error_not_a_panic() {
    let f = fixture().await;
    for bad in [
        json!({}),
        json!({"action": "explode"}),
        json!({"action": "finish", "orderId": "o", "outcome": "maybe"}),
        json!("x"),
    ] {
        let err = f.m.handle(bad.clone(), 1).await.unwrap_err();
        assert_eq!(err.error, "InvalidInput", "{bad}");
    }
    let err =
        f.m.handle(
            json!({"action": "finish", "orderId": "nope", "outcome": "completed"}),
            1,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.error, "InvalidInput",
        "unknown order and no user to record it for"
    );
}

fn pay() -> OrderCommand {
    OrderCommand::RecordPayment {
        payment: Payment {
            charge_id: "ch_1".into(),
            amount: 900,
            refunded: false,
        },
    }
}

#[tokio::test]
async fn finish_says_a_refund_is_due_from_the_row_not_from_the_path() {
    let f = fixture().await;
    // Paid, then cancelled by the customer after send-to-restaurant looked: the workflow
    // arrives on the "completed" path.
    f.m.handle(admit(direct("o1", 900)), 1).await.unwrap();
    apply_command(&f.t.orders, "o1", &pay(), 2).await.unwrap();
    let cancel = OrderCommand::Finish {
        to: OrderState::Cancelled,
        reason: Some("Cancelled by customer".into()),
    };
    apply_command(&f.t.orders, "o1", &cancel, 3).await.unwrap();
    let done =
        f.m.handle(finish("o1", "completed", Value::Null), 4)
            .await
            .unwrap();
    assert_eq!(
        (done["state"].as_str(), done["refundDue"].as_bool()),
        (Some("CANCELLED"), Some(true))
    );
    // Paid and completed by the barista, then a late barista-timeout branch: no refund.
    f.m.handle(admit(direct("o2", 900)), 1).await.unwrap();
    apply_command(&f.t.orders, "o2", &pay(), 2).await.unwrap();
    let complete = OrderCommand::Finish {
        to: OrderState::Completed,
        reason: None,
    };
    apply_command(&f.t.orders, "o2", &complete, 3)
        .await
        .unwrap();
    let done =
        f.m.handle(finish("o2", "barista-timeout", Value::Null), 4)
            .await
            .unwrap();
    assert_eq!(
        (done["state"].as_str(), done["refundDue"].as_bool()),
        (Some("COMPLETED"), Some(false))
    );
    // Paid and failed by the workflow itself; then refunded: a retried Finish no longer asks.
    f.m.handle(admit(direct("o3", 900)), 1).await.unwrap();
    apply_command(&f.t.orders, "o3", &pay(), 2).await.unwrap();
    let done =
        f.m.handle(finish("o3", "failed", json!("boom")), 3)
            .await
            .unwrap();
    assert_eq!(done["refundDue"], true);
    apply_command(&f.t.orders, "o3", &OrderCommand::RecordRefund, 4)
        .await
        .unwrap();
    let again =
        f.m.handle(finish("o3", "failed", json!("boom")), 5)
            .await
            .unwrap();
    assert_eq!(
        (again["refundDue"].as_bool(), again["changed"].as_bool()),
        (Some(false), Some(false))
    );
    // Unpaid orders never owe a refund.
    f.m.handle(admit(qr("o4")), 1).await.unwrap();
    let done =
        f.m.handle(finish("o4", "cancelled", Value::Null), 2)
            .await
            .unwrap();
    assert_eq!(done["refundDue"], false);
}
