//! The config service against a real DynamoDB engine (embedded dynoxide, in memory).

use adapters::memory::RecordingBus;
use apigw::testing::{claims, request};
use aws_lambda_events::encodings::Body;
use config::{Invocation, handle_api, handle_stream};
use domain::ports::ConfigReader;
use local::testing::TestTables;
use serde_json::{Value, json};

fn body(r: &apigw::Response) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

fn get(resource: &str, who: Option<Value>) -> apigw::Request {
    request("GET", resource, resource, &[], &[], who, None)
}

fn put_store(state: Option<&str>, who: Option<Value>) -> apigw::Request {
    let q: Vec<(&str, &str)> = state.map(|s| vec![("state", s)]).unwrap_or_default();
    request("PUT", "/store", "/store", &[], &q, who, None)
}

#[tokio::test]
async fn public_config_lists_every_row_with_its_topic() {
    let t = TestTables::start().await.unwrap();
    let r = handle_api(&get("/config", None), &t.config).await;
    assert_eq!(r.status_code, 200);
    let rows = body(&r);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // The original order app reads the menu as data[0].value.
    assert_eq!(rows[0]["topic"], "menu");
    assert_eq!(rows[0]["value"][0]["drink"], "Espresso");
    let config = rows.iter().find(|r| r["topic"] == "config").unwrap();
    assert_eq!(config["PK"], "config");
    assert_eq!(config["storeOpen"], true);
    assert_eq!(config["maxOrdersInQueue"], 10);
    let menu = rows.iter().find(|r| r["topic"] == "menu").unwrap();
    assert_eq!(menu["value"][0]["drink"], "Espresso");
    assert!(
        menu["value"][2]["modifiers"][0]["Options"]
            .as_array()
            .unwrap()
            .contains(&json!("Oat"))
    );
}

#[tokio::test]
async fn admin_config_needs_an_identity_but_not_admin() {
    let t = TestTables::start().await.unwrap();
    assert_eq!(
        handle_api(&get("/admin-config", None), &t.config)
            .await
            .status_code,
        401
    );
    let r = handle_api(&get("/admin-config", Some(claims("c1", &[]))), &t.config).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(body(&r).as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn only_admins_open_and_close_the_store() {
    let t = TestTables::start().await.unwrap();
    let admin = || Some(claims("b1", &["admin"]));

    let r = handle_api(
        &put_store(Some("closed"), Some(claims("c1", &[]))),
        &t.config,
    )
    .await;
    assert_eq!(r.status_code, 403);
    assert!(body(&r)["message"].as_str().unwrap().contains("admin"));
    assert!(
        t.config.shop().await.unwrap().store_open,
        "a refused request changed nothing"
    );

    let r = handle_api(&put_store(Some("closed"), admin()), &t.config).await;
    assert_eq!((r.status_code, body(&r)), (200, json!({"state": "closed"})));
    assert!(!t.config.shop().await.unwrap().store_open);

    let r = handle_api(&put_store(Some("open"), admin()), &t.config).await;
    assert_eq!((r.status_code, body(&r)), (200, json!({"state": "open"})));
    assert!(t.config.shop().await.unwrap().store_open);

    for bad in [Some("OPEN"), Some("maybe"), None] {
        let r = handle_api(&put_store(bad, admin()), &t.config).await;
        assert_eq!(r.status_code, 400, "{bad:?}");
        assert!(
            body(&r)["message"]
                .as_str()
                .unwrap()
                .contains("'open' or 'closed'")
        );
    }
    assert_eq!(
        handle_api(&put_store(Some("open"), None), &t.config)
            .await
            .status_code,
        401
    );
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let t = TestTables::start().await.unwrap();
    let r = handle_api(&get("/nope", None), &t.config).await;
    assert_eq!(r.status_code, 404);
    assert_eq!(body(&r)["message"], "No route for GET /nope");
}

/// The sample stream event in events/ is what the table stream delivers; each changed row
/// becomes one ConfigChanged event carrying the DynamoDB-typed new image.
#[tokio::test]
async fn stream_changes_become_config_changed_events() {
    let raw =
        std::fs::read_to_string(local::workspace_root().join("events/config-stream.json")).unwrap();
    let Invocation::Stream(event) =
        Invocation::classify(serde_json::from_str(&raw).unwrap()).unwrap()
    else {
        panic!("not classified as a stream event")
    };
    let bus = RecordingBus::default();
    let response = handle_stream(event, &bus).await;
    assert!(response.batch_item_failures.is_empty());
    let events = bus.of_type("ConfigService.ConfigChanged");
    // The sample has a change, an unchanged rewrite, and a removal: only the change is news.
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].detail["NewImage"]["storeOpen"],
        json!({"BOOL": false})
    );
    assert_eq!(events[0].detail["NewImage"]["PK"], json!({"S": "config"}));
}

#[tokio::test]
async fn api_events_from_events_dir_are_classified_and_answered() {
    let t = TestTables::start().await.unwrap();
    let raw =
        std::fs::read_to_string(local::workspace_root().join("events/config-get.json")).unwrap();
    let Invocation::Api(req) = Invocation::classify(serde_json::from_str(&raw).unwrap()).unwrap()
    else {
        panic!("not classified as an API event")
    };
    assert_eq!(handle_api(&req, &t.config).await.status_code, 200);
    assert!(Invocation::classify(json!({"Records": "nope"})).is_err());
}
