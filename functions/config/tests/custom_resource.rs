//! The `ConfigSeed` custom resource against the embedded DynamoDB, answered through the real
//! HTTP client to a loopback server that stands in for CloudFormation's pre-signed S3 URL.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::put;
use config::Invocation;
use config::custom_resource::{PHYSICAL_ID, handle_custom_resource};
use config::https::HttpsSink;
use domain::ports::{ConfigReader, ShopSwitch};
use local::testing::TestTables;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What the stand-in response URL received: one (content-type, JSON body) per PUT.
type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn record(State(got): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    got.lock().unwrap().push((content_type, body));
    StatusCode::OK
}

/// Starts the stand-in on 127.0.0.1 and a free port; returns its URL and what it receives.
async fn response_url() -> (String, Received) {
    let got = Received::default();
    let app = Router::new()
        .route("/cfn-response", put(record))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://{addr}/cfn-response?X-Amz-Signature=abc"),
        got,
    )
}

fn event(kind: &str, url: &str) -> Value {
    let mut e = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:config",
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/coffee/guid",
        "RequestId": format!("req-{kind}"),
        "LogicalResourceId": "ConfigSeed",
        "ResourceType": "Custom::ConfigSeed",
        "ResourceProperties": { "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:config" }
    });
    if kind != "Create" {
        e["PhysicalResourceId"] = json!(PHYSICAL_ID);
    }
    if kind == "Update" {
        e["OldResourceProperties"] = json!({});
    }
    e
}

/// Runs one event through the handler and returns the single answer it PUT.
async fn answer(t: &TestTables, event: Value, got: &Received) -> Value {
    let sink = HttpsSink::new().unwrap();
    let before = got.lock().unwrap().len();
    handle_custom_resource(event, &t.config, &sink)
        .await
        .unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), before + 1, "exactly one answer per event");
    assert_eq!(
        got[before].0, None,
        "no Content-Type: the URL is signed without one"
    );
    got[before].1.clone()
}

async fn empty_config_table() -> TestTables {
    let t = TestTables::start().await.unwrap();
    // TestTables seeds like the local stack; start from what a fresh deployment has: nothing.
    let client = t.dynamo.client();
    for pk in ["config", "menu"] {
        client
            .delete_item()
            .table_name("ConfigTable")
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
            .send()
            .await
            .unwrap();
    }
    assert!(t.config.items().await.unwrap().is_empty());
    t
}

#[tokio::test]
async fn the_custom_resource_event_is_told_apart_from_api_and_stream_events() {
    let e = event("Create", "https://example.com/x");
    assert!(matches!(
        Invocation::classify(e).unwrap(),
        Invocation::CustomResource(_)
    ));
    assert!(matches!(
        Invocation::classify(json!({ "Records": [] })).unwrap(),
        Invocation::Stream(_)
    ));
}

#[tokio::test]
async fn create_seeds_the_shop_and_the_menu_and_answers_success() {
    let t = empty_config_table().await;
    let (url, got) = response_url().await;
    let a = answer(&t, event("Create", &url), &got).await;
    assert_eq!(a["Status"], "SUCCESS");
    assert_eq!(a["PhysicalResourceId"], PHYSICAL_ID);
    assert_eq!(a["RequestId"], "req-Create");
    assert_eq!(a["LogicalResourceId"], "ConfigSeed");
    assert_eq!(
        a["StackId"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/coffee/guid"
    );
    assert_eq!(a["Data"]["RowsWritten"], "2");
    assert!(t.config.shop().await.unwrap().store_open);
    assert!(
        t.config
            .menu()
            .await
            .unwrap()
            .iter()
            .any(|d| d.drink == "Latte")
    );
}

#[tokio::test]
async fn update_keeps_what_an_admin_changed_and_restores_a_missing_row() {
    let t = empty_config_table().await;
    let (url, got) = response_url().await;
    answer(&t, event("Create", &url), &got).await;
    t.config.set_store_open(false).await.unwrap();
    t.dynamo
        .client()
        .delete_item()
        .table_name("ConfigTable")
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S("menu".into()),
        )
        .send()
        .await
        .unwrap();

    let a = answer(&t, event("Update", &url), &got).await;
    assert_eq!(a["Status"], "SUCCESS");
    assert_eq!(
        a["PhysicalResourceId"], PHYSICAL_ID,
        "same id: no replacement"
    );
    assert_eq!(a["Data"]["RowsWritten"], "1");
    assert!(
        !t.config.shop().await.unwrap().store_open,
        "the admin's closed shop stays closed"
    );
    assert!(!t.config.menu().await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_leaves_the_rows_alone_and_answers_success() {
    let t = empty_config_table().await;
    let (url, got) = response_url().await;
    answer(&t, event("Create", &url), &got).await;
    let a = answer(&t, event("Delete", &url), &got).await;
    assert_eq!(a["Status"], "SUCCESS");
    assert_eq!(a["Data"]["RowsWritten"], "0");
    assert_eq!(t.config.items().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_missing_table_is_answered_failed_with_a_reason() {
    let t = TestTables::start().await.unwrap();
    let missing = adapters::ConfigTable::new(t.dynamo.client(), "NoSuchTable");
    let (url, got) = response_url().await;
    let sink = HttpsSink::new().unwrap();
    handle_custom_resource(event("Create", &url), &missing, &sink)
        .await
        .unwrap();
    let a = got.lock().unwrap()[0].1.clone();
    assert_eq!(a["Status"], "FAILED");
    assert!(
        a["Reason"]
            .as_str()
            .unwrap()
            .contains("Seeding the configuration failed"),
        "{a}"
    );
    assert_eq!(a["PhysicalResourceId"], PHYSICAL_ID);
}

#[tokio::test]
async fn a_malformed_event_is_still_answered_failed() {
    let t = TestTables::start().await.unwrap();
    let (url, got) = response_url().await;
    let mut e = event("Create", &url);
    e["RequestType"] = json!("Rename");
    let a = answer(&t, e, &got).await;
    assert_eq!(a["Status"], "FAILED");
    assert!(a["Reason"].as_str().unwrap().contains("Malformed"), "{a}");
    assert_eq!(
        a["RequestId"], "req-Create",
        "identifies the request it answers"
    );
}

#[tokio::test]
async fn an_answer_the_url_refuses_fails_the_invocation_so_lambda_retries() {
    let t = TestTables::start().await.unwrap();
    let (url, _got) = response_url().await;
    let wrong_path = url.replace("/cfn-response", "/elsewhere");
    let sink = HttpsSink::new().unwrap();
    let err = handle_custom_resource(event("Create", &wrong_path), &t.config, &sink)
        .await
        .unwrap_err();
    assert!(err.message().contains("404"), "{err}");
}

/// `events/config-seed-create.json` is what CloudFormation sends for `ConfigSeed` on the first
/// deploy (every property a string, `ServiceTimeout` included); only its pre-signed S3 URL is
/// swapped for the loopback stand-in. The answer names the request of the file.
#[tokio::test]
async fn the_sample_create_event_seeds_and_is_answered_for_its_request() {
    let raw = std::fs::read_to_string(
        local::workspace_root()
            .join("events")
            .join("config-seed-create.json"),
    )
    .unwrap();
    let mut e: Value = serde_json::from_str(&raw).unwrap();
    assert!(matches!(
        Invocation::classify(e.clone()).unwrap(),
        Invocation::CustomResource(_)
    ));
    let t = empty_config_table().await;
    let (url, got) = response_url().await;
    e["ResponseURL"] = json!(url);
    let a = answer(&t, e.clone(), &got).await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    for field in ["RequestId", "LogicalResourceId", "StackId"] {
        assert_eq!(a[field], e[field], "{field}");
    }
    assert_eq!(a["PhysicalResourceId"], PHYSICAL_ID);
    assert_eq!(t.config.items().await.unwrap().len(), 2);
    assert!(t.config.shop().await.unwrap().store_open);
}
