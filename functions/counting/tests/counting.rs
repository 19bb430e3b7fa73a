//! Order numbers against a real DynamoDB engine (embedded dynoxide).

use chrono::{TimeZone, Utc};
use local::testing::TestTables;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_calls_get_a_hundred_distinct_numbers() {
    let t = Arc::new(TestTables::start().await.unwrap());
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { counting::next_order_number(&t.counters, 7, now).await })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        let v = task.await.unwrap().unwrap();
        numbers.push(v["orderNumber"].as_u64().unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=100).collect::<Vec<u64>>());
}

#[tokio::test]
async fn numbers_restart_at_the_reset_hour() {
    let t = TestTables::start().await.unwrap();
    let n = |h, m| {
        let t = &t;
        async move {
            let at = Utc.with_ymd_and_hms(2026, 11, 21, h, m, 0).unwrap();
            counting::next_order_number(&t.counters, 7, at)
                .await
                .unwrap()["orderNumber"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(n(6, 58).await, 1);
    assert_eq!(n(6, 59).await, 2);
    assert_eq!(n(7, 0).await, 1, "a new business day starts at 07:00 UTC");
    assert_eq!(n(23, 0).await, 2);
}
