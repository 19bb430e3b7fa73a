//! manage-state against a real DynamoDB engine (embedded dynoxide), events recorded in memory.

use adapters::memory::RecordingBus;
use adapters::{ConfigTable, OrderTable, SlotTable};
use aws_sdk_dynamodb::types::AttributeValue;
use domain::lifecycle::{Channel, Payment};
use domain::order::{OrderCommand, OrderState};
use domain::ports::{OrderReader, ShopSwitch, apply_command};
use local::testing::TestTables;
use manage_state::ManageState;
use serde_json::{Value, json};

struct Fixture {
    t: TestTables,
    m: Manager,
}

type Manager = ManageState<OrderTable, ConfigTable, RecordingBus, SlotTable>;

fn manager(t: &TestTables) -> Manager {
    ManageState {
        orders: t.orders.clone(),
        config: t.config.clone(),
        bus: RecordingBus::default(),
        slots: t.slots.clone(),
        grace_seconds: 30,
    }
}

async fn fixture() -> Fixture {
    let t = TestTables::start().await.unwrap();
    let m = manager(&t);
    Fixture { t, m }
}

/// Runs every payload through its own handler instance, all at once (on the test's worker
/// threads); the answers in the order given.
async fn at_once(f: &Fixture, payloads: Vec<Value>) -> Vec<Value> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, payload) in payloads.into_iter().enumerate() {
        let m = manager(&f.t);
        tasks.spawn(async move { (i, m.handle(payload, 1).await.unwrap()) });
    }
    let mut out = tasks.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, v)| v).collect()
}

fn qr(id: &str) -> Value {
    qr_for(id, "u1")
}
fn qr_for(id: &str, user: &str) -> Value {
    json!({"orderId": id, "userId": user, "channel": "qr", "needsDrink": true, "amount": 0, "acceptedAt": 1000})
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

/// Sets the shop's limits in the config row.
async fn limits(f: &Fixture, in_queue: u32, per_user: u32) {
    f.t.dynamo
        .client()
        .update_item()
        .table_name("ConfigTable")
        .key("PK", AttributeValue::S("config".into()))
        .update_expression("SET maxOrdersInQueue = :q, maxOrdersPerUser = :u")
        .expression_attribute_values(":q", AttributeValue::N(in_queue.to_string()))
        .expression_attribute_values(":u", AttributeValue::N(per_user.to_string()))
        .send()
        .await
        .unwrap();
}

/// The open-order counter `key` of the counting table (0 before first use).
async fn open_count(f: &Fixture, key: &str) -> i64 {
    let out =
        f.t.dynamo
            .client()
            .get_item()
            .table_name("CountingTable")
            .key("PK", AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
    out.item
        .and_then(|i| i.get("openOrders").cloned())
        .map_or(0, |v| v.as_n().unwrap().parse().unwrap())
}

/// Admits every request at once; the ids admitted and the refusal reasons.
async fn admit_all(f: &Fixture, requests: Vec<Value>) -> (Vec<String>, Vec<String>) {
    let ids: Vec<String> = requests
        .iter()
        .map(|r| r["orderId"].as_str().unwrap().to_owned())
        .collect();
    let answers = at_once(f, requests.into_iter().map(admit).collect()).await;
    let mut admitted = Vec::new();
    let mut refused = Vec::new();
    for (id, out) in ids.into_iter().zip(answers) {
        if out["admitted"] == true {
            admitted.push(id);
        } else {
            refused.push(out["reason"].as_str().unwrap().to_owned());
        }
    }
    (admitted, refused)
}

#[tokio::test]
async fn a_full_queue_refuses_new_orders() {
    let f = fixture().await;
    limits(&f, 2, 1).await;
    // Two customers, one order each: the per-customer limit is not what is tested here.
    for (id, user) in [("a", "u1"), ("b", "u2")] {
        assert_eq!(
            f.m.handle(admit(qr_for(id, user)), 1).await.unwrap()["admitted"],
            true
        );
    }
    let out = f.m.handle(admit(qr_for("c", "u3")), 1).await.unwrap();
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
        f.m.handle(admit(qr_for("d", "u4")), 3).await.unwrap()["admitted"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admits_never_overshoot_the_shop_limit() {
    let f = fixture().await;
    limits(&f, 3, 1).await;
    let requests = (0..12)
        .map(|i| qr_for(&format!("o{i}"), &format!("u{i}")))
        .collect();
    let (admitted, refused) = admit_all(&f, requests).await;
    assert_eq!(admitted.len(), 3, "admitted {admitted:?}");
    assert!(
        refused
            .iter()
            .all(|r| r == "the shop is at capacity (3 orders waiting)"),
        "{refused:?}"
    );
    assert_eq!(open_count(&f, "open#shop").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admits_of_one_customer_stop_at_the_per_user_limit() {
    let f = fixture().await;
    limits(&f, 10, 2).await;
    let requests = (0..8).map(|i| qr_for(&format!("o{i}"), "u1")).collect();
    let (admitted, refused) = admit_all(&f, requests).await;
    assert_eq!(admitted.len(), 2, "admitted {admitted:?}");
    assert_eq!(refused.len(), 6);
    assert!(
        refused
            .iter()
            .all(|r| r == "too many open orders for this customer (at most 2 orders at a time)"),
        "{refused:?}"
    );
    assert_eq!(open_count(&f, "open#user#u1").await, 2);
    assert_eq!(
        open_count(&f, "open#shop").await,
        2,
        "refusals take nothing"
    );
    // Another customer is not held back by u1's orders.
    assert_eq!(
        f.m.handle(admit(qr_for("x", "u2")), 1).await.unwrap()["admitted"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn direct_and_api_orders_are_limited_by_the_shop_only() {
    let f = fixture().await;
    limits(&f, 3, 1).await;
    let mut api = direct("c", 0);
    api["channel"] = json!("api");
    api["item"] = Value::Null;
    let (admitted, _) = admit_all(&f, vec![direct("a", 0), direct("b", 0), api]).await;
    assert_eq!(admitted.len(), 3, "one user, three orders from systems");
    assert_eq!(open_count(&f, "open#user#u1").await, 0);
    let out = f.m.handle(admit(direct("d", 0)), 1).await.unwrap();
    assert_eq!(out["reason"], "the shop is at capacity (3 orders waiting)");
}

#[tokio::test]
async fn a_retried_admit_takes_no_second_place() {
    let f = fixture().await;
    limits(&f, 1, 1).await;
    for _ in 0..3 {
        let out = f.m.handle(admit(qr("a")), 1).await.unwrap();
        assert_eq!(out["admitted"], true, "{out}");
    }
    assert_eq!(open_count(&f, "open#shop").await, 1);
    assert_eq!(open_count(&f, "open#user#u1").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_finished_order_frees_its_place_exactly_once() {
    let f = fixture().await;
    limits(&f, 2, 2).await;
    for id in ["a", "b"] {
        f.m.handle(admit(qr(id)), 1).await.unwrap();
    }
    // Finish retried, some at once: one place comes back, not five.
    let finishes = (0..5)
        .map(|_| finish("a", "completed", Value::Null))
        .collect();
    for out in at_once(&f, finishes).await {
        assert_eq!(out["state"], "COMPLETED");
    }
    assert_eq!(open_count(&f, "open#shop").await, 1);
    assert_eq!(open_count(&f, "open#user#u1").await, 1);
    // So exactly one more order gets in.
    let (admitted, _) = admit_all(&f, vec![qr("c"), qr("d")]).await;
    assert_eq!(admitted.len(), 1, "{admitted:?}");
    // A retried Admit of the finished order takes nothing back.
    let again = f.m.handle(admit(qr("a")), 3).await.unwrap();
    assert_eq!(again["admitted"], false);
    assert_eq!(open_count(&f, "open#shop").await, 2);
}

#[tokio::test]
async fn a_refused_order_frees_nothing_when_it_finishes() {
    let f = fixture().await;
    limits(&f, 1, 1).await;
    f.m.handle(admit(qr_for("a", "u1")), 1).await.unwrap();
    let out = f.m.handle(admit(qr_for("b", "u2")), 1).await.unwrap();
    assert_eq!(out["admitted"], false);
    f.m.handle(finish("b", "shop-unavailable", out["reason"].clone()), 2)
        .await
        .unwrap();
    assert_eq!(open_count(&f, "open#shop").await, 1, "a still holds it");
    assert_eq!(open_count(&f, "open#user#u2").await, 0);
}

#[tokio::test]
async fn an_order_admitted_then_finished_lets_the_next_one_in() {
    let f = fixture().await;
    limits(&f, 10, 1).await;
    assert_eq!(
        f.m.handle(admit(qr("first")), 1).await.unwrap()["admitted"],
        true
    );
    let out = f.m.handle(admit(qr("second")), 1).await.unwrap();
    assert_eq!(
        out["reason"],
        "too many open orders for this customer (at most 1 order at a time)"
    );
    // The barista completes the first (the order manager's own write), which alone frees
    // nothing: the workflow's Finish, which always follows, does.
    let complete = OrderCommand::Finish {
        to: OrderState::Completed,
        reason: None,
    };
    apply_command(&f.t.orders, "first", &complete, 2)
        .await
        .unwrap();
    assert_eq!(open_count(&f, "open#user#u1").await, 1);
    let done =
        f.m.handle(finish("first", "completed", Value::Null), 3)
            .await
            .unwrap();
    assert_eq!(done["changed"], false, "already completed by the barista");
    assert_eq!(open_count(&f, "open#user#u1").await, 0);
    assert_eq!(
        f.m.handle(admit(qr("third")), 4).await.unwrap()["admitted"],
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
