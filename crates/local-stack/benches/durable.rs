//! The local stack with durable state: `cargo bench -p local-stack --bench durable`.
//!
//! 1. Fills a data directory with `ORDERS` direct orders (default 10,000), posted in batches
//!    through the gateway and each run to a finished order (waits scaled by 0.0001), and
//!    prints orders/s, the bytes the data directory grew by per order (by part: executions,
//!    DynamoDB file, queues and outboxes) and the peak RSS as the orders accumulate.
//! 2. Counts, from the workflow history of the last order, what it used (state transitions,
//!    Lambda invocations, EventBridge events, SNS and SQS requests), adds the entry path (the
//!    API's SQS SendMessage and the poller's invocation), and prices it at AWS list prices.
//! 3. Starts `coffee-local up` on that directory three times and prints the time from exec to
//!    the first 200 from `GET /config` (the README's start-up figure).

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use local_stack::{Stack, StackOptions, auth_key};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const BATCH: usize = 250;

async fn post_order(app: &Router, token: &str) -> String {
    let body = json!({"name": "Latte", "restaurantId": "r1", "quantity": 1}).to_string();
    let req = Request::builder()
        .method("POST")
        .uri("/orders")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body))
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status().as_u16(), 200);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    v["SendMessageResponse"]["SendMessageResult"]["MessageId"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits for the execution of every message id to succeed.
async fn wait_finished(stack: &Stack, ids: &[String]) {
    let prefix = stack
        .hub
        .state_machine_arn
        .replacen(":stateMachine:", ":execution:", 1);
    for id in ids {
        let arn = format!("{prefix}:{id}");
        while stack.hub.engine.describe_execution(&arn).is_err() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let d = stack
            .hub
            .engine
            .wait_for_execution(&arn)
            .await
            .expect("execution");
        assert_eq!(d.status, asl::ExecutionStatus::Succeeded, "{:?}", d.cause);
    }
}

/// Bytes under `path` (files only).
fn du(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| du(&e.path())).sum())
        .unwrap_or(0)
}

/// A line of /proc/self/status, in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn fill(dir: &Path, orders: usize) {
    let keys = dir.join("keys");
    let stack = Stack::start(StackOptions {
        data_dir: Some(dir.to_path_buf()),
        time_scale: 0.0001,
        ..Default::default()
    })
    .await
    .expect("stack");
    let auth = auth_key(&keys).expect("key");
    let app = support::unthrottled_app(&stack, &auth);
    let token = auth
        .mint("alice", &[], Duration::from_secs(86_400))
        .expect("token");
    let before = du(dir);
    let started = Instant::now();
    let mut done = 0;
    let mut last = String::new();
    while done < orders {
        let n = BATCH.min(orders - done);
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(post_order(&app, &token).await);
        }
        wait_finished(&stack, &ids).await;
        last = ids.pop().unwrap_or_default();
        done += n;
        if done % 2_000 == 0 || done == orders {
            println!(
                "  {done:>6} orders finished, {:>6.1} s, peak RSS {:>7} kB, RSS {:>7} kB",
                started.elapsed().as_secs_f64(),
                status_kb("VmHWM:"),
                status_kb("VmRSS:")
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let prefix = stack
        .hub
        .state_machine_arn
        .replacen(":stateMachine:", ":execution:", 1);
    cost_of_one_order(&stack, &format!("{prefix}:{last}"));
    stack.stop().await;
    let grown = du(dir).saturating_sub(before);
    println!(
        "{orders} direct orders in batches of {BATCH}, durable state: {secs:.1} s = {:.0} orders/s",
        orders as f64 / secs
    );
    println!(
        "data directory grew {:.1} MB = {:.0} bytes per order",
        grown as f64 / 1e6,
        grown as f64 / orders as f64
    );
    let mut parts: Vec<_> = std::fs::read_dir(dir)
        .expect("data dir")
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), du(&e.path())))
        .collect();
    parts.sort();
    for (name, bytes) in parts {
        println!(
            "  {name:<28} {:>10} bytes  {:>7.0} per order",
            bytes,
            bytes as f64 / orders as f64
        );
    }
}

// AWS list prices, us-east-1, as published in 2025 (on-demand, no free tier).
/// Step Functions Standard, per state transition ($0.025 per 1,000).
const SFN_PER_TRANSITION: f64 = 0.025 / 1e3;
/// Lambda, per request ($0.20 per million; duration not included: not measured here).
const LAMBDA_PER_REQUEST: f64 = 0.20 / 1e6;
/// EventBridge custom events, per event ($1.00 per million).
const EVENTBRIDGE_PER_EVENT: f64 = 1.00 / 1e6;
/// SQS standard queue, per request ($0.40 per million).
const SQS_PER_REQUEST: f64 = 0.40 / 1e6;
/// SNS, per publish ($0.50 per million requests).
const SNS_PER_PUBLISH: f64 = 0.50 / 1e6;

/// Per-order counts from one finished execution's history, plus the entry path of a direct
/// order (`POST /orders` is an SQS SendMessage; the poller is one Lambda invocation).
fn cost_of_one_order(stack: &Stack, arn: &str) {
    let history = stack
        .hub
        .engine
        .get_execution_history(arn)
        .expect("history");
    let transitions = history
        .iter()
        .filter(|e| e.event_type.to_string().ends_with("StateEntered"))
        .count();
    let scheduled = |what: &str| {
        history
            .iter()
            .filter(|e| e.event_type == asl::EventType::TaskScheduled)
            .filter(|e| {
                e.details["resource"]
                    .as_str()
                    .is_some_and(|r| r.contains(what))
            })
            .count()
    };
    let lambdas = scheduled(":lambda:invoke") + 1;
    let events = scheduled(":events:putEvents");
    let sqs = scheduled(":sqs:sendMessage") + 1;
    let sns = scheduled(":sns:publish");
    let items = [
        ("state transitions", transitions, SFN_PER_TRANSITION),
        ("Lambda invocations", lambdas, LAMBDA_PER_REQUEST),
        ("EventBridge events", events, EVENTBRIDGE_PER_EVENT),
        ("SQS requests", sqs, SQS_PER_REQUEST),
        ("SNS publishes", sns, SNS_PER_PUBLISH),
    ];
    let total: f64 = items.iter().map(|(_, n, p)| *n as f64 * p).sum();
    println!("cost of one direct order at AWS list prices (us-east-1, 2025):");
    for (what, n, price) in items {
        let cost = n as f64 * price;
        println!(
            "  {what:<20} {n:>3} x ${price:.7} = ${cost:.7}  ({:>4.1} %)",
            100.0 * cost / total
        );
    }
    println!(
        "  total ${total:.7} per order = ${:.2} per 1,000 orders",
        total * 1e3
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The status code of `GET /config`, or None while nothing answers.
fn get_config(port: u16) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /config HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Time from exec of `coffee-local up` to the first 200 from `GET /config`.
fn start_up(dir: &Path) -> Duration {
    let port = free_port();
    let args = [
        "--data-dir".to_owned(),
        dir.display().to_string(),
        "up".to_owned(),
        "--port".to_owned(),
        port.to_string(),
        "--mqtt-port".to_owned(),
        free_port().to_string(),
        "--mqtt-ws-port".to_owned(),
        free_port().to_string(),
    ];
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coffee-local"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("coffee-local");
    let ready = loop {
        if get_config(port) == Some(200) {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no answer in 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = child.kill();
    let _ = child.wait();
    ready
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let orders: usize = std::env::var("ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("coffee-durable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");
    println!(
        "local stack, durable state ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    fill(&dir, orders).await;
    for _ in 0..3 {
        println!(
            "coffee-local up with {orders} finished orders: API answering after {:.0} ms",
            start_up(&dir).as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
