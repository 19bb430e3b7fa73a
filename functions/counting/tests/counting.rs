//! Order numbers against a real DynamoDB engine (embedded dynoxide): keyed by the order,
//! written on it, never skipped nor doubled.

use chrono::{DateTime, TimeZone, Utc};
use domain::order::Order;
use domain::ports::{OrderReader, OrderWriter};
use local::testing::TestTables;
use serde_json::json;
use std::sync::Arc;

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

async fn orders(t: &TestTables, ids: impl IntoIterator<Item = String>) {
    for id in ids {
        assert!(t.orders.create(&Order::new(id, "u1", 1)).await.unwrap());
    }
}

async fn number(t: &TestTables, id: &str, at: DateTime<Utc>) -> u64 {
    counting::number_order(&t.counters, id, 7, at)
        .await
        .unwrap()["orderNumber"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_orders_get_exactly_one_to_a_hundred() {
    let t = Arc::new(TestTables::start().await.unwrap());
    orders(&t, (0..100).map(|i| format!("o{i}"))).await;
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { number(&t, &format!("o{i}"), noon()).await })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=100).collect::<Vec<u64>>());
    // Each number is written on its order.
    for i in [0, 42, 99] {
        let o = t.orders.get(&format!("o{i}")).await.unwrap().unwrap();
        assert!(o.assigned_number.is_some_and(|n| (1..=100).contains(&n)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_order_numbered_again_gets_the_same_number() {
    let t = Arc::new(TestTables::start().await.unwrap());
    orders(&t, ["a".to_owned(), "b".to_owned()]).await;
    // A retried task, an SDK retry and a resumed execution, all at once.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { number(&t, "a", noon()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 1);
    }
    // The next business day, the order keeps its number.
    let tomorrow = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    assert_eq!(number(&t, "a", tomorrow).await, 1);
    let o = t.orders.get("a").await.unwrap().unwrap();
    assert_eq!(
        o.assigned_number,
        Some(1),
        "written on the order when given"
    );
    assert_eq!(
        o.version, 1,
        "so a writer holding the older row re-reads it"
    );
}

#[tokio::test]
async fn a_retried_order_does_not_consume_a_number() {
    let t = TestTables::start().await.unwrap();
    orders(&t, ["a".to_owned(), "b".to_owned()]).await;
    assert_eq!(number(&t, "a", noon()).await, 1);
    assert_eq!(number(&t, "a", noon()).await, 1);
    assert_eq!(number(&t, "b", noon()).await, 2, "no gap after the retry");
}

#[tokio::test]
async fn an_unknown_order_is_refused_and_takes_no_number() {
    let t = TestTables::start().await.unwrap();
    orders(&t, ["a".to_owned()]).await;
    let err = counting::handle(&t.counters, json!({"orderId": "ghost"}), 7, noon())
        .await
        .unwrap_err();
    assert_eq!(err.error, "InvalidInput");
    let bad = counting::handle(&t.counters, json!({}), 7, noon()).await;
    assert_eq!(bad.unwrap_err().error, "InvalidInput");
    assert_eq!(
        counting::handle(&t.counters, json!({"orderId": "a"}), 7, noon())
            .await
            .unwrap(),
        json!({"orderNumber": 1})
    );
}

#[tokio::test]
async fn numbers_restart_at_the_reset_hour() {
    let t = TestTables::start().await.unwrap();
    orders(&t, (0..4).map(|i| format!("o{i}"))).await;
    let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 21, h, m, 0).unwrap();
    assert_eq!(number(&t, "o0", at(6, 58)).await, 1);
    assert_eq!(number(&t, "o1", at(6, 59)).await, 2);
    assert_eq!(
        number(&t, "o2", at(7, 0)).await,
        1,
        "a new business day starts at 07:00 UTC"
    );
    assert_eq!(number(&t, "o3", at(23, 0)).await, 2);
}
