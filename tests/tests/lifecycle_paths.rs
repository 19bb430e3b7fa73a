//! The workflow's less travelled paths, run by the real handlers on the local stack (not by
//! stub tasks): timeouts, a closed shop for a QR order, the processor outage, the queue's
//! redrive into its DLQ, the barista's claim/unclaim/complete and the customer's cancel (by the
//! Gen A routes and by Gen B's `?action=`), a full shop, a parked refund, and a restart in the
//! middle of a workflow that waits for the customer.

mod common;
use aws_sdk_dynamodb::types::AttributeValue;
use common::*;
use serde_json::{Value, json};

async fn barista(l: &Local, path: &str) -> u16 {
    l.call("PUT", path, Some(&l.barista), None).await.0
}

/// The realtime messages of `topic` with `type`.
async fn realtime_of(l: &Local, topic: &str, kind: &str) -> Vec<Value> {
    let (_, log) = l.call("GET", "/local/realtime", None, None).await;
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["topic"] == topic && m["payload"]["type"] == kind)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_who_never_chooses_times_out_and_is_told() {
    // 300 s heartbeat x 0.005 = 1.5 s.
    let l = start_scaled(None, 0.005).await;
    let id = scan(&l).await;
    let exec = l.finished(&id).await;
    assert_eq!(exec["status"], "SUCCEEDED", "{exec}");
    let order = l.order(&id).await;
    assert_eq!(order["orderState"], "CANCELLED", "{order}");
    assert_eq!(order["reason"], "Customer timedout");
    let told = l
        .eventually("OrderTimeOut on alice's topic", async || {
            let m = realtime_of(
                &l,
                "serverlesspresso-user-alice",
                "OrderProcessor.OrderTimeOut",
            )
            .await;
            m.first().cloned()
        })
        .await;
    assert_eq!(told["payload"]["detail"]["orderId"], id.as_str());
    l.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_barista_who_never_completes_times_out() {
    // 900 s heartbeat x 0.005 = 4.5 s; the 300 s customer wait is 1.5 s, enough to choose
    // even on a loaded machine.
    let l = start_scaled(None, 0.005).await;
    let id = scan(&l).await;
    choose_drink(&l, &id).await;
    at_barista(&l, &id).await;
    let exec = l.finished(&id).await;
    assert_eq!(exec["status"], "SUCCEEDED", "{exec}");
    let order = l.order(&id).await;
    assert_eq!(order["orderState"], "CANCELLED", "{order}");
    assert_eq!(order["reason"], "Barista timedout");
    l.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_qr_order_in_a_closed_shop_fails_and_says_why() {
    let l = start(None).await;
    let id = scan(&l).await;
    // Closed after the scan: the workflow's own check turns the order away.
    assert_eq!(barista(&l, "/store?state=closed").await, 200);
    let exec = l.finished(&id).await;
    assert_eq!(exec["status"], "SUCCEEDED", "{exec}");
    let order = l.order(&id).await;
    if order["orderState"] == "FAILED" {
        assert!(
            order["reason"]
                .as_str()
                .unwrap()
                .starts_with("Shop unavailable"),
            "{order}"
        );
    } else {
        // The scan's workflow was admitted before the shop closed: it waits for the drink
        // and times out instead; either way the order ended.
        assert_eq!(order["orderState"], "CANCELLED", "{order}");
    }
    l.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_processor_outage_is_retried_then_fails_the_order_with_a_notification() {
    let l = start(None).await;
    let id = l
        .post_direct(json!({"name": "Latte", "restaurantId": "r1", "quantity": 1, "card": "4000000000000119"}))
        .await;
    let exec = l.finished(&id).await;
    assert_eq!(exec["status"], "SUCCEEDED", "{exec}");
    let failed_charges = exec["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed" && e["details"]["name"] == "TakePayment")
        .count();
    let row = l.my_order(&id).await;
    assert_eq!(row["ORDERSTATE"], "FAILED", "{row}");
    assert!(row["payment"].is_null(), "nothing was charged: {row}");
    assert!(
        failed_charges > 1,
        "the outage was retried: {failed_charges}"
    );
    let (_, notes) = l.call("GET", "/local/notifications", None, None).await;
    assert!(
        notes.to_string().contains(&format!("Order {id}: FAILURE")),
        "{notes}"
    );
    l.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_no_workflow_can_start_is_redriven_into_the_dlq() {
    let l = start(None).await;
    let now = chrono::Utc::now().timestamp_millis();
    l.stack
        .hub
        .queues
        .send("OrderQueue", "this is not an order", now)
        .await
        .unwrap();
    // maxReceiveCount 3, visibility 180 s x 0.01: three failed receives, then the DLQ.
    l.eventually("the message in OrderDLQ", async || {
        let depth = l.stack.hub.queues.depth("OrderDLQ").await.ok()?;
        (depth == 1).then_some(())
    })
    .await;
    assert_eq!(l.stack.hub.queues.depth("OrderQueue").await.unwrap(), 0);
    l.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_barista_claims_unclaims_and_completes_and_the_customer_cancels() {
    let l = start(None).await;
    // One order of alice's at a time (the seeded maxOrdersPerUser is 1): the second is placed
    // once the first is finished.
    let made = scan(&l).await;
    choose_drink(&l, &made).await;
    at_barista(&l, &made).await;

    assert_eq!(
        barista(&l, &format!("/orders/claim/{made}?action=make")).await,
        200
    );
    assert_eq!(l.order(&made).await["orderState"], "CREATED");
    assert_eq!(
        barista(&l, &format!("/orders/claim/{made}?action=unmake")).await,
        200
    );
    let (_, queue) = l
        .call("GET", "/orders?state=CREATED", Some(&l.barista), None)
        .await;
    let row = queue["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["SK"] == made.as_str())
        .cloned()
        .unwrap();
    assert!(row["baristaUserId"].is_null(), "released: {row}");
    assert_eq!(
        barista(&l, &format!("/orders/claim/{made}?action=make")).await,
        200
    );
    assert_eq!(barista(&l, &format!("/orders/complete/{made}")).await, 200);

    assert_eq!(l.finished(&made).await["status"], "SUCCEEDED");
    let cancelled = scan(&l).await;
    choose_drink(&l, &cancelled).await;
    at_barista(&l, &cancelled).await;
    let (s, r) = l
        .call(
            "PUT",
            &format!("/orders/cancel/{cancelled}"),
            Some(&l.other),
            None,
        )
        .await;
    assert_eq!(s, 403, "not mallory's order: {r}");
    let (s, r) = l
        .call(
            "PUT",
            &format!("/orders/cancel/{cancelled}"),
            Some(&l.customer),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");

    for (id, state) in [(&made, "COMPLETED"), (&cancelled, "CANCELLED")] {
        assert_eq!(l.finished(id).await["status"], "SUCCEEDED");
        let listed = l
            .eventually("the order in its state's list", async || {
                let (_, list) = l
                    .call(
                        "GET",
                        &format!("/orders?state={state}"),
                        Some(&l.barista),
                        None,
                    )
                    .await;
                list["result"]
                    .as_array()?
                    .iter()
                    .find(|o| o["SK"] == id.as_str())
                    .cloned()
            })
            .await;
        assert_eq!(listed["ORDERSTATE"], state);
    }
    // A finished order can no longer be claimed.
    assert_eq!(
        barista(&l, &format!("/orders/claim/{made}?action=unmake")).await,
        409
    );
    l.stack.stop().await;
}

/// Whether order `id` holds a place in the shop's queue (its row's `holdsSlot`).
async fn holds_place(l: &Local, id: &str) -> bool {
    let out = l
        .stack
        .dynamo
        .client()
        .get_item()
        .table_name("OrderTable")
        .key("PK", AttributeValue::S("orders".into()))
        .key("SK", AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item
        .and_then(|i| i.get("holdsSlot").cloned())
        .is_some_and(|v| v == AttributeValue::Bool(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_shop_turns_an_order_away_and_tells_the_customer() {
    // 300 s customer wait x 0.05 = 15 s: time to fill the shop before mallory chooses.
    let l = start_scaled(None, 0.05).await;
    l.stack
        .dynamo
        .client()
        .update_item()
        .table_name("ConfigTable")
        .key("PK", AttributeValue::S("config".into()))
        .update_expression("SET maxOrdersInQueue = :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let first = scan_as(&l, &l.other).await;
    l.eventually("mallory's order to take the one place", async || {
        holds_place(&l, &first).await.then_some(())
    })
    .await;

    let refused = scan(&l).await;
    assert_eq!(l.finished(&refused).await["status"], "SUCCEEDED");
    let order = l.order(&refused).await;
    assert_eq!(order["orderState"], "FAILED", "{order}");
    assert_eq!(
        order["reason"],
        "Shop unavailable: the shop is at capacity (1 order waiting)"
    );
    let told = l
        .eventually("ShopUnavailable on alice's topic", async || {
            let m = realtime_of(
                &l,
                "serverlesspresso-user-alice",
                "OrderProcessor.ShopUnavailable",
            )
            .await;
            m.first().cloned()
        })
        .await;
    let detail = &told["payload"]["detail"];
    assert_eq!(detail["userId"], "alice");
    assert!(
        detail["Message"].as_str().unwrap().contains("at capacity"),
        "{told}"
    );
    assert!(!holds_place(&l, &refused).await);

    // Mallory's order is made and completed: the workflow's Finish gives the place back, and
    // alice's next order gets in (its workflow waits for her drink).
    choose_drink_as(&l, &l.other, &first).await;
    at_barista(&l, &first).await;
    assert_eq!(barista(&l, &format!("/orders/complete/{first}")).await, 200);
    assert_eq!(l.finished(&first).await["status"], "SUCCEEDED");
    assert!(!holds_place(&l, &first).await);
    let next = scan(&l).await;
    choose_drink(&l, &next).await;
    assert!(holds_place(&l, &next).await);
    l.stack.stop().await;
}

/// The Gen B barista app's calls: every action is `PUT /orders/{id}?action=...` without a body,
/// through the gateway's OpenAPI validation (the drink-choice model accepts a missing body) to
/// the same handlers as the Gen A routes, and the workflows end as they do there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gen_b_barista_app_makes_completes_and_cancels_with_action_queries() {
    let l = start(None).await;
    // One QR order at a time: alice may have one open order (maxOrdersPerUser).
    let made = scan(&l).await;
    choose_drink(&l, &made).await;
    at_barista(&l, &made).await;

    let act = |id: &str, action: &str| format!("/orders/{id}?action={action}");
    assert_eq!(barista(&l, &act(&made, "make")).await, 200);
    assert_eq!(barista(&l, &act(&made, "unmake")).await, 200);
    assert_eq!(barista(&l, &act(&made, "make")).await, 200);
    let claims = l
        .eventually("the three claims on the admin topic", async || {
            let m = realtime_of(&l, "serverlesspresso-admin", "OrderManager.MakeOrder").await;
            let mine: Vec<_> = m
                .into_iter()
                .filter(|m| m["payload"]["detail"]["orderId"] == made.as_str())
                .collect();
            (mine.len() == 3).then_some(mine)
        })
        .await;
    // EventBridge does not keep the order of events: one of the three is the release.
    let released = claims
        .iter()
        .filter(|c| c["payload"]["detail"]["baristaUserId"].is_null())
        .count();
    assert_eq!(released, 1, "{claims:?}");
    // The same guards: a customer cannot act as a barista, nor an action be invented.
    let (s, r) = l
        .call("PUT", &act(&made, "complete"), Some(&l.customer), None)
        .await;
    assert_eq!(s, 403, "{r}");
    let (s, r) = l
        .call("PUT", &act(&made, "brew"), Some(&l.barista), None)
        .await;
    assert_eq!(s, 400, "{r}");
    let (s, r) = l
        .call("PUT", &format!("/orders/{made}"), Some(&l.barista), None)
        .await;
    assert_eq!(s, 400, "neither an action nor a drink: {r}");
    assert!(r["message"].as_str().unwrap().contains("?action="), "{r}");

    assert_eq!(barista(&l, &act(&made, "complete")).await, 200);
    assert_eq!(l.finished(&made).await["status"], "SUCCEEDED");

    let cancelled = scan(&l).await;
    choose_drink(&l, &cancelled).await;
    at_barista(&l, &cancelled).await;
    assert_eq!(barista(&l, &act(&cancelled, "cancel")).await, 200);
    for (id, state) in [(&made, "COMPLETED"), (&cancelled, "CANCELLED")] {
        assert_eq!(l.finished(id).await["status"], "SUCCEEDED");
        assert_eq!(l.order(id).await["orderState"], state);
    }
    assert_eq!(barista(&l, &act(&made, "cancel")).await, 409);
    l.stack.stop().await;
}

/// The restart comes while the workflow waits for the customer (a `.waitForTaskToken` state,
/// checkpointed): the drink chosen after the restart resumes that very execution.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_workflow_waiting_for_the_customer_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let l = start(Some(dir.path().to_owned())).await;
    let id = scan(&l).await;
    l.eventually("the workflow waiting for the drink", async || {
        let (_, exec) = l
            .call("GET", &format!("/local/orders/{id}/execution"), None, None)
            .await;
        exec["history"]
            .as_array()?
            .iter()
            .any(|e| e["type"] == "TaskStateEntered" && e["details"]["name"] == "WaitForDrink")
            .then_some(())
    })
    .await;
    // Whether or not the task token reached the order yet: its delivery is durable too.
    l.stack.stop().await;

    let l = start(Some(dir.path().to_owned())).await;
    choose_drink(&l, &id).await;
    at_barista(&l, &id).await;
    assert_eq!(barista(&l, &format!("/orders/complete/{id}")).await, 200);
    let exec = l.finished(&id).await;
    assert_eq!(exec["status"], "SUCCEEDED", "{exec}");
    assert_eq!(l.order(&id).await["orderState"], "COMPLETED");
    l.stack.stop().await;
}

/// A paid order that ends not completed must be refunded; when the refund fails every retry
/// (the local provider cannot refund card 4000000000005126), it is parked in
/// RefundParkedQueue for an operator, and the order says the refund is pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_that_keeps_failing_is_parked_for_an_operator() {
    // The refund's ~28 min of retries x 0.001 = under 2 s.
    let l = start_scaled(None, 0.001).await;
    let id = l
        .post_direct(json!({
            "name": "Step Functions Pizza", "restaurantId": "r1", "quantity": 1,
            "card": "4000000000005126"
        }))
        .await;
    let exec = l.finished(&id).await;
    assert_eq!(exec["status"], "SUCCEEDED", "{}", exec["cause"]);
    let row = l.my_order(&id).await;
    assert_eq!(row["ORDERSTATE"], "FAILED", "{row}");
    assert_eq!(row["payment"]["refunded"], false, "{row}");
    assert!(
        row["reason"].as_str().unwrap().contains("refund pending"),
        "{row}"
    );
    assert_eq!(
        l.stack.hub.queues.depth("RefundParkedQueue").await.unwrap(),
        1,
        "parked for an operator"
    );
    l.stack.stop().await;
}
