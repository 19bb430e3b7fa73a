//! Crash recovery of the whole local stack, as a process: orders are posted from several
//! clients, `coffee-local` is killed with SIGKILL mid-run and started again on the same data
//! directory. Every accepted order must end terminal, with one notification, no order number
//! given twice, and no charge without a completion. A corrupted checkpoint is set aside without
//! stopping the start; a data directory that cannot be used fails the start with a message.

use axum::body::{Body, Bytes};
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const ORDERS_PER_CLIENT: usize = 14;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// An HTTP client of one running stack.
#[derive(Clone)]
struct Api {
    base: String,
    http: Client<HttpConnector, Body>,
}

impl Api {
    /// The status and JSON body (status 0 when the request did not get through).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
            .unwrap();
        let Ok(res) = self.http.request(req).await else {
            return (0, Value::Null);
        };
        let status = res.status().as_u16();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_else(|_| Bytes::new());
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// `coffee-local up` as a child process; killed when dropped.
struct Local {
    child: Child,
    api: Api,
}

impl Local {
    /// Starts `coffee-local up` on `dir` and waits until its API answers.
    async fn start(dir: &Path) -> Local {
        let port = free_port();
        let log = std::fs::File::create(dir.with_extension("log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_coffee-local"))
            .arg("--data-dir")
            .arg(dir)
            .args(["up", "--unthrottled", "--time-scale", "0.01"])
            .args(["--port", &port.to_string()])
            .args(["--mqtt-port", &free_port().to_string()])
            .args(["--mqtt-ws-port", &free_port().to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let local = Local {
            child,
            api: Api {
                base: format!("http://127.0.0.1:{port}"),
                http: Client::builder(TokioExecutor::new()).build_http(),
            },
        };
        let started = Instant::now();
        while local
            .api
            .call(Method::GET, "/openapi.json", None, None)
            .await
            .0
            != 200
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the stack did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        local
    }

    /// SIGKILL: no shutdown of any kind.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts `count` direct orders from each of several clients at once; the accepted order ids
/// (the answers that said 200).
async fn post_orders(api: &Api, token: &str, count: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (api, token) = (api.clone(), token.to_owned());
        tasks.spawn(async move {
            let mut accepted = Vec::new();
            for i in 0..count {
                let body = json!({"name": "Latte", "restaurantId": format!("c{client}"), "quantity": 1 + i % 3});
                let (status, r) = api
                    .call(Method::POST, "/orders", Some(&token), Some(body))
                    .await;
                if status == 200 {
                    let id = &r["SendMessageResponse"]["SendMessageResult"]["MessageId"];
                    accepted.push(id.as_str().unwrap_or_default().to_owned());
                }
            }
            accepted
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    all
}

/// Polls until every order in `ids` has left `CREATED`; their receipts.
async fn finished(api: &Api, admin: &str, ids: &[String]) -> HashMap<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut rows: HashMap<String, Value> = HashMap::new();
    while rows.len() < ids.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} orders finished",
            rows.len(),
            ids.len()
        );
        let waiting: Vec<&String> = ids.iter().filter(|id| !rows.contains_key(*id)).collect();
        for id in waiting {
            let (status, r) = api
                .call(Method::GET, &format!("/orders/{id}"), Some(admin), None)
                .await;
            if status == 200 && r["result"]["orderState"] != "CREATED" {
                rows.insert(id.clone(), r["result"].clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_stack_finishes_every_accepted_order_once_after_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let key = local_stack::auth_key(&dir).unwrap();
    let day = Duration::from_secs(86_400);
    let alice = key.mint("alice", &[], day).unwrap();
    let bob = key.mint("bob", &["admin"], day).unwrap();

    let first = Local::start(&dir).await;
    let mut accepted = post_orders(&first.api, &alice, ORDERS_PER_CLIENT / 2).await;
    // Killed while those orders' workflows run (grace periods, payments, deliveries).
    first.kill();
    let second = Local::start(&dir).await;
    let more = ORDERS_PER_CLIENT - ORDERS_PER_CLIENT / 2;
    accepted.extend(post_orders(&second.api, &alice, more).await);
    assert_eq!(
        accepted.len(),
        CLIENTS * ORDERS_PER_CLIENT,
        "every order accepted"
    );

    let rows = finished(&second.api, &bob, &accepted).await;
    // A moment for late duplicates (a second notification, a second charge) to show.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (_, notes) = second
        .api
        .call(
            Method::GET,
            "/local/notifications?offset=0&limit=1000",
            None,
            None,
        )
        .await;
    let mut per_order: HashMap<&str, usize> = HashMap::new();
    for n in notes.as_array().unwrap() {
        let id = n["MessageAttributes"]["orderId"]["StringValue"]
            .as_str()
            .unwrap_or_default();
        *per_order.entry(id).or_default() += 1;
    }
    for id in &accepted {
        assert_eq!(
            per_order.get(id.as_str()),
            Some(&1),
            "notifications of {id}"
        );
    }

    let mut numbers = HashSet::new();
    for row in rows.values() {
        if let Some(n) = row["orderNumber"].as_u64() {
            assert!(numbers.insert(n), "order number {n} given twice");
        }
    }

    let (_, mine) = second
        .api
        .call(Method::GET, "/myOrders", Some(&alice), None)
        .await;
    let mine = mine["result"].as_array().unwrap();
    assert_eq!(mine.len(), accepted.len());
    for order in mine {
        let paid = order["payment"].is_object() && order["payment"]["refunded"] != true;
        assert!(
            !paid || order["ORDERSTATE"] == "COMPLETED",
            "charged and not completed: {order}"
        );
    }
    second.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupted_checkpoint_is_set_aside_and_the_stack_starts() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    Local::start(&dir).await.kill();
    let executions = dir.join("executions");
    std::fs::create_dir_all(&executions).unwrap();
    std::fs::write(
        executions.join("garbage.json"),
        b"{ this is not a checkpoint",
    )
    .unwrap();

    let second = Local::start(&dir).await;
    let (status, _) = second.api.call(Method::GET, "/config", None, None).await;
    assert_eq!(status, 200);
    let set_aside = walk(&executions)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("corrupt"))
        .count();
    assert_eq!(
        set_aside,
        1,
        "kept aside for a person to read: {:?}",
        walk(&executions)
    );
    second.kill();
}

#[test]
fn an_unusable_data_directory_fails_the_start_with_a_message() {
    let root = tempfile::tempdir().unwrap();
    let not_a_dir = root.path().join("data");
    std::fs::write(&not_a_dir, b"a file where the data directory should be").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_coffee-local"))
        .arg("--data-dir")
        .arg(&not_a_dir)
        .args(["up", "--port", &free_port().to_string()])
        .args(["--mqtt-port", &free_port().to_string()])
        .args(["--mqtt-ws-port", &free_port().to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("coffee-local:"), "{stderr}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
