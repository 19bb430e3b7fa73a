//! Whole order lifecycles on the local stack, over HTTP, as a frontend or curl drives them:
//! the embedded DynamoDB, the workflow engine, the bus and its rules, the queue, all nine
//! functions, and the gateway built from template.yaml. Time runs 100x faster.

use axum::body::Body;
use axum::http::Request;

use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_qr_order_from_scan_to_pickup() {
    let l = start(None).await;
    let id = scan(&l).await;

    // The workflow saves the order and waits for the drink; choose as soon as it is ready.
    let drink = json!({"drink": "Latte", "modifiers": ["Oat"], "userId": "ignored"});
    l.eventually("the workflow to wait for the drink", async || {
        let (s, _) = l
            .call(
                "PUT",
                &format!("/orders/{id}"),
                Some(&l.customer),
                Some(drink.clone()),
            )
            .await;
        (s == 200).then_some(())
    })
    .await;
    let (s, _) = l
        .call(
            "PUT",
            &format!("/orders/{id}"),
            Some(&l.other),
            Some(drink.clone()),
        )
        .await;
    assert_eq!(s, 403, "another customer cannot touch it");

    // After the grace period the barista queue shows it with its number.
    let number = l
        .eventually("the order in the barista queue", async || {
            let (_, q) = l
                .call("GET", "/orders?state=CREATED", Some(&l.barista), None)
                .await;
            q["result"]
                .as_array()?
                .iter()
                .find(|o| o["SK"] == id.as_str())?["orderNumber"]
                .as_u64()
        })
        .await;
    assert_eq!(number, 1, "the day's first order");
    assert_eq!(
        l.call(
            "PUT",
            &format!("/orders/claim/{id}?action=make"),
            Some(&l.barista),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        l.call(
            "PUT",
            &format!("/orders/complete/{id}"),
            Some(&l.barista),
            None
        )
        .await
        .0,
        200
    );

    let exec = l.finished(&id).await;
    assert_eq!(
        exec["status"], "SUCCEEDED",
        "{} {}",
        exec["error"], exec["cause"]
    );
    let order = l.order(&id).await;
    assert_eq!(
        (order["orderState"].as_str(), order["orderNumber"].as_u64()),
        (Some("COMPLETED"), Some(1))
    );
    let (_, mine) = l.call("GET", "/myOrders", Some(&l.customer), None).await;
    assert_eq!(mine["result"][0]["SK"], id.as_str());

    let notes = l.call("GET", "/local/notifications", None, None).await.1;
    let note = notes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["Message"].as_str().unwrap_or_default().contains(&id))
        .cloned();
    assert!(
        note.unwrap()["Message"]
            .as_str()
            .unwrap()
            .contains("SUCCESS")
    );

    // Realtime: the customer's topic saw the order's story, never a task token.
    let rt = l
        .eventually("the final realtime message", async || {
            let rt = l.call("GET", "/local/realtime", None, None).await.1;
            let seen = rt.as_array()?.iter().any(|m| {
                m["topic"] == "serverlesspresso-user-alice"
                    && m["payload"]["type"] == "OrderProcessor.orderFinished"
            });
            seen.then_some(rt)
        })
        .await;
    let user: Vec<&Value> = rt
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["topic"] == "serverlesspresso-user-alice")
        .collect();
    let types: Vec<&str> = user
        .iter()
        .filter_map(|m| m["payload"]["type"].as_str())
        .collect();
    for t in [
        "OrderProcessor.WorkflowStarted",
        "OrderProcessor.WaitingCompletion",
        "OrderManager.WaitingCompletion",
        "OrderManager.MakeOrder",
        "OrderManager.OrderCompleted",
        "OrderProcessor.orderFinished",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    assert!(
        user.iter()
            .all(|m| !m["payload"].to_string().contains("TaskToken")),
        "a task token reached the customer"
    );
    assert!(
        rt.as_array()
            .unwrap()
            .iter()
            .any(|m| m["topic"] == "serverlesspresso-admin"
                && m["payload"]["type"] == "Validator.NewOrder")
    );
    l.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn direct_orders_succeed_or_fail_with_a_notification() {
    let l = start(None).await;
    let post = async |body: Value| l.post_direct(body).await;
    let ok = post(json!({"name": "Flat White", "restaurantId": "r1", "quantity": 2})).await;
    let declined = post(
        json!({"name": "Latte", "restaurantId": "r1", "quantity": 1, "card": "4000000000000002"}),
    )
    .await;
    let pizza = post(
        json!({"name": "Step Functions Pizza", "restaurantId": "Restaurant 99", "quantity": 3}),
    )
    .await;

    for (id, state, reason) in [
        (&ok, "COMPLETED", None),
        (&declined, "FAILED", Some("Payment declined: card declined")),
        (
            &pizza,
            "FAILED",
            Some("Rejected by the restaurant: 'Step Functions Pizza' is not on the menu"),
        ),
    ] {
        let exec = l.finished(id).await;
        assert_eq!(
            exec["status"], "SUCCEEDED",
            "{id}: {} {}",
            exec["error"], exec["cause"]
        );
        let row = l.my_order(id).await;
        assert_eq!(row["ORDERSTATE"], state, "{row}");
        assert_eq!(
            row["orderStatus"],
            if state == "COMPLETED" {
                "SUCCESS"
            } else {
                "FAILURE"
            }
        );
        if let Some(r) = reason {
            assert_eq!(row["reason"], r);
        }
    }
    // The rejected order had been paid: it was refunded.
    let pizza_row = l.my_order(&pizza).await;
    assert_eq!(pizza_row["payment"]["refunded"], true);
    assert_eq!(pizza_row["payment"]["amount"], 1350);

    let notes = l.call("GET", "/local/notifications", None, None).await.1;
    let text: Vec<String> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["Message"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with(&format!("Order {ok}: SUCCESS"))),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with(&format!("Order {declined}: FAILURE"))),
        "{text:?}"
    );

    // The gateway validates before anything is queued.
    let (s, r) = l
        .call(
            "POST",
            "/orders",
            Some(&l.customer),
            Some(json!({"name": "Latte", "restaurantId": "r1", "quantity": "2"})),
        )
        .await;
    assert_eq!(s, 400, "{r}");
    assert_eq!(
        l.call(
            "POST",
            "/orders",
            None,
            Some(json!({"name": "Latte", "restaurantId": "r1", "quantity": 1}))
        )
        .await
        .0,
        401
    );
    l.stack.stop().await;
}

/// Sets the menu row's `value` (a broken one makes send-to-restaurant fail as Transient).
async fn set_menu_value(l: &Local, value: aws_sdk_dynamodb::types::AttributeValue) {
    l.stack
        .dynamo
        .client()
        .update_item()
        .table_name("ConfigTable")
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S("menu".into()),
        )
        .update_expression("SET #v = :v")
        .expression_attribute_names("#v", "value")
        .expression_attribute_values(":v", value)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paid_order_cancelled_by_the_customer_is_refunded_once() {
    let l = start(None).await;
    // The restaurant is unreachable (its menu cannot be read): the workflow has charged the
    // order and keeps retrying send-to-restaurant, which gives the customer time to cancel a
    // paid order (retries over about 1 s at this time scale).
    set_menu_value(
        &l,
        aws_sdk_dynamodb::types::AttributeValue::S("broken".into()),
    )
    .await;
    let id = l
        .post_direct(json!({"name": "Latte", "restaurantId": "r1", "quantity": 2}))
        .await;
    l.eventually("the order to be paid", async || {
        let (_, r) = l.call("GET", "/myOrders", Some(&l.customer), None).await;
        r["result"]
            .as_array()?
            .iter()
            .any(|o| o["SK"] == id.as_str() && o["payment"].is_object())
            .then_some(())
    })
    .await;
    let (s, r) = l
        .call(
            "PUT",
            &format!("/orders/cancel/{id}"),
            Some(&l.customer),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let exec = l.finished(&id).await;
    assert_eq!(exec["status"], "SUCCEEDED", "{exec}");
    let row = l.my_order(&id).await;
    assert_eq!(row["ORDERSTATE"], "CANCELLED", "{row}");
    assert_eq!(row["payment"]["amount"], 900);
    assert_eq!(row["payment"]["refunded"], true, "{row}");
    l.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closed_shop_turns_orders_away() {
    let l = start(None).await;
    assert_eq!(
        l.call("PUT", "/store?state=closed", Some(&l.barista), None)
            .await
            .0,
        200
    );
    let id = l
        .post_direct(json!({"name": "Latte", "restaurantId": "r1", "quantity": 1}))
        .await;
    assert_eq!(l.finished(&id).await["status"], "SUCCEEDED");
    let order = l.order(&id).await;
    assert_eq!(order["orderState"], "FAILED");
    let rt = l
        .eventually("ShopUnavailable on the user's topic", async || {
            let rt = l.call("GET", "/local/realtime", None, None).await.1;
            rt.as_array()?
                .iter()
                .any(|m| {
                    m["topic"] == "serverlesspresso-user-alice"
                        && m["payload"]["type"] == "OrderProcessor.ShopUnavailable"
                })
                .then_some(())
        })
        .await;
    let _: () = rt;
    l.stack.stop().await;
}

/// An order accepted before a restart is finished after it: the queue, the database and the
/// workflow's checkpoints live in the data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accepted_orders_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let l = start(Some(dir.path().to_owned())).await;
    let id = l
        .post_direct(json!({"name": "Americano", "restaurantId": "r1", "quantity": 1}))
        .await;
    l.stack.stop().await;

    let l = start(Some(dir.path().to_owned())).await;
    let exec = l.finished(&id).await;
    assert_eq!(
        exec["status"], "SUCCEEDED",
        "{} {}",
        exec["error"], exec["cause"]
    );
    assert_eq!(l.order(&id).await["orderState"], "COMPLETED");
    l.stack.stop().await;
}

/// Opening or closing the shop reaches the frontends as `ConfigService.ConfigChanged`, from the
/// config table's stream, as in AWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_the_shop_is_announced_from_the_table_stream() {
    let l = start(None).await;
    assert_eq!(
        l.call("PUT", "/store?state=closed", Some(&l.barista), None)
            .await
            .0,
        200
    );
    let detail = l
        .eventually("ConfigChanged on the config topic", async || {
            let rt = l.call("GET", "/local/realtime", None, None).await.1;
            rt.as_array()?
                .iter()
                .find(|m| {
                    m["topic"] == "serverlesspresso-config"
                        && m["payload"]["type"] == "ConfigService.ConfigChanged"
                })
                .map(|m| m["payload"]["detail"].clone())
        })
        .await;
    assert_eq!(detail["NewImage"]["storeOpen"], json!({"BOOL": false}));
    assert_eq!(detail["NewImage"]["PK"], json!({"S": "config"}));
    l.stack.stop().await;
}

/// The orders API (seed 002) on the local stack: the seed's bodies byte for byte, the gateway's
/// own validation answer, identity from the token, and the order running the one lifecycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_orders_api_order_is_created_once_and_runs_the_lifecycle() {
    let l = start(None).await;
    // 12.50: the local payment provider declines amounts above 50.00.
    let order =
        r#"{"store_id":"store01","order_id":"order01","user_id":"alice","grand_total":12.50}"#;
    let created = l
        .call_text("POST", "/new-order", Some(&l.till), Some(order.into()))
        .await;
    assert_eq!(
        (created.0, created.1.as_str()),
        (
            201,
            r#"{"statusCode":201,"body":{"message":"Order order01 submitted successfully"}}"#
        )
    );
    let again = l
        .call_text("POST", "/new-order", Some(&l.till), Some(order.into()))
        .await;
    assert_eq!(
        (again.0, again.1.as_str()),
        (
            400,
            r#"{"statusCode":400,"error":"The conditional request failed"}"#
        )
    );

    // The order runs the one lifecycle for its user: charged 12.50, sent to the restaurant,
    // SUCCESS, and notified.
    let row = l
        .eventually("the orders-API order to succeed", async || {
            let (_, mine) = l.call("GET", "/myOrders", Some(&l.customer), None).await;
            mine["result"]
                .as_array()?
                .iter()
                .find(|o| o["channel"] == "api" && o["orderStatus"] == "SUCCESS")
                .cloned()
        })
        .await;
    assert_eq!(row["amount"], 1250);
    assert_eq!(row["payment"]["amount"], 1250);
    let id = row["SK"].as_str().unwrap().to_owned();
    assert_eq!(l.finished(&id).await["status"], "SUCCEEDED");
    let (_, notes) = l.call("GET", "/local/notifications", None, None).await;
    assert!(notes.to_string().contains(&id), "{notes}");

    // The listing, as the seed shows it; alice may list her own.
    let (status, text, _) = l
        .call_text(
            "POST",
            "/user-orders",
            Some(&l.customer),
            Some(r#"{"user_id":"alice","store_id":"store01"}"#.into()),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert!(text.starts_with(r#"{"statusCode":200,"orders":[{"user_id":"alice","grand_total":12.5,"order_id":"order01","store_id":"store01","timestamp":"alice#"#), "{text}");
    assert!(
        text.ends_with(r#""}],"body":{"message":"Orders retrieved successfully"}}"#),
        "{text}"
    );
    assert_eq!(listed["orders"].as_array().unwrap().len(), 1);

    // Mallory may neither list nor order for alice; the till not for another store.
    let body = json!({"user_id": "alice", "store_id": "store01"});
    let (status, _) = l
        .call("POST", "/user-orders", Some(&l.other), Some(body))
        .await;
    assert_eq!(status, 403);
    let other_store =
        json!({"store_id": "store02", "order_id": "x", "user_id": "alice", "grand_total": 1});
    let (status, r) = l
        .call("POST", "/new-order", Some(&l.till), Some(other_store))
        .await;
    assert_eq!(status, 403, "{r}");

    // A body the model refuses gets API Gateway's own answer before any function runs.
    for bad in [
        r#"{"store_id":"store01","order_id":"o2","user_id":"alice"}"#,
        r#"{"store_id":"store01","order_id":"o2","user_id":"alice","grand_total":"110"}"#,
        r#"{"store_id":"store01","order_id":"o2","user_id":"alice","grand_total":-5}"#,
        r#"{"store_id":"store01","order_id":"o2","user_id":"alice","grand_total":1,"extra":true}"#,
    ] {
        let (status, text, headers) = l
            .call_text("POST", "/new-order", Some(&l.till), Some(bad.into()))
            .await;
        assert_eq!(
            (status, text.as_str()),
            (400, r#"{"message":"Invalid request body"}"#),
            "{bad}"
        );
        assert!(headers.contains_key(local::gateway::DETAIL_HEADER), "{bad}");
    }
    l.stack.stop().await;
}

/// Ids no order can have are refused with a 4xx JSON message on every route that takes one,
/// through the gateway as curl sends them (percent-encoded), never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn impossible_ids_are_refused_on_every_route() {
    let l = start(None).await;
    let long = "o".repeat(1_100);
    for bad in [long.as_str(), "o%201", "o%2F1", "o%23x", "%7Bo%7D", "o%001"] {
        let routes = [
            ("GET", format!("/orders/{bad}"), &l.customer),
            ("PUT", format!("/orders/{bad}"), &l.customer),
            ("PUT", format!("/orders/complete/{bad}"), &l.barista),
            ("PUT", format!("/orders/cancel/{bad}"), &l.customer),
            (
                "PUT",
                format!("/orders/claim/{bad}?action=make"),
                &l.barista,
            ),
            ("POST", format!("/qr-code?token={bad}"), &l.customer),
        ];
        for (method, path, token) in routes {
            let body = (method == "PUT").then(|| json!({"drink": "Latte"}));
            let (s, r) = l.call(method, &path, Some(token), body).await;
            assert!((400..500).contains(&s), "{method} {path:.60}: {s} {r}");
            assert!(r["message"].is_string(), "{method} {path:.60}: {r}");
        }
        let (s, r) = l
            .call("GET", &format!("/local/orders/{bad}/execution"), None, None)
            .await;
        assert_eq!(s, 400, "{bad:.60}: {r}");
    }
    // An empty id matches no route (`/orders/` is not `/orders/{id}`); the gateway's validator
    // refuses an empty token.
    for (method, path) in [
        ("GET", "/orders/"),
        ("PUT", "/orders/complete/"),
        ("POST", "/qr-code?token="),
        ("GET", "/local/orders//execution"),
    ] {
        let (s, r) = l.call(method, path, Some(&l.customer), None).await;
        assert!((400..500).contains(&s), "{method} {path}: {s} {r}");
    }
    l.stack.stop().await;
}

/// The `/local` pages never show a card number (only its last four digits) nor a workflow
/// callback token, and refuse peers that are not loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inspection_pages_mask_cards_and_task_tokens() {
    const CARD: &str = "4242424242424242";
    let l = start(None).await;
    let direct = l
        .post_direct(json!({"name": "Latte", "restaurantId": "r1", "quantity": 1, "card": CARD}))
        .await;
    assert_eq!(l.finished(&direct).await["status"], "SUCCEEDED");

    // A QR order waiting for its drink: its callback token is on the admin topic.
    let (_, code) = l.call("GET", "/qr-code", Some(&l.barista), None).await;
    let token = code["bucket"]["last_code"].as_str().unwrap().to_owned();
    let (_, scan) = l
        .call(
            "POST",
            &format!("/qr-code?token={token}"),
            Some(&l.customer),
            None,
        )
        .await;
    let qr = scan["orderId"].as_str().unwrap().to_owned();
    let task_token = l
        .eventually("the customer's task token on the admin topic", async || {
            l.stack.hub.realtime.messages().iter().find_map(|m| {
                let d = &m["payload"]["detail"];
                (m["topic"] == "serverlesspresso-admin" && d["orderId"] == qr.as_str())
                    .then(|| d["TaskToken"].as_str().map(str::to_owned))
                    .flatten()
            })
        })
        .await;
    l.stack.hub.outbox.dead_letter(
        json!({"rule": "r", "event": {"detail": {"card": CARD, "TaskToken": task_token}}}),
    );

    let mut shown = String::new();
    for page in [
        format!("/local/orders/{direct}/execution"),
        format!("/local/orders/{qr}/execution"),
        "/local/realtime".to_owned(),
        "/local/notifications".to_owned(),
        "/local/dead-letters".to_owned(),
    ] {
        let (s, body) = l.call("GET", &page, None, None).await;
        assert_eq!(s, 200, "{page}: {body}");
        shown.push_str(&body.to_string());
    }
    assert!(!shown.contains(CARD), "a card number is shown");
    assert!(!shown.contains(&task_token), "a task token is shown");
    let exec = l.execution(&direct).await;
    assert_eq!(exec["input"]["card"], "************4242");
    assert!(shown.contains("[redacted task token]"));

    // The pages answer this machine only.
    for (peer, status) in [("203.0.113.7:5000", 403), ("127.0.0.1:5000", 200)] {
        let mut req = Request::builder()
            .uri("/local/realtime")
            .body(Body::empty())
            .unwrap();
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        let res = l.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{peer}");
    }
    l.stack.stop().await;
}

/// A bus delivery to a function that keeps failing is retried by its rule's `RetryPolicy`
/// (WorkflowStarted: 20 retries) and then shown at `/local/dead-letters`, with its event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_that_keeps_failing_is_retried_then_dead_lettered() {
    // x0.05: the 1 s back-off is 50 ms and the rule's 300 s event age 15 s, so all 21 tries fit
    // well within the age even on a loaded machine.
    let l = start_scaled(None, 0.05).await;
    // An order id no order can have: order-manager refuses the event on every try.
    let detail = json!({"orderId": "bad id", "TaskToken": "t", "userId": "alice"});
    l.stack
        .hub
        .put_event(
            "awsserverlessda.serverlesspresso",
            "OrderProcessor.WorkflowStarted",
            detail,
        )
        .await
        .unwrap();
    let letter = l
        .eventually("the delivery to be dead-lettered", async || {
            let (_, letters) = l.call("GET", "/local/dead-letters", None, None).await;
            letters.as_array()?.first().cloned()
        })
        .await;
    assert_eq!(letter["target"], "OrderManagerFunction");
    assert_eq!(letter["rule"], "OrderManagerFunction.WorkflowStarted");
    assert_eq!(letter["attempts"], 21, "{letter}");
    assert_eq!(letter["event"]["detail"]["orderId"], "bad id");
    l.stack.stop().await;
}

/// A delivery stored on the bus and not yet made when the stack died is made after the
/// restart (here: stored while no stack runs, as if it crashed right after accepting it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pending_bus_delivery_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let l = start(Some(dir.path().to_owned())).await;
    l.stack.stop().await;

    let dynamo =
        local::EmbeddedDynamo::start_persistent(&dir.path().join("dynamo.db"), "127.0.0.1:0")
            .await
            .unwrap();
    let spec = local::queue::QueueSpec {
        logical_id: local_stack::deliveries::queue_of("PublisherFunction"),
        visibility_timeout: Duration::from_secs(1),
        redrive: None,
    };
    let queues = local::queue::LocalQueues::open(dynamo.client(), vec![spec], 1.0)
        .await
        .unwrap();
    let event = json!({
        "version": "0", "id": "evt-1", "detail-type": "ConfigService.ConfigChanged",
        "source": "awsserverlessda.serverlesspresso", "account": "000000000000",
        "time": "2026-12-04T12:00:00Z", "region": "local", "resources": [],
        "detail": {"NewImage": {"PK": {"S": "config"}, "marker": {"S": "from-before-the-crash"}}}
    });
    let delivery = local_stack::deliveries::Delivery {
        rule: "PublisherFunction.AppEvents".into(),
        event,
    };
    queues
        .send(
            &local_stack::deliveries::queue_of("PublisherFunction"),
            &serde_json::to_string(&delivery).unwrap(),
            chrono::Utc::now().timestamp_millis(),
        )
        .await
        .unwrap();
    dynamo.stop().await;

    let l = start(Some(dir.path().to_owned())).await;
    l.eventually(
        "the stored delivery to reach the realtime topics",
        async || {
            let (_, log) = l.call("GET", "/local/realtime", None, None).await;
            log.to_string()
                .contains("from-before-the-crash")
                .then_some(())
        },
    )
    .await;
    l.stack.stop().await;
}

/// The API's contract is served as it is deployed: the template's OpenAPI document, every
/// route in it (what schemathesis fuzzes in CI, `.ci/fuzz-api`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_is_served() {
    let l = start(None).await;
    let (status, doc) = l.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.1");
    for path in ["/config", "/orders/{id}", "/new-order", "/user-orders"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert!(doc["components"]["schemas"]["NewOrder"].is_object());
    l.stack.stop().await;
}

/// The same document as a page to read at `/docs`: HTML, every route of the document in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_docs_page_shows_every_route_of_the_document() {
    let l = start(None).await;
    let (_, doc) = l.call("GET", "/openapi.json", None, None).await;
    let (status, page, headers) = l.call_text("GET", "/docs", None, None).await;
    assert_eq!(status, 200);
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("text/html; charset=utf-8"));
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for method in ["get", "put", "post"] {
            if item.get(method).is_some() {
                let heading = format!(
                    "<span class=\"m {method}\">{}</span> <code>{path}</code>",
                    method.to_uppercase()
                );
                assert!(page.contains(&heading), "{method} {path} is on the page");
            }
        }
    }
    l.stack.stop().await;
}
