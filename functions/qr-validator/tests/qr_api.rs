//! The QR validator against a real DynamoDB engine (embedded dynoxide).

use adapters::memory::RecordingBus;
use apigw::testing::{claims, request};
use aws_lambda_events::encodings::Body;
use domain::AppError;
use domain::events::Event;
use domain::ports::{Consume, EventBus, QrBuckets};
use domain::qr::{Bucket, QrPolicy};
use local::testing::TestTables;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

const NOW: i64 = 1_763_750_000_000;

fn body(r: &apigw::Response) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

fn get_code(who: Option<Value>) -> apigw::Request {
    request("GET", "/qr-code", "/qr-code", &[], &[], who, None)
}

fn scan(token: Option<&str>, sub: &str) -> apigw::Request {
    let q: Vec<(&str, &str)> = token.map(|t| vec![("token", t)]).unwrap_or_default();
    request(
        "POST",
        "/qr-code",
        "/qr-code",
        &[],
        &q,
        Some(claims(sub, &[])),
        None,
    )
}

fn admin() -> Option<Value> {
    Some(claims("barista", &["admin"]))
}

async fn code(t: &TestTables, bus: &RecordingBus, now: i64) -> String {
    let r = qr_validator::handle(
        &get_code(admin()),
        &t.validator,
        bus,
        QrPolicy::default(),
        now,
    )
    .await;
    assert_eq!(r.status_code, 200);
    body(&r)["bucket"]["last_code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn displays_in_one_bucket_share_a_code_that_rotates_with_the_bucket() {
    let t = TestTables::start().await.unwrap();
    let bus = RecordingBus::default();
    let r = qr_validator::handle(
        &get_code(admin()),
        &t.validator,
        &bus,
        QrPolicy::default(),
        NOW,
    )
    .await;
    let b = body(&r)["bucket"].clone();
    assert_eq!(b["availableTokens"], 10);
    assert_eq!(b["last_code"].as_str().unwrap().len(), 10);
    assert_eq!(b["PK"], NOW / 300_000);
    assert!(b["start_ts"].as_i64().unwrap() <= NOW && NOW <= b["end_ts"].as_i64().unwrap());

    assert_eq!(code(&t, &bus, NOW + 1_000).await, b["last_code"]);
    assert_ne!(
        code(&t, &bus, NOW + 300_000).await,
        b["last_code"],
        "next bucket, new code"
    );
}

#[tokio::test]
async fn only_admins_see_the_code() {
    let t = TestTables::start().await.unwrap();
    let bus = RecordingBus::default();
    let r = qr_validator::handle(
        &get_code(Some(claims("c", &[]))),
        &t.validator,
        &bus,
        QrPolicy::default(),
        NOW,
    )
    .await;
    assert_eq!(r.status_code, 403);
    let r = qr_validator::handle(
        &get_code(None),
        &t.validator,
        &bus,
        QrPolicy::default(),
        NOW,
    )
    .await;
    assert_eq!(r.status_code, 401);
}

#[tokio::test]
async fn a_scan_mints_an_order_and_emits_validator_new_order() {
    let t = TestTables::start().await.unwrap();
    let bus = RecordingBus::default();
    let token = code(&t, &bus, NOW).await;
    let r = qr_validator::handle(
        &scan(Some(&token), "cust-1"),
        &t.validator,
        &bus,
        QrPolicy::default(),
        NOW,
    )
    .await;
    assert_eq!(r.status_code, 200);
    let order_id = body(&r)["orderId"].as_str().unwrap().to_owned();
    assert_eq!(order_id.len(), 21);
    let events = bus.of_type("Validator.NewOrder");
    assert_eq!(events.len(), 1);
    let d = &events[0].detail;
    assert_eq!(d["orderId"], order_id.as_str());
    assert_eq!(d["userId"], "cust-1", "identity from the token");
    assert_eq!(
        d["bucket"]["availableTokens"], 9,
        "the bucket after this scan"
    );
    assert_eq!(d["bucket"]["last_code"], token.as_str());
    assert!(d["Message"].is_string());
}

#[tokio::test]
async fn wrong_missing_and_stale_codes_are_refused() {
    let t = TestTables::start().await.unwrap();
    let bus = RecordingBus::default();
    let p = QrPolicy::default();
    // No bucket at all yet.
    let r = qr_validator::handle(&scan(Some("whatever"), "c"), &t.validator, &bus, p, NOW).await;
    assert_eq!(
        (r.status_code, body(&r)["message"].as_str()),
        (400, Some("Invalid code"))
    );
    let token = code(&t, &bus, NOW).await;
    let r = qr_validator::handle(&scan(Some("wrongcode1"), "c"), &t.validator, &bus, p, NOW).await;
    assert_eq!(
        (r.status_code, body(&r)["message"].as_str()),
        (400, Some("Invalid code"))
    );
    // Yesterday's... or rather the previous bucket's code has no grace period.
    let r = qr_validator::handle(
        &scan(Some(&token), "c"),
        &t.validator,
        &bus,
        p,
        NOW + 300_000,
    )
    .await;
    assert_eq!(r.status_code, 400);
    let r = qr_validator::handle(&scan(None, "c"), &t.validator, &bus, p, NOW).await;
    assert_eq!(r.status_code, 422);
    assert!(body(&r)["message"].as_str().unwrap().contains("token"));
    let anon = request(
        "POST",
        "/qr-code",
        "/qr-code",
        &[],
        &[("token", &token)],
        None,
        None,
    );
    assert_eq!(
        qr_validator::handle(&anon, &t.validator, &bus, p, NOW)
            .await
            .status_code,
        401
    );
    assert!(bus.events().is_empty(), "no refused scan emits an event");
}

/// The race: 50 customers scan one 10-use code at once; exactly 10 get an order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_scans_of_a_ten_use_code_give_exactly_ten_orders() {
    let t = std::sync::Arc::new(TestTables::start().await.unwrap());
    let bus = RecordingBus::default();
    let token = code(&t, &bus, NOW).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (t, bus, token) = (t.clone(), bus.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let r = qr_validator::handle(
                &scan(Some(&token), &format!("c{i}")),
                &t.validator,
                &bus,
                QrPolicy::default(),
                NOW,
            )
            .await;
            (r.status_code, body(&r))
        }));
    }
    let mut orders = HashSet::new();
    let mut exhausted = 0;
    for task in tasks {
        let (status, b) = task.await.unwrap();
        assert_eq!(status, 200);
        match b["orderId"].as_str() {
            Some(id) => assert!(orders.insert(id.to_owned()), "order ids are unique"),
            None => {
                assert_eq!(b["error"], "No tokens remaining");
                exhausted += 1;
            }
        }
    }
    assert_eq!(orders.len(), 10);
    assert_eq!(exhausted, 40);
    assert_eq!(bus.of_type("Validator.NewOrder").len(), 10);
    let left = t
        .validator
        .get(QrPolicy::default().bucket_id(NOW))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.available_tokens, 0, "never below zero");
}

/// A bus that is down: the scan fails with a JSON 500 and the use is given back.
struct DownBus;
impl EventBus for DownBus {
    async fn publish(&self, _: Event) -> Result<(), AppError> {
        Err(AppError::internal("Publishing the event failed"))
    }
}

#[tokio::test]
async fn a_scan_whose_event_cannot_be_published_does_not_burn_a_use() {
    let t = TestTables::start().await.unwrap();
    let token = code(&t, &RecordingBus::default(), NOW).await;
    let r = qr_validator::handle(
        &scan(Some(&token), "c"),
        &t.validator,
        &DownBus,
        QrPolicy::default(),
        NOW,
    )
    .await;
    assert_eq!(r.status_code, 500);
    assert_eq!(body(&r)["message"], "Publishing the event failed");
    let b = t
        .validator
        .get(QrPolicy::default().bucket_id(NOW))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.available_tokens, 10);
}

#[tokio::test]
async fn sample_events_are_answered() {
    let t = TestTables::start().await.unwrap();
    let bus = RecordingBus::default();
    for (file, status) in [("qr-get.json", 200), ("qr-post.json", 400)] {
        let raw =
            std::fs::read_to_string(local::workspace_root().join("events").join(file)).unwrap();
        let req: apigw::Request = serde_json::from_str(&raw).unwrap();
        let r = qr_validator::handle(&req, &t.validator, &bus, QrPolicy::default(), NOW).await;
        assert_eq!(r.status_code, status, "{file}");
    }
}

/// The validator table, counting the scans that reach it.
struct CountingBuckets<'a> {
    table: &'a adapters::ValidatorTable,
    consumes: AtomicUsize,
}

impl QrBuckets for CountingBuckets<'_> {
    async fn get(&self, bucket_id: i64) -> Result<Option<Bucket>, AppError> {
        self.table.get(bucket_id).await
    }
    async fn create(&self, bucket: &Bucket) -> Result<Bucket, AppError> {
        self.table.create(bucket).await
    }
    async fn consume(&self, bucket_id: i64, code: &str) -> Result<Consume, AppError> {
        self.consumes.fetch_add(1, Ordering::SeqCst);
        self.table.consume(bucket_id, code).await
    }
    async fn release(&self, bucket_id: i64) -> Result<(), AppError> {
        self.table.release(bucket_id).await
    }
}

#[tokio::test]
async fn codes_that_cannot_exist_are_refused_before_the_table() {
    let t = TestTables::start().await.unwrap();
    let bus = RecordingBus::default();
    let p = QrPolicy::default();
    let token = code(&t, &bus, NOW).await;
    let buckets = CountingBuckets {
        table: &t.validator,
        consumes: AtomicUsize::new(0),
    };
    let long = format!("{token}{}", "a".repeat(1_100));
    let cases = [
        (long.as_str(), 400),
        ("ab cd", 400),
        ("ab/../cd", 400),
        ("abc\u{0}", 400),
        ("\"; DROP", 400),
        ("", 422),
    ];
    for (bad, status) in cases {
        let r = qr_validator::handle(&scan(Some(bad), "c"), &buckets, &bus, p, NOW).await;
        assert_eq!(r.status_code, status, "{bad:.40?}");
        assert!(body(&r)["message"].is_string(), "{bad:.40?}");
    }
    assert_eq!(
        buckets.consumes.load(Ordering::SeqCst),
        0,
        "no scan reached the table"
    );
    let b = t.validator.get(p.bucket_id(NOW)).await.unwrap().unwrap();
    assert_eq!(b.available_tokens, 10, "no use taken");
    assert!(bus.events().is_empty());
    // The real code still goes through the same wrapper.
    let r = qr_validator::handle(&scan(Some(&token), "c"), &buckets, &bus, p, NOW).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(buckets.consumes.load(Ordering::SeqCst), 1);
}
