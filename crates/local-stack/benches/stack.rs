//! Measures the local stack: `cargo bench -p local-stack`. The README quotes its output.
//!
//! 1. API latency through the gateway (auth, validation, routing) into the real handlers on
//!    the embedded DynamoDB, one request at a time;
//! 2. the order pipeline end to end: direct orders posted concurrently, each through the
//!    queue, the poller, the workflow (all its tasks) and back to a finished order, with the
//!    workflow's waits scaled to nothing so what is measured is the machinery;
//! 3. the QR race: 50 concurrent scans of a 10-use code.
//!
//! Everything runs in this process on loopback; numbers depend on the machine (the README
//! says which).

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use local_stack::{Stack, StackOptions, auth_key};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "{name:<44} n={:<5} p50={:>7.2} ms  p99={:>7.2} ms  mean={:>7.2} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / samples.len() as f64
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let keys = tempfile_dir();
    // Waits scaled to ~nothing: the 30 s grace period becomes 3 ms.
    let stack = Stack::start(StackOptions {
        time_scale: 0.0001,
        ..Default::default()
    })
    .await
    .expect("stack");
    let auth = auth_key(&keys).expect("key");
    // Phase 4 measures the template's throttle separately.
    let app = support::unthrottled_app(&stack, &auth);
    let day = Duration::from_secs(86_400);
    let alice = auth.mint("alice", &[], day).expect("token");
    let bob = auth.mint("bob", &["admin"], day).expect("token");
    println!(
        "local stack benchmark ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 1. API latency, sequential.
    for (name, method, path, token) in [
        ("GET /config (public, scan)", "GET", "/config", &alice),
        (
            "GET /myOrders (auth, GSI query)",
            "GET",
            "/myOrders",
            &alice,
        ),
        (
            "GET /qr-code (admin, get-or-create)",
            "GET",
            "/qr-code",
            &bob,
        ),
        (
            "PUT /store?state=open (admin, update)",
            "PUT",
            "/store?state=open",
            &bob,
        ),
    ] {
        for _ in 0..50 {
            call(&app, method, path, token, None).await; // warm-up
        }
        let mut samples = Vec::new();
        for _ in 0..1000 {
            let t = Instant::now();
            let (s, _) = call(&app, method, path, token, None).await;
            samples.push(t.elapsed());
            assert_eq!(s, 200, "{name}");
        }
        report(name, samples);
    }
    let order = json!({"name": "Latte", "restaurantId": "r1", "quantity": 1});
    let mut samples = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let (s, _) = call(&app, "POST", "/orders", &alice, Some(order.clone())).await;
        samples.push(t.elapsed());
        assert_eq!(s, 200);
    }
    report("POST /orders (validate, enqueue durably)", samples);
    wait_idle(&stack).await;

    // 2. The pipeline: N direct orders at once, each to a finished order.
    for n in [50usize, 200] {
        let started = Instant::now();
        let mut ids = Vec::new();
        for _ in 0..n {
            let (_, r) = call(&app, "POST", "/orders", &alice, Some(order.clone())).await;
            ids.push(
                r["SendMessageResponse"]["SendMessageResult"]["MessageId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        let mut latencies = Vec::new();
        for id in &ids {
            let arn = format!(
                "{}:{id}",
                stack
                    .hub
                    .state_machine_arn
                    .replacen(":stateMachine:", ":execution:", 1)
            );
            // Queued orders start when the poller gets to them.
            while stack.hub.engine.describe_execution(&arn).is_err() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let done = stack.hub.engine.wait_for_execution(&arn).await;
            let d = done.expect("execution");
            assert_eq!(
                format!("{:?}", d.status),
                "Succeeded",
                "{:?} {:?}",
                d.error,
                d.cause
            );
            let stop = d.stop_date.unwrap_or(d.start_date);
            latencies.push(Duration::from_millis(
                u64::try_from((stop - d.start_date).num_milliseconds()).unwrap_or(0),
            ));
        }
        let elapsed = started.elapsed();
        println!(
            "pipeline: {n} direct orders posted at once, all finished in {:.2} s = {:.0} orders/s",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64()
        );
        report("  workflow execution time per order", latencies);
    }

    // 3. The QR race.
    let (_, code) = call(&app, "GET", "/qr-code", &bob, None).await;
    let token = code["bucket"]["last_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let available = code["bucket"]["availableTokens"].as_i64().unwrap_or(0);
    let t = Instant::now();
    let scans: Vec<_> = (0..50)
        .map(|i| {
            let (app, token) = (app.clone(), token.clone());
            let who = auth.mint(&format!("c{i}"), &[], day).expect("token");
            tokio::spawn(async move {
                call(&app, "POST", &format!("/qr-code?token={token}"), &who, None).await
            })
        })
        .collect();
    let mut orders = 0;
    for s in scans {
        if let Ok((200, b)) = s.await
            && b["orderId"].is_string()
        {
            orders += 1;
        }
    }
    println!(
        "QR race: 50 concurrent scans of a code with {available} uses left -> {orders} orders in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    // 4. The template's stage throttle: 300 requests as fast as possible, on a route without
    // its own limit (GET /config has a lower one of its own).
    let throttled = local_stack::web::app(&stack, &auth).expect("app");
    let t = Instant::now();
    let mut codes = std::collections::BTreeMap::new();
    for _ in 0..300 {
        let (s, _) = call(&throttled, "GET", "/myOrders", &alice, None).await;
        *codes.entry(s).or_insert(0) += 1;
    }
    println!(
        "throttle (template: 50 req/s, burst 100): 300 requests in {:.0} ms -> {codes:?} (status: count)",
        t.elapsed().as_secs_f64() * 1e3
    );
    stack.stop().await;
}

/// Waits until the queue is drained and no workflow runs (so phases do not overlap).
async fn wait_idle(stack: &Stack) {
    for _ in 0..2000 {
        let depth = stack.hub.queues.depth("OrderQueue").await.unwrap_or(0);
        let running = stack
            .hub
            .engine
            .list_executions(
                &stack.hub.state_machine_arn,
                Some(asl::ExecutionStatus::Running),
            )
            .map(|v| v.len())
            .unwrap_or(0);
        if depth == 0 && running == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("coffee-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}
