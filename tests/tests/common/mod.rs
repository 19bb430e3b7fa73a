//! The one harness every end-to-end test uses: the local stack in process (the embedded
//! DynamoDB, the workflow engine, the bus and its rules, the queue, every function, the gateway
//! built from template.yaml), driven over its router as a frontend or curl would.

#![allow(dead_code)] // each test file uses its own subset

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use local_stack::{Stack, StackOptions, auth_key};
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;

pub struct Local {
    pub stack: Stack,
    pub app: Router,
    pub customer: String,
    pub other: String,
    pub barista: String,
    /// A store's system allowed store01 (client-credentials token).
    pub till: String,
}

/// The stack with time 100x faster.
pub async fn start(data_dir: Option<std::path::PathBuf>) -> Local {
    start_scaled(data_dir, 0.01).await
}

/// The stack with every wait multiplied by `time_scale`.
pub async fn start_scaled(data_dir: Option<std::path::PathBuf>, time_scale: f64) -> Local {
    let keys = tempfile::tempdir().unwrap();
    let stack = Stack::start(StackOptions {
        data_dir,
        time_scale,
        ..Default::default()
    })
    .await
    .unwrap();
    let auth = auth_key(keys.path()).unwrap();
    let app = local_stack::web::app(&stack, &auth).unwrap();
    let day = Duration::from_secs(86_400);
    Local {
        customer: auth.mint("alice", &[], day).unwrap(),
        other: auth.mint("mallory", &[], day).unwrap(),
        barista: auth.mint("bob", &["admin"], day).unwrap(),
        till: auth
            .sign(&auth.client_claims(
                "till-1",
                &[
                    "orders-api/stores".into(),
                    "orders-api/store.store01".into(),
                ],
                day,
            ))
            .unwrap(),
        stack,
        app,
    }
}

impl Local {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text, _) = self
            .call_text(method, path, token, body.map(|b| b.to_string()))
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The answer as it came: status, the body's exact text, and the headers.
    pub async fn call_text(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, String, axum::http::HeaderMap) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(body.map_or(Body::empty(), Body::from)).unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            headers,
        )
    }

    /// Polls `check` until it gives a value (10 s at most: the workflow runs asynchronously).
    pub async fn eventually<T>(&self, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
        for _ in 0..400 {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}")
    }

    pub async fn execution(&self, order_id: &str) -> Value {
        self.call(
            "GET",
            &format!("/local/orders/{order_id}/execution"),
            None,
            None,
        )
        .await
        .1
    }

    pub async fn finished(&self, order_id: &str) -> Value {
        self.eventually("the workflow to finish", async || {
            let e = self.execution(order_id).await;
            (e["status"].is_string() && e["status"] != "RUNNING").then_some(e)
        })
        .await
    }

    /// Posts a direct (ORDER_APP) order as alice; the answer must be SQS's `SendMessageResponse`.
    /// Returns its MessageId, the order id.
    pub async fn post_direct(&self, body: Value) -> String {
        let (s, r) = self
            .call("POST", "/orders", Some(&self.customer), Some(body))
            .await;
        assert_eq!(s, 200, "{r}");
        let result = &r["SendMessageResponse"]["SendMessageResult"];
        assert!(result["MD5OfMessageBody"].is_string(), "{r}");
        result["MessageId"].as_str().unwrap().to_owned()
    }

    /// Alice's order row as `GET /myOrders` shows it.
    pub async fn my_order(&self, order_id: &str) -> Value {
        self.call("GET", "/myOrders", Some(&self.customer), None)
            .await
            .1["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["SK"] == order_id)
            .cloned()
            .unwrap()
    }

    pub async fn order(&self, order_id: &str) -> Value {
        self.call(
            "GET",
            &format!("/orders/{order_id}"),
            Some(&self.barista),
            None,
        )
        .await
        .1["result"]
            .clone()
    }
}

/// Scans a fresh QR code as alice; the new order's id.
pub async fn scan(l: &Local) -> String {
    scan_as(l, &l.customer).await
}

/// Scans a fresh QR code as the customer of `customer` (a token); the new order's id.
pub async fn scan_as(l: &Local, customer: &str) -> String {
    let (s, code) = l.call("GET", "/qr-code", Some(&l.barista), None).await;
    assert_eq!(s, 200, "{code}");
    let token = code["bucket"]["last_code"].as_str().unwrap().to_owned();
    let (s, scan) = l
        .call(
            "POST",
            &format!("/qr-code?token={token}"),
            Some(customer),
            None,
        )
        .await;
    assert_eq!(s, 200, "{scan}");
    scan["orderId"].as_str().unwrap().to_owned()
}

/// Chooses alice's drink as soon as the workflow waits for it.
pub async fn choose_drink(l: &Local, id: &str) {
    choose_drink_as(l, &l.customer, id).await;
}

/// Chooses the drink of `customer`'s order as soon as the workflow waits for it.
pub async fn choose_drink_as(l: &Local, customer: &str, id: &str) {
    let drink = json!({"drink": "Latte", "modifiers": ["Oat"]});
    l.eventually("the workflow to wait for the drink", async || {
        let (s, _) = l
            .call(
                "PUT",
                &format!("/orders/{id}"),
                Some(customer),
                Some(drink.clone()),
            )
            .await;
        (s == 200).then_some(())
    })
    .await;
}

/// Waits until the order is in the barista queue (numbered, after the grace period).
pub async fn at_barista(l: &Local, id: &str) -> Value {
    l.eventually("the order in the barista queue", async || {
        let (_, q) = l
            .call("GET", "/orders?state=CREATED", Some(&l.barista), None)
            .await;
        q["result"]
            .as_array()?
            .iter()
            .find(|o| o["SK"] == id && o["orderNumber"].is_u64())
            .cloned()
    })
    .await
}
