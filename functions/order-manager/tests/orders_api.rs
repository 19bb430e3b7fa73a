//! The orders API (seed 002) against a real DynamoDB engine (embedded dynoxide) with the
//! template's OrdersApiTable: the seed's exact bodies, the conditional create, the listing,
//! and who may act for whom. Requests are built as API Gateway delivers them, with the claims
//! of a customer's access token or of a store system's client-credentials token.

use adapters::memory::{RecordingBus, RecordingCallbacks};
use adapters::{ApiOrderTable, ConfigTable, OrderTable};
use apigw::testing::{claims, request};
use aws_lambda_events::encodings::Body;
use domain::orders_api::{STORE_SCOPE_PREFIX, STORES_SCOPE};
use local::testing::TestTables;
use order_manager::OrderManager;
use serde_json::{Value, json};
use std::sync::Arc;

type Manager =
    OrderManager<OrderTable, ConfigTable, RecordingBus, RecordingCallbacks, ApiOrderTable>;

const T0: i64 = 1_544_092_158_240;

struct Api {
    _t: TestTables,
    m: Manager,
}

impl Api {
    async fn start() -> Api {
        let t = TestTables::start().await.unwrap();
        let m = OrderManager {
            orders: t.orders.clone(),
            config: t.config.clone(),
            bus: RecordingBus::default(),
            callbacks: RecordingCallbacks::default(),
            api_orders: t.api_orders.clone(),
        };
        Api { _t: t, m }
    }

    /// Posts `body` to `route` as `who`; the HTTP status and the body's exact text.
    async fn post(&self, route: &str, who: Option<Value>, body: &str, now: i64) -> (i64, String) {
        let req = request("POST", route, route, &[], &[], who, Some(body));
        let r = self.m.handle(&req, now).await;
        match r.body {
            Some(Body::Text(t)) => (r.status_code, t),
            other => panic!("unexpected body {other:?}"),
        }
    }

    async fn new_order(
        &self,
        who: Value,
        store: &str,
        order: &str,
        user: &str,
        now: i64,
    ) -> (i64, String) {
        let body =
            json!({"store_id": store, "order_id": order, "user_id": user, "grand_total": 110.00});
        self.post("/new-order", Some(who), &body.to_string(), now)
            .await
    }

    async fn user_orders(&self, who: Value, store: &str, user: &str) -> (i64, Value) {
        let body = json!({"user_id": user, "store_id": store}).to_string();
        let (status, text) = self.post("/user-orders", Some(who), &body, T0).await;
        (status, serde_json::from_str(&text).unwrap())
    }
}

/// A customer's access token claims.
fn customer(sub: &str) -> Value {
    let mut c = claims(sub, &[]);
    c["scope"] = json!("aws.cognito.signin.user.admin");
    c
}

/// A store system's client-credentials token claims, granted `stores`.
fn till(client: &str, stores: &[&str]) -> Value {
    let scopes: Vec<String> = std::iter::once(STORES_SCOPE.to_owned())
        .chain(stores.iter().map(|s| format!("{STORE_SCOPE_PREFIX}{s}")))
        .collect();
    json!({"sub": client, "client_id": client, "token_use": "access", "scope": scopes.join(" ")})
}

fn order_ids(listing: &Value) -> Vec<&str> {
    listing["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_order_is_created_once_with_the_seeds_exact_answers() {
    // Given a store system allowed store01
    let api = Api::start().await;
    let pos = till("till-1", &["store01"]);
    // When it creates order01 twice, the second time with another user and total
    let first = api
        .new_order(pos.clone(), "store01", "order01", "user01", T0)
        .await;
    let again = api
        .post(
            "/new-order",
            Some(pos.clone()),
            r#"{"store_id":"store01","order_id":"order01","user_id":"user02","grand_total":5}"#,
            T0 + 1,
        )
        .await;
    // Then the first is 201 and the second 400, byte for byte as the seed says
    assert_eq!(
        first,
        (
            201,
            r#"{"statusCode":201,"body":{"message":"Order order01 submitted successfully"}}"#
                .to_owned()
        )
    );
    assert_eq!(
        again,
        (
            400,
            r#"{"statusCode":400,"error":"The conditional request failed"}"#.to_owned()
        )
    );
    // And the stored order is the first one, unchanged
    let (status, listed) = api.user_orders(pos.clone(), "store01", "user01").await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["orders"],
        json!([{"user_id": "user01", "grand_total": 110, "order_id": "order01", "store_id": "store01", "timestamp": "user01#1544092158240"}])
    );
    assert_eq!(listed["body"]["message"], "Orders retrieved successfully");
    let (_, other) = api.user_orders(pos, "store01", "user02").await;
    assert_eq!(other["statusCode"], 400);
    // The same order id in another store is another order.
    let elsewhere = api
        .new_order(
            till("till-2", &["store02"]),
            "store02",
            "order01",
            "user01",
            T0,
        )
        .await;
    assert_eq!(elsewhere.0, 201);
}

#[tokio::test]
async fn the_listing_is_the_newest_five_of_exactly_that_user_in_that_store() {
    let api = Api::start().await;
    let pos = till("till-1", &["store1", "store2"]);
    // Given seven orders of user1, one of user10 and one of user1 in another store
    for i in 1..=7 {
        let r = api
            .new_order(
                pos.clone(),
                "store1",
                &format!("order{i}"),
                "user1",
                T0 + i * 1000,
            )
            .await;
        assert_eq!(r.0, 201, "{}", r.1);
    }
    assert_eq!(
        api.new_order(pos.clone(), "store1", "order-u10", "user10", T0 + 99_000)
            .await
            .0,
        201
    );
    assert_eq!(
        api.new_order(pos.clone(), "store2", "order-s2", "user1", T0 + 99_000)
            .await
            .0,
        201
    );
    // When user1's orders in store1 are listed
    let (status, listed) = api.user_orders(pos.clone(), "store1", "user1").await;
    // Then the newest five come, newest first, and nobody else's
    assert_eq!(status, 200);
    assert_eq!(
        order_ids(&listed),
        ["order7", "order6", "order5", "order4", "order3"]
    );
    assert_eq!(
        listed["orders"][0]["timestamp"],
        format!("user1#{}", T0 + 7000)
    );
    // And a user with none gets the seed's error, exactly
    let (status, text) = api
        .post(
            "/user-orders",
            Some(pos),
            r#"{"user_id":"user9","store_id":"store1"}"#,
            T0,
        )
        .await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"statusCode":400,"error":"User user9 has no orders yet !"}"#
        )
    );
}

#[tokio::test]
async fn two_orders_of_the_same_millisecond_are_both_listed() {
    let api = Api::start().await;
    let pos = till("till-1", &["store1"]);
    assert_eq!(
        api.new_order(pos.clone(), "store1", "a", "user1", T0)
            .await
            .0,
        201
    );
    assert_eq!(
        api.new_order(pos.clone(), "store1", "b", "user1", T0)
            .await
            .0,
        201
    );
    let (_, listed) = api.user_orders(pos, "store1", "user1").await;
    let mut ids = order_ids(&listed);
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b"]);
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_order_give_exactly_one_201() {
    let api = Arc::new(Api::start().await);
    let pos = till("till-1", &["store1"]);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (api, pos) = (api.clone(), pos.clone());
            tokio::spawn(async move {
                api.new_order(pos, "store1", "order-race", &format!("user{i}"), T0 + i)
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn identity_comes_from_the_token_not_the_body() {
    let api = Api::start().await;
    // A customer acts for themselves...
    assert_eq!(
        api.new_order(customer("alice"), "store1", "o1", "alice", T0)
            .await
            .0,
        201
    );
    let (status, listed) = api.user_orders(customer("alice"), "store1", "alice").await;
    assert_eq!((status, order_ids(&listed)), (200, vec!["o1"]));
    // ...and for nobody else, creating or listing.
    let (status, text) = api
        .new_order(customer("mallory"), "store1", "o2", "alice", T0)
        .await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("for themselves"), "{text}");
    let (status, body) = api
        .user_orders(customer("mallory"), "store1", "alice")
        .await;
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("user_id"),
        "{body}"
    );
    // A store system acts only for the stores its scopes grant.
    let (status, text) = api
        .new_order(till("till-1", &["store1"]), "store2", "o3", "bob", T0)
        .await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("store2"), "{text}");
    let (status, _) = api
        .user_orders(till("till-1", &["store1"]), "store2", "bob")
        .await;
    assert_eq!(status, 403);
    // A store scope without the orders-API scope is a customer's token.
    let mut odd = customer("eve");
    odd["scope"] = json!(format!("{STORE_SCOPE_PREFIX}store1"));
    assert_eq!(api.new_order(odd, "store1", "o4", "bob", T0).await.0, 403);
    // No verified identity at all: 401.
    let (status, _) = api
        .post(
            "/new-order",
            None,
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":1}"#,
            T0,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_bodies_are_400_with_a_message_and_create_nothing() {
    let api = Api::start().await;
    let pos = till("till-1", &["s"]);
    let cases = [
        (
            r#"{"store_id":"s","order_id":"o","user_id":"u"}"#,
            "grand_total",
        ),
        (
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":"110"}"#,
            "invalid type",
        ),
        (
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":-1}"#,
            "negative",
        ),
        (
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":1.005}"#,
            "two decimals",
        ),
        (
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":1e300}"#,
            "at most",
        ),
        (
            r#"{"store_id":"s","order_id":"o","user_id":"u","grand_total":1,"x":1}"#,
            "unknown field",
        ),
        (
            r#"{"store_id":"s","order_id":"","user_id":"u","grand_total":1}"#,
            "order_id",
        ),
        ("{not json", "Invalid request body"),
    ];
    for (body, mentions) in cases {
        let (status, text) = api.post("/new-order", Some(pos.clone()), body, T0).await;
        assert_eq!(status, 400, "{body}: {text}");
        let message: Value = serde_json::from_str(&text).unwrap();
        let message = message["message"].as_str().unwrap();
        assert!(message.contains(mentions), "{body}: {message}");
    }
    let (status, _) = api.user_orders(pos, "s", "u").await;
    assert_eq!(status, 400, "nothing was created");
}

#[tokio::test]
async fn the_sample_events_are_answered() {
    let api = Api::start().await;
    for (file, status) in [("new-order.json", 201), ("user-orders.json", 200)] {
        let text =
            std::fs::read_to_string(local::workspace_root().join("events").join(file)).unwrap();
        let req: apigw::Request = serde_json::from_str(&text).unwrap();
        let r = api.m.handle(&req, T0).await;
        assert_eq!(r.status_code, status, "{file}: {:?}", r.body);
    }
}
