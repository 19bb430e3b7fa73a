//! Every order-manager route against a real DynamoDB engine (embedded dynoxide), with the
//! event bus and the workflow callbacks recorded in memory.

use adapters::memory::{Callback, RecordingBus, RecordingCallbacks};
use adapters::{ApiOrderTable, ConfigTable, OrderTable};
use apigw::testing::{claims, request};
use aws_lambda_events::encodings::Body;
use domain::AppError;
use domain::order::{Order, OrderCommand, OrderState};
use domain::ports::{CallbackError, OrderReader, OrderWriter, TaskCallbacks, apply_command};
use local::testing::TestTables;
use order_manager::OrderManager;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

type Manager =
    OrderManager<OrderTable, ConfigTable, RecordingBus, RecordingCallbacks, ApiOrderTable>;

struct Fixture {
    t: TestTables,
    m: Manager,
}

const CUSTOMER: &str = "cust-1";
const BARISTA: &str = "barista-1";

impl Fixture {
    async fn new() -> Self {
        let t = TestTables::start().await.unwrap();
        let m = OrderManager {
            orders: t.orders.clone(),
            config: t.config.clone(),
            bus: RecordingBus::default(),
            callbacks: RecordingCallbacks::default(),
            api_orders: t.api_orders.clone(),
        };
        Fixture { t, m }
    }

    /// An order as the workflow leaves it while waiting for the customer's drink.
    async fn waiting_for_drink(&self, id: &str, user: &str, ts: i64) -> Order {
        assert!(
            self.t
                .orders
                .create(&Order::new(id, user, ts))
                .await
                .unwrap()
        );
        let cmd = OrderCommand::AwaitCustomer {
            task_token: format!("{id}-customer-token"),
        };
        apply_command(&self.t.orders, id, &cmd, ts).await.unwrap()
    }

    /// An order with a drink, a number, and the barista's callback token.
    async fn at_barista(&self, id: &str, user: &str, ts: i64) -> Order {
        self.waiting_for_drink(id, user, ts).await;
        let r = self
            .call(
                put_drink(id, user, r#"{"drink": "Latte", "modifiers": ["Oat"]}"#),
                ts,
            )
            .await;
        assert_eq!(r.0, 200, "{}", r.1);
        let cmd = OrderCommand::AwaitBarista {
            task_token: format!("{id}-barista-token"),
            order_number: 42,
        };
        apply_command(&self.t.orders, id, &cmd, ts).await.unwrap()
    }

    async fn call(&self, req: apigw::Request, now: i64) -> (i64, Value) {
        let r = self.m.handle(&req, now).await;
        let body = match &r.body {
            Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        };
        (r.status_code, body)
    }

    async fn state(&self, id: &str) -> Order {
        self.t.orders.get(id).await.unwrap().unwrap()
    }
}

fn customer(sub: &str) -> Option<Value> {
    Some(claims(sub, &[]))
}
fn admin() -> Option<Value> {
    Some(claims(BARISTA, &["admin"]))
}
fn list(query: &[(&str, &str)], who: Option<Value>) -> apigw::Request {
    request("GET", "/orders", "/orders", &[], query, who, None)
}
fn get_one(id: &str, who: Option<Value>) -> apigw::Request {
    request(
        "GET",
        "/orders/{id}",
        &format!("/orders/{id}"),
        &[("id", id)],
        &[],
        who,
        None,
    )
}
fn mine(sub: &str) -> apigw::Request {
    request(
        "GET",
        "/myOrders",
        "/myOrders",
        &[],
        &[],
        customer(sub),
        None,
    )
}
fn put_drink(id: &str, sub: &str, body: &str) -> apigw::Request {
    request(
        "PUT",
        "/orders/{id}",
        &format!("/orders/{id}"),
        &[("id", id)],
        &[],
        customer(sub),
        Some(body),
    )
}
fn action(kind: &str, id: &str, query: &[(&str, &str)], who: Option<Value>) -> apigw::Request {
    let resource = format!("/orders/{kind}/{{id}}");
    request(
        "PUT",
        &resource,
        &format!("/orders/{kind}/{id}"),
        &[("id", id)],
        query,
        who,
        None,
    )
}
/// Gen B's form of an action: `PUT /orders/{id}?action=...`, no body (as its barista app sends).
fn gen_b(id: &str, act: &str, who: Option<Value>) -> apigw::Request {
    request(
        "PUT",
        "/orders/{id}",
        &format!("/orders/{id}"),
        &[("id", id)],
        &[("action", act)],
        who,
        None,
    )
}
fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn listing_by_state_is_admin_only_validated_and_ordered() {
    let f = Fixture::new().await;
    // Ids that sort differently from their times: the order must come from the times.
    for (i, id) in ["c", "a", "b"].iter().enumerate() {
        f.waiting_for_drink(id, CUSTOMER, 1_000 + i as i64).await;
    }
    for (i, id) in ["e", "d"].iter().enumerate() {
        f.at_barista(id, CUSTOMER, 2_000 + i as i64).await;
        assert_eq!(
            f.call(action("complete", id, &[], admin()), 3_000 + i as i64)
                .await
                .0,
            200
        );
    }

    let (status, body) = f.call(list(&[("state", "CREATED")], admin()), 0).await;
    assert_eq!(status, 200);
    let ids: Vec<_> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["SK"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c", "a", "b"], "the queue is oldest first");
    assert!(
        body["result"][0].get("TaskToken").is_none(),
        "task tokens never leave the backend"
    );

    let (_, body) = f
        .call(
            list(&[("state", "COMPLETED"), ("maxItems", "1")], admin()),
            0,
        )
        .await;
    let done = body["result"].as_array().unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["SK"], "d", "finished orders are newest first");
    assert_eq!(done[0]["orderNumber"], 42);
    assert_eq!(done[0]["drinkOrder"]["drink"], "Latte");

    assert_eq!(
        f.call(list(&[("state", "CREATED")], customer(CUSTOMER)), 0)
            .await
            .0,
        403
    );
    assert_eq!(f.call(list(&[("state", "CREATED")], None), 0).await.0, 401);
    let (s, b) = f.call(list(&[], admin()), 0).await;
    assert_eq!(
        (s, message(&b)),
        (400, "Query parameter 'state' is required")
    );
    let (s, b) = f.call(list(&[("state", "created")], admin()), 0).await;
    assert_eq!(s, 400);
    assert!(message(&b).contains("Unknown state"));
    for bad in ["0", "101", "ten", "-1"] {
        let (s, b) = f
            .call(list(&[("state", "CREATED"), ("maxItems", bad)], admin()), 0)
            .await;
        assert_eq!(s, 400, "maxItems={bad}");
        assert!(message(&b).contains("maxItems"));
    }
}

#[tokio::test]
async fn a_receipt_is_for_its_owner_and_admins() {
    let f = Fixture::new().await;
    f.at_barista("o1", CUSTOMER, 5).await;
    let (s, b) = f.call(get_one("o1", customer(CUSTOMER)), 0).await;
    assert_eq!(s, 200);
    assert_eq!(b["result"]["orderId"], "o1");
    assert_eq!(b["result"]["orderState"], "CREATED");
    assert_eq!(b["result"]["drinkOrder"]["modifiers"], json!(["Oat"]));
    assert_eq!(b["result"]["TS"], 5);
    assert_eq!(f.call(get_one("o1", admin()), 0).await.0, 200);
    let (s, b) = f.call(get_one("o1", customer("cust-2")), 0).await;
    assert_eq!(
        (s, message(&b)),
        (403, "This order belongs to another customer")
    );
    let (s, b) = f.call(get_one("nope", customer(CUSTOMER)), 0).await;
    assert_eq!((s, message(&b)), (404, "Order nope not found"));
}

#[tokio::test]
async fn my_orders_are_mine_only_newest_first() {
    let f = Fixture::new().await;
    f.waiting_for_drink("old", "user1", 100).await;
    f.waiting_for_drink("new", "user1", 200).await;
    f.waiting_for_drink("other", "user10", 300).await;
    let (s, b) = f.call(mine("user1"), 0).await;
    assert_eq!(s, 200);
    let ids: Vec<_> = b["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["SK"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["new", "old"], "user1 is not a prefix of user10");
    assert_eq!(b["result"][0]["ORDERSTATE"], "CREATED");
    assert!(b["result"][0].get("TaskToken").is_none());
    let (_, b) = f.call(mine("nobody"), 0).await;
    assert_eq!(b["result"], json!([]));
}

#[tokio::test]
async fn choosing_a_drink_validates_it_stores_it_and_resumes_the_workflow() {
    let f = Fixture::new().await;
    f.waiting_for_drink("o1", CUSTOMER, 1).await;
    let body = r#"{"userId": "someone-else", "drink": "Latte", "modifiers": ["Oat", "Vanilla"], "icon": "x"}"#;
    let (s, b) = f.call(put_drink("o1", CUSTOMER, body), 10).await;
    assert_eq!(s, 200, "{b}");
    let attrs = &b["result"]["Attributes"];
    assert_eq!(
        attrs["drinkOrder"]["icon"], "barista-icons_cafe-latte",
        "icon from the menu"
    );
    assert_eq!(
        attrs["USERID"], CUSTOMER,
        "owner unchanged whatever the body says"
    );
    assert!(attrs.get("TaskToken").is_none());
    assert_eq!(
        f.state("o1").await.drink_order.unwrap().modifiers,
        ["Oat", "Vanilla"]
    );
    match f.m.callbacks.calls().as_slice() {
        [Callback::Success { token, output }] => {
            assert_eq!(token, "o1-customer-token");
            assert_eq!(output["orderId"], "o1");
            assert_eq!(output["drinkOrder"]["drink"], "Latte");
        }
        other => panic!("expected one success callback, got {other:?}"),
    }
    let (s, b) = f
        .call(put_drink("o1", CUSTOMER, r#"{"drink": "Espresso"}"#), 11)
        .await;
    assert_eq!(
        (s, message(&b)),
        (409, "A drink has already been chosen for this order")
    );
}

#[tokio::test]
async fn bad_drink_requests_get_clear_4xx_answers() {
    let f = Fixture::new().await;
    f.waiting_for_drink("o1", CUSTOMER, 1).await;
    let huge = format!(r#"{{"drink": "{}"}}"#, "x".repeat(40_000));
    let cases: Vec<(&str, &str, i64, &str)> = vec![
        ("o1", r#"{"drink": "Frappuccino"}"#, 400, "not on the menu"),
        (
            "o1",
            r#"{"drink": "Coffee of the day"}"#,
            400,
            "not available",
        ),
        (
            "o1",
            r#"{"drink": "Espresso", "modifiers": ["Oat"]}"#,
            400,
            "not an option",
        ),
        (
            "o1",
            r#"{"drink": "Latte", "modifiers": "Oat"}"#,
            400,
            "Invalid request body",
        ),
        ("o1", r#"{"drink": 7}"#, 400, "Invalid request body"),
        ("o1", r#"{"modifiers": []}"#, 400, "missing field `drink`"),
        ("o1", "{not json", 400, "Invalid request body"),
        ("o1", "", 400, "body is required"),
        ("o1", &huge, 413, "larger than"),
        ("missing", r#"{"drink": "Latte"}"#, 404, "not found"),
    ];
    for (id, body, status, why) in cases {
        let (s, b) = f.call(put_drink(id, CUSTOMER, body), 2).await;
        assert_eq!(s, status, "{body:.60}");
        assert!(message(&b).contains(why), "{body:.60}: {b}");
    }
    let (s, b) = f
        .call(put_drink("o1", "cust-2", r#"{"drink": "Latte"}"#), 2)
        .await;
    assert_eq!(
        (s, message(&b)),
        (403, "This order belongs to another customer")
    );
    assert!(
        f.state("o1").await.drink_order.is_none(),
        "nothing refused was stored"
    );
    assert!(f.m.callbacks.calls().is_empty());
}

#[tokio::test]
async fn a_drink_before_the_workflow_waits_or_after_it_gave_up_is_a_conflict() {
    let f = Fixture::new().await;
    f.t.orders
        .create(&Order::new("early", CUSTOMER, 1))
        .await
        .unwrap();
    let (s, b) = f
        .call(put_drink("early", CUSTOMER, r#"{"drink": "Latte"}"#), 2)
        .await;
    assert_eq!((s, message(&b)), (409, "Workflow not ready yet."));

    f.waiting_for_drink("late", CUSTOMER, 1).await;
    f.m.callbacks.expire("late-customer-token");
    let (s, b) = f
        .call(put_drink("late", CUSTOMER, r#"{"drink": "Latte"}"#), 2)
        .await;
    assert_eq!(s, 409);
    assert!(message(&b).contains("timed out"), "{b}");
}

#[tokio::test]
async fn completing_needs_an_admin_and_an_order_at_the_barista_and_happens_once() {
    let f = Fixture::new().await;
    f.waiting_for_drink("early", CUSTOMER, 1).await;
    let (s, b) = f.call(action("complete", "early", &[], admin()), 2).await;
    assert_eq!(
        (s, message(&b)),
        (409, "The order has not reached the barista yet")
    );

    f.at_barista("o1", CUSTOMER, 1).await;
    assert_eq!(
        f.call(action("complete", "o1", &[], customer(CUSTOMER)), 2)
            .await
            .0,
        403
    );
    let (s, b) = f.call(action("complete", "o1", &[], admin()), 3).await;
    assert_eq!((s, b), (200, json!({})));
    let o = f.state("o1").await;
    assert_eq!((o.state, o.ts), (OrderState::Completed, 3));

    let resumed: Vec<_> =
        f.m.callbacks
            .calls()
            .into_iter()
            .filter(|c| matches!(c, Callback::Success { token, .. } if token == "o1-barista-token"))
            .collect();
    assert_eq!(
        resumed,
        [Callback::Success {
            token: "o1-barista-token".into(),
            output: json!({"cancelled": false})
        }]
    );

    let events = f.m.bus.of_type("OrderManager.OrderCompleted");
    assert_eq!(events.len(), 1);
    let d = &events[0].detail;
    assert_eq!(
        (
            d["orderId"].as_str(),
            d["userId"].as_str(),
            d["actionUserId"].as_str()
        ),
        (Some("o1"), Some(CUSTOMER), Some(BARISTA))
    );
    assert_eq!(
        d["order"],
        json!({"orderNumber": 42, "userId": CUSTOMER, "drinkOrder": {"drink": "Latte", "icon": "barista-icons_cafe-latte", "modifiers": ["Oat"]}, "orderState": "COMPLETED"})
    );

    let (s, b) = f.call(action("complete", "o1", &[], admin()), 4).await;
    assert_eq!(
        (s, message(&b)),
        (
            409,
            "The order is already COMPLETED and can no longer be changed"
        )
    );
    let (s, _) = f.call(action("cancel", "o1", &[], admin()), 4).await;
    assert_eq!(s, 409, "a completed order cannot be cancelled");
    assert_eq!(f.m.bus.events().len(), 1, "refused actions emit nothing");
}

#[tokio::test]
async fn customers_cancel_only_their_own_orders() {
    let f = Fixture::new().await;
    f.waiting_for_drink("o1", CUSTOMER, 1).await;
    let (s, b) = f
        .call(action("cancel", "o1", &[], customer("cust-2")), 2)
        .await;
    assert_eq!(s, 403);
    assert!(message(&b).contains("Only the customer who placed the order"));
    assert_eq!(f.state("o1").await.state, OrderState::Created);

    let (s, _) = f
        .call(action("cancel", "o1", &[], customer(CUSTOMER)), 3)
        .await;
    assert_eq!(s, 200);
    let o = f.state("o1").await;
    assert_eq!(
        (o.state, o.reason.as_deref()),
        (OrderState::Cancelled, Some("Cancelled by customer"))
    );
    assert_eq!(
        f.m.callbacks.calls(),
        [Callback::Success {
            token: "o1-customer-token".into(),
            output: json!({"cancelled": true})
        }],
        "cancelling before the drink ends the customer wait"
    );
    let ev = f.m.bus.of_type("OrderManager.OrderCancelled");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].detail["order"]["orderState"], "CANCELLED");
    assert_eq!(
        f.call(action("cancel", "o1", &[], customer(CUSTOMER)), 4)
            .await
            .0,
        409
    );

    f.at_barista("o2", CUSTOMER, 1).await;
    assert_eq!(
        f.call(action("cancel", "o2", &[], admin()), 5).await.0,
        200,
        "baristas cancel any order"
    );
    assert_eq!(
        f.state("o2").await.reason.as_deref(),
        Some("Cancelled by barista")
    );
    assert_eq!(
        f.call(action("cancel", "nope", &[], admin()), 5).await.0,
        404
    );
}

#[tokio::test]
async fn claiming_sets_and_clears_the_barista() {
    let f = Fixture::new().await;
    f.at_barista("o1", CUSTOMER, 1).await;
    for (q, why) in [(vec![], "nothing"), (vec![("action", "brew")], "'brew'")] {
        let (s, b) = f.call(action("claim", "o1", &q, admin()), 2).await;
        assert_eq!(s, 400);
        assert!(message(&b).contains(why), "{b}");
    }
    assert_eq!(
        f.call(
            action("claim", "o1", &[("action", "make")], customer(CUSTOMER)),
            2
        )
        .await
        .0,
        403
    );

    assert_eq!(
        f.call(action("claim", "o1", &[("action", "make")], admin()), 3)
            .await
            .0,
        200
    );
    assert_eq!(
        f.state("o1").await.barista_user_id.as_deref(),
        Some(BARISTA)
    );
    assert_eq!(
        f.call(action("claim", "o1", &[("action", "unmake")], admin()), 4)
            .await
            .0,
        200
    );
    let o = f.state("o1").await;
    assert_eq!((o.barista_user_id, o.state), (None, OrderState::Created));

    let ev = f.m.bus.of_type("OrderManager.MakeOrder");
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].detail["baristaUserId"], BARISTA);
    assert_eq!(ev[1].detail["baristaUserId"], Value::Null);
    assert_eq!(ev[0].detail["userId"], CUSTOMER);
    assert!(
        ev[0].detail["order"].get("TaskToken").is_none(),
        "the barista token is not broadcast"
    );
    assert!(
        f.m.callbacks
            .calls()
            .iter()
            .all(|c| !matches!(c, Callback::Success { token, .. } if token == "o1-barista-token")),
        "claiming does not resume the workflow"
    );
}

#[tokio::test]
async fn every_route_needs_a_verified_identity() {
    let f = Fixture::new().await;
    let reqs = [
        get_one("o1", None),
        request("GET", "/myOrders", "/myOrders", &[], &[], None, None),
        request(
            "PUT",
            "/orders/{id}",
            "/orders/o1",
            &[("id", "o1")],
            &[],
            None,
            Some(r#"{"drink":"Latte"}"#),
        ),
        action("complete", "o1", &[], None),
        action("cancel", "o1", &[], None),
        action("claim", "o1", &[("action", "make")], None),
    ];
    for req in reqs {
        let (s, b) = f.call(req, 0).await;
        assert_eq!(s, 401);
        assert!(message(&b).starts_with("Unauthorized"));
    }
    let (s, b) = f
        .call(
            request(
                "DELETE",
                "/orders/{id}",
                "/orders/o1",
                &[("id", "o1")],
                &[],
                admin(),
                None,
            ),
            0,
        )
        .await;
    assert_eq!((s, message(&b)), (404, "No route for DELETE /orders/{id}"));
}

/// Twenty baristas press "complete" on one order at once: it completes exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_completes_complete_once() {
    let f = Arc::new(Fixture::new().await);
    f.at_barista("o1", CUSTOMER, 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let f = f.clone();
            tokio::spawn(async move {
                f.call(action("complete", "o1", &[], admin()), 10 + i)
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(f.m.bus.of_type("OrderManager.OrderCompleted").len(), 1);
}

#[tokio::test]
async fn sample_events_are_answered() {
    let f = Fixture::new().await;
    let expected = [
        ("orders-list.json", 200),
        ("orders-mine.json", 200),
        ("orders-get.json", 404),
        ("orders-choose-drink.json", 404),
        ("orders-complete.json", 404),
        ("orders-cancel.json", 404),
        ("orders-claim.json", 404),
        ("orders-action-make.json", 404),
        ("orders-action-complete.json", 404),
    ];
    for (file, status) in expected {
        let raw =
            std::fs::read_to_string(local::workspace_root().join("events").join(file)).unwrap();
        let req: apigw::Request = serde_json::from_str(&raw).unwrap();
        let (s, b) = f.call(req, 0).await;
        assert_eq!(s, status, "{file}: {b}");
    }
}

#[tokio::test]
async fn workflow_started_events_store_the_customer_token() {
    let f = Fixture::new().await;
    let raw = std::fs::read_to_string(
        local::workspace_root().join("events/order-manager-workflow-started.json"),
    )
    .unwrap();
    let order_manager::Invocation::Bus {
        detail_type,
        detail,
    } = order_manager::Invocation::classify(serde_json::from_str(&raw).unwrap()).unwrap()
    else {
        panic!("not classified as a bus event")
    };
    assert_eq!(detail_type, "OrderProcessor.WorkflowStarted");
    let id = detail["orderId"].as_str().unwrap();
    let user = detail["userId"].as_str().unwrap();
    f.t.orders.create(&Order::new(id, user, 1)).await.unwrap();
    // An event that names another user stores nothing on this order.
    let mut stray = detail.clone();
    stray["userId"] = json!("someone-else");
    f.m.on_workflow_started(&stray, 2).await.unwrap();
    assert!(f.state(id).await.task_token.is_none());
    f.m.on_workflow_started(&detail, 2).await.unwrap();
    assert_eq!(
        f.state(id).await.task_token.as_deref(),
        detail["TaskToken"].as_str()
    );
    // Now the customer can choose.
    assert_eq!(
        f.call(put_drink(id, user, r#"{"drink": "Latte"}"#), 3)
            .await
            .0,
        200
    );
    // A late redelivery does not disturb an order that moved on; a malformed one is an error.
    f.m.on_workflow_started(&detail, 4).await.unwrap();
    assert!(f.state(id).await.drink_order.is_some());
    assert_eq!(
        f.m.on_workflow_started(&json!({"orderId": id}), 5)
            .await
            .unwrap_err()
            .status(),
        400
    );
    f.m.on_workflow_started(
        &json!({"orderId": "unknown", "TaskToken": "t", "userId": "u"}),
        5,
    )
    .await
    .unwrap();
}

/// Workflow callbacks that fail as an outage (not as a gone task) `failures_left` times, then
/// succeed; they count every attempt.
#[derive(Default)]
struct FlakyCallbacks {
    failures_left: AtomicUsize,
    attempts: AtomicUsize,
    delivered: Mutex<Vec<Value>>,
}

impl TaskCallbacks for FlakyCallbacks {
    async fn send_success(&self, _: &str, output: Value) -> Result<(), CallbackError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(CallbackError::Other(AppError::internal(
                "Step Functions: ServiceUnavailable",
            )));
        }
        self.delivered.lock().unwrap().push(output);
        Ok(())
    }
    async fn send_failure(&self, _: &str, _: &str, _: &str) -> Result<(), CallbackError> {
        Ok(())
    }
}

/// A manager whose workflow callbacks fail `failures` times, and one order waiting for its drink.
async fn flaky_manager(
    failures: usize,
) -> (
    TestTables,
    OrderManager<OrderTable, ConfigTable, RecordingBus, FlakyCallbacks, ApiOrderTable>,
) {
    let t = TestTables::start().await.unwrap();
    assert!(
        t.orders
            .create(&Order::new("o1", CUSTOMER, 1))
            .await
            .unwrap()
    );
    let wait = OrderCommand::AwaitCustomer {
        task_token: "o1-customer-token".into(),
    };
    apply_command(&t.orders, "o1", &wait, 1).await.unwrap();
    let m = OrderManager {
        orders: t.orders.clone(),
        config: t.config.clone(),
        bus: RecordingBus::default(),
        callbacks: FlakyCallbacks {
            failures_left: AtomicUsize::new(failures),
            ..FlakyCallbacks::default()
        },
        api_orders: t.api_orders.clone(),
    };
    (t, m)
}

fn status_and_body(r: apigw::Response) -> (i64, Value) {
    let Some(Body::Text(t)) = &r.body else {
        panic!("unexpected body {:?}", r.body)
    };
    (r.status_code, serde_json::from_str(t).unwrap())
}

#[tokio::test]
async fn a_drink_choice_the_workflow_cannot_receive_is_a_503_and_is_not_kept() {
    let (t, m) = flaky_manager(usize::MAX).await;
    let latte = put_drink("o1", CUSTOMER, r#"{"drink": "Latte"}"#);
    let (s, b) = status_and_body(m.handle(&latte, 2).await);
    assert_eq!(s, 503, "{b}");
    assert!(message(&b).contains("try again"), "{b}");
    assert_eq!(
        m.callbacks.attempts.load(Ordering::SeqCst),
        3,
        "retried before giving up"
    );
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert_eq!(o.drink_order, None, "the refused choice was withdrawn");
    assert_eq!(o.state, OrderState::Created);
    assert_eq!(o.task_token.as_deref(), Some("o1-customer-token"));

    // Once the workflow can be reached, the customer's retry goes through.
    m.callbacks.failures_left.store(0, Ordering::SeqCst);
    let (s, b) = status_and_body(m.handle(&latte, 3).await);
    assert_eq!(s, 200, "{b}");
    let delivered = m.callbacks.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["drinkOrder"]["drink"], "Latte");
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert_eq!(o.drink_order.map(|d| d.drink).as_deref(), Some("Latte"));
}

#[tokio::test]
async fn a_passing_callback_failure_is_retried_and_the_choice_kept() {
    let (t, m) = flaky_manager(2).await;
    let latte = put_drink("o1", CUSTOMER, r#"{"drink": "Latte"}"#);
    let (s, b) = status_and_body(m.handle(&latte, 2).await);
    assert_eq!(s, 200, "{b}");
    assert_eq!(m.callbacks.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(m.callbacks.delivered.lock().unwrap().len(), 1);
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert_eq!(o.drink_order.map(|d| d.drink).as_deref(), Some("Latte"));
}

/// Ids no order can have (over DynamoDB's key limit, characters an execution name cannot
/// hold, empty) are refused with a 400 on every route that takes one, before any read.
#[tokio::test]
async fn ids_that_cannot_exist_are_a_400_on_every_route() {
    let f = Fixture::new().await;
    let long = "o".repeat(1_100);
    for bad in [long.as_str(), "o 1", "o1/../o2", "o1#x", "o\u{1}1", ""] {
        let reqs = [
            get_one(bad, customer(CUSTOMER)),
            put_drink(bad, CUSTOMER, r#"{"drink": "Latte"}"#),
            action("complete", bad, &[], admin()),
            action("cancel", bad, &[], customer(CUSTOMER)),
            action("claim", bad, &[("action", "make")], admin()),
        ];
        for req in reqs {
            let path = req.path.clone().unwrap_or_default();
            let (s, b) = f.call(req, 1).await;
            assert_eq!(s, 400, "{:.60}: {b}", path);
            assert!(!message(&b).is_empty());
            assert!(!message(&b).contains(&long), "the id is not echoed");
        }
    }
    let started = json!({"orderId": long, "TaskToken": "t"});
    assert_eq!(
        f.m.on_workflow_started(&started, 1)
            .await
            .unwrap_err()
            .status(),
        400
    );
    assert!(f.m.callbacks.calls().is_empty());
    assert!(f.m.bus.events().is_empty());
}

/// Gen B's `?action=` route does what the Gen A route it names does, with the same guards and
/// answers: each case runs on a fresh order through both routes and compares.
#[tokio::test]
async fn gen_b_actions_answer_as_the_gen_a_routes_they_name() {
    let f = Fixture::new().await;
    let gen_a = |act: &str, id: &str, who: Option<Value>| match act {
        "make" | "unmake" => action("claim", id, &[("action", act)], who),
        other => action(other, id, &[], who),
    };
    let mut n = 0;
    for (act, who, at_barista) in [
        ("make", admin(), true),
        ("make", customer(CUSTOMER), true),
        ("unmake", admin(), true),
        ("complete", admin(), true),
        ("complete", customer(CUSTOMER), true),
        ("complete", admin(), false),
        ("cancel", customer(CUSTOMER), false),
        ("cancel", customer("cust-2"), false),
        ("cancel", admin(), true),
    ] {
        let mut answers = Vec::new();
        for route in ["a", "b"] {
            n += 1;
            let id = format!("{act}-{route}-{n}");
            if at_barista {
                f.at_barista(&id, CUSTOMER, 1).await;
            } else {
                f.waiting_for_drink(&id, CUSTOMER, 1).await;
            }
            let req = if route == "a" {
                gen_a(act, &id, who.clone())
            } else {
                gen_b(&id, act, who.clone())
            };
            let answer = f.call(req, 2).await;
            let o = f.state(&id).await;
            answers.push((answer, o.state, o.barista_user_id, o.reason));
        }
        assert_eq!(answers[0], answers[1], "{act} by {who:?}");
    }
    // The events too: one per accepted action, the same kinds from either route.
    let kinds = |t| f.m.bus.of_type(t).len();
    assert_eq!(kinds("OrderManager.MakeOrder"), 4);
    assert_eq!(kinds("OrderManager.OrderCompleted"), 2);
    assert_eq!(kinds("OrderManager.OrderCancelled"), 4);
}

#[tokio::test]
async fn gen_b_actions_resume_the_workflow_and_happen_once() {
    let f = Fixture::new().await;
    f.at_barista("o1", CUSTOMER, 1).await;
    assert_eq!(f.call(gen_b("o1", "make", admin()), 2).await.0, 200);
    assert_eq!(
        f.state("o1").await.barista_user_id.as_deref(),
        Some(BARISTA)
    );
    let (s, b) = f.call(gen_b("o1", "complete", admin()), 3).await;
    assert_eq!((s, b), (200, json!({})));
    assert!(f.m.callbacks.calls().contains(&Callback::Success {
        token: "o1-barista-token".into(),
        output: json!({"cancelled": false})
    }));
    let (s, b) = f.call(gen_b("o1", "cancel", admin()), 4).await;
    assert_eq!(
        (s, message(&b)),
        (
            409,
            "The order is already COMPLETED and can no longer be changed"
        )
    );
}

#[tokio::test]
async fn put_order_without_a_valid_action_or_a_drink_is_a_400() {
    let f = Fixture::new().await;
    f.waiting_for_drink("o1", CUSTOMER, 1).await;
    for act in ["brew", "MAKE", "claim"] {
        let (s, b) = f.call(gen_b("o1", act, admin()), 2).await;
        assert_eq!(s, 400, "{act}: {b}");
        assert!(
            message(&b).contains("'make', 'unmake', 'complete' or 'cancel'"),
            "{act}: {b}"
        );
    }
    // No action (`?action=` empty counts as none) and nothing to choose: what the OpenAPI model
    // lets through as "no body".
    let mut empty_action = gen_b("o1", "", admin());
    empty_action.body = Some("{}".into());
    for req in [gen_b("o1", "", admin()), empty_action] {
        let (s, b) = f.call(req, 2).await;
        assert_eq!(
            (s, message(&b).contains("?action=make")),
            (400, true),
            "{b}"
        );
    }
    for body in ["", "  ", "{}"] {
        let (s, b) = f.call(put_drink("o1", CUSTOMER, body), 2).await;
        assert_eq!(s, 400, "{body:?}: {b}");
        assert!(message(&b).contains("?action=make"), "{body:?}: {b}");
    }
    let mut no_body = put_drink("o1", CUSTOMER, "");
    no_body.body = None;
    let (s, b) = f.call(no_body, 2).await;
    assert_eq!((s, message(&b).contains("drink choice body")), (400, true));
    // An action on the claim route is still only make or unmake.
    let (s, b) = f
        .call(action("claim", "o1", &[("action", "complete")], admin()), 2)
        .await;
    assert_eq!(s, 400);
    assert!(
        message(&b).contains("'make' or 'unmake', got 'complete'"),
        "{b}"
    );
    let o = f.state("o1").await;
    assert_eq!((o.state, o.drink_order), (OrderState::Created, None));
    assert!(f.m.bus.events().is_empty() && f.m.callbacks.calls().is_empty());
}
