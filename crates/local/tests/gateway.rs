//! The local API gateway against the real `template.yaml`, driven in-process with
//! `tower::ServiceExt::oneshot` and a fake backend that records what it receives.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use local::gateway::{
    AccessTokenClaims, ApiSpec, Backend, BoxFuture, DETAIL_HEADER, GatewayConfig, LocalAuth,
    MethodThrottle, RouteTarget, Throttle, router,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

const KEY: &[u8] = b"local-test-key";
const ISSUER: &str = "http://localhost/local-user-pool";
const HOUR: Duration = Duration::from_secs(3600);

fn template() -> String {
    std::fs::read_to_string(local::workspace_root().join("template.yaml"))
        .expect("template.yaml is readable")
}

fn spec() -> ApiSpec {
    ApiSpec::from_template(&template()).expect("the template's API is supported")
}

/// Records every call; answers invokes with a canned proxy response.
struct Fake {
    invocations: Mutex<Vec<(String, Value)>>,
    messages: Mutex<Vec<(String, String)>>,
    reply: Mutex<Result<Value, String>>,
    send_fails: bool,
    delay: Option<Duration>,
}

impl Fake {
    fn new() -> Self {
        Fake {
            invocations: Mutex::new(Vec::new()),
            messages: Mutex::new(Vec::new()),
            reply: Mutex::new(Ok(json!({
                "statusCode": 200,
                "headers": {"content-type": "application/json"},
                "body": "{\"ok\":true}",
                "isBase64Encoded": false
            }))),
            send_fails: false,
            delay: None,
        }
    }

    fn replying(reply: Result<Value, String>) -> Self {
        let f = Fake::new();
        *f.reply.lock().unwrap() = reply;
        f
    }

    fn events(&self) -> Vec<(String, Value)> {
        self.invocations.lock().unwrap().clone()
    }

    fn last_event(&self) -> Value {
        self.events()
            .last()
            .expect("the backend was invoked")
            .1
            .clone()
    }
}

impl Backend for Fake {
    fn invoke(&self, function: &str, event: Value) -> BoxFuture<'static, Result<Value, String>> {
        self.invocations
            .lock()
            .unwrap()
            .push((function.to_owned(), event));
        let reply = self.reply.lock().unwrap().clone();
        let delay = self.delay;
        Box::pin(async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            reply
        })
    }

    fn send_message(
        &self,
        queue: &str,
        body: String,
    ) -> BoxFuture<'static, Result<String, String>> {
        self.messages.lock().unwrap().push((queue.to_owned(), body));
        let fails = self.send_fails;
        Box::pin(async move {
            if fails {
                Err("queue is down".to_owned())
            } else {
                Ok("11111111-2222-3333-4444-555555555555".to_owned())
            }
        })
    }
}

fn auth() -> LocalAuth {
    LocalAuth::new(KEY, ISSUER)
}

fn gateway_with(config: GatewayConfig, fake: Fake) -> (Router, Arc<Fake>) {
    let fake = Arc::new(fake);
    (router(config, fake.clone()), fake)
}

fn gateway(fake: Fake) -> (Router, Arc<Fake>) {
    gateway_with(GatewayConfig::new(spec(), auth()), fake)
}

fn token(sub: &str, groups: &[&str]) -> String {
    auth().mint(sub, groups, HOUR).unwrap()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    send(app, req).await
}

fn assert_message(r: &Reply, status: u16, message: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.body, json!({ "message": message }), "{}", r.text);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
}

// ------------------------------------------------------------------------------ the template

#[test]
fn the_template_is_read_with_its_stage_throttling_and_routes() {
    let spec = spec();
    assert_eq!(spec.stage(), "Prod");
    assert_eq!(
        spec.throttle(),
        Throttle {
            rate_per_second: 50.0,
            burst: 100
        }
    );
    let routes = spec.routes();
    let find = |m: &str, p: &str| {
        routes
            .iter()
            .find(|r| r.method == m && r.path == p)
            .unwrap_or_else(|| panic!("{m} {p} is not served"))
    };
    let config = find("GET", "/config");
    assert!(!config.secured);
    assert_eq!(config.target, RouteTarget::Lambda("ConfigFunction".into()));
    let drink = find("PUT", "/orders/{id}");
    assert!(drink.secured);
    assert_eq!(
        drink.target,
        RouteTarget::Lambda("OrderManagerFunction".into())
    );
    assert_eq!(
        find("POST", "/qr-code").target,
        RouteTarget::Lambda("QrValidatorFunction".into())
    );
    assert_eq!(
        find("POST", "/orders").target,
        RouteTarget::Queue("OrderQueue".into())
    );
    assert_eq!(find("OPTIONS", "/orders/{id}").target, RouteTarget::Mock);
    for (m, p) in [
        ("GET", "/admin-config"),
        ("PUT", "/store"),
        ("GET", "/qr-code"),
        ("GET", "/orders"),
        ("GET", "/orders/{id}"),
        ("GET", "/myOrders"),
        ("PUT", "/orders/complete/{id}"),
        ("PUT", "/orders/cancel/{id}"),
        ("PUT", "/orders/claim/{id}"),
    ] {
        assert!(find(m, p).secured, "{m} {p} must need a token");
    }
}

#[test]
fn what_cannot_be_emulated_is_refused_at_start_up_naming_the_route() {
    let t = template();
    let vtl = "$util.urlEncode(\"{\"\"data\"\":$input.body,";
    assert!(
        t.contains(vtl),
        "the POST /orders template changed; update this test"
    );
    // (Inside a single-quoted YAML scalar, '' is one quote.)
    let changed = t.replace(vtl, "$util.urlEncode(\"{\"\"data\"\":$input.json(''$''),");
    let err = ApiSpec::from_template(&changed)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("POST /orders"), "{err}");
    assert!(err.contains("$input.json"), "{err}");

    let changed = t.replacen("type: aws_proxy", "type: http_proxy", 1);
    let err = ApiSpec::from_template(&changed)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("http_proxy"), "{err}");

    let changed = t.replace(
        "$ref: \"#/components/schemas/DrinkChoice\"",
        "$ref: \"#/components/schemas/Nope\"",
    );
    let err = ApiSpec::from_template(&changed)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("PUT /orders/{id}"), "{err}");

    // The first reference is GET /config's.
    let changed = t.replacen("${ConfigFunction.Arn}", "${ConfigFunctoin.Arn}", 1);
    let err = ApiSpec::from_template(&changed)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("GET /config") && err.contains("ConfigFunctoin"),
        "{err}"
    );

    assert!(ApiSpec::from_template("Resources: {}").is_err());
}

// ------------------------------------------------------------------------------ routing

#[tokio::test]
async fn a_literal_segment_beats_a_parameter() {
    let (app, fake) = gateway(Fake::new());
    let admin = token("admin-1", &["admin"]);

    let r = call(&app, "PUT", "/orders/complete/o-1", Some(&admin), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let e = fake.last_event();
    assert_eq!(e["resource"], "/orders/complete/{id}");
    assert_eq!(e["pathParameters"], json!({"id": "o-1"}));

    let r = call(
        &app,
        "PUT",
        "/orders/o-1",
        Some(&admin),
        Some(r#"{"drink":"Latte"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let e = fake.last_event();
    assert_eq!(e["resource"], "/orders/{id}");
    assert_eq!(e["pathParameters"], json!({"id": "o-1"}));

    // No GET /orders/complete/{id}: a GET there is the order whose id is "complete" only when
    // the path has two segments.
    let r = call(&app, "GET", "/orders/complete", Some(&admin), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.last_event()["pathParameters"],
        json!({"id": "complete"})
    );
    let r = call(&app, "GET", "/orders/complete/o-1", Some(&admin), None).await;
    assert_eq!(r.status, 405, "{}", r.text);
}

/// The template has no two routes of the same depth where a literal competes with a parameter
/// (`/orders/complete/{id}` is deeper than `/orders/{id}`), so the precedence rule is pinned
/// with a small document that has such conflicts.
#[tokio::test]
async fn the_most_specific_template_wins() {
    let lambda = |f: &str| {
        json!({"get": {"x-amazon-apigateway-integration": {
            "type": "aws_proxy", "httpMethod": "POST",
            "uri": {"Fn::Sub": format!("arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{f}.Arn}}/invocations")}
        }}})
    };
    let doc = json!({"openapi": "3.0.1", "paths": {
        "/items/{id}": lambda("ById"),
        "/items/special": lambda("Special"),
        "/items/{id}/parts": lambda("PartsById"),
        "/items/special/{part}": lambda("SpecialPart"),
        "/items/{rest+}": lambda("Greedy"),
    }});
    let spec = ApiSpec::from_openapi(&doc).unwrap();
    let (app, fake) = gateway_with(GatewayConfig::new(spec, auth()), Fake::new());
    for (path, function, params) in [
        ("/items/special", "Special", Value::Null),
        ("/items/other", "ById", json!({"id": "other"})),
        (
            "/items/special/parts",
            "SpecialPart",
            json!({"part": "parts"}),
        ),
        ("/items/other/parts", "PartsById", json!({"id": "other"})),
        ("/items/a/b/c", "Greedy", json!({"rest": "a/b/c"})),
        ("/Prod/items/special", "Special", Value::Null),
    ] {
        let r = call(&app, "GET", path, None, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let (f, e) = fake.events().pop().unwrap();
        assert_eq!(f, function, "{path}");
        assert_eq!(e["pathParameters"], params, "{path}");
    }
}

#[tokio::test]
async fn routes_are_served_under_the_stage_prefix_too() {
    let (app, fake) = gateway(Fake::new());
    let r = call(&app, "GET", "/Prod/config", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"ok": true}));
    let (function, e) = fake.events().pop().unwrap();
    assert_eq!(function, "ConfigFunction");
    assert_eq!(e["path"], "/config");
    assert_eq!(e["resource"], "/config");
    assert_eq!(e["requestContext"]["path"], "/Prod/config");
    assert_eq!(e["requestContext"]["stage"], "Prod");

    let r = call(&app, "GET", "/Dev/config", None, None).await;
    assert_message(&r, 404, "No route for GET /Dev/config");
}

#[tokio::test]
async fn unknown_paths_are_404_and_unknown_methods_405() {
    let (app, fake) = gateway(Fake::new());
    let r = call(&app, "GET", "/nope", None, None).await;
    assert_message(&r, 404, "No route for GET /nope");
    let r = call(&app, "GET", "/orders/a/b/c", None, None).await;
    assert_eq!(r.status, 404);

    let r = call(&app, "DELETE", "/orders/o-1", Some(&token("u", &[])), None).await;
    assert_eq!(r.status, 405, "{}", r.text);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.starts_with("No route for DELETE /orders/o-1"), "{msg}");
    let allow = r.headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("PUT") && !allow.contains("DELETE"));
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert!(fake.events().is_empty());
}

// ------------------------------------------------------------------------------ the event

#[tokio::test]
async fn a_secured_route_gets_the_event_a_handler_expects() {
    let (app, fake) = gateway(Fake::new());
    let t = token("user-42", &["admin", "baristas"]);
    let r = call(
        &app,
        "GET",
        "/orders?state=CREATED&maxItems=5&state=COMPLETED&q=a+b%21",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (function, e) = fake.events().pop().unwrap();
    assert_eq!(function, "OrderManagerFunction");
    assert_eq!(e["resource"], "/orders");
    assert_eq!(e["path"], "/orders");
    assert_eq!(e["httpMethod"], "GET");
    assert_eq!(e["pathParameters"], Value::Null);
    assert_eq!(e["body"], Value::Null);
    assert_eq!(e["isBase64Encoded"], false);
    // Repeated keys: the last value (API Gateway REST), every value in the multi-value map.
    assert_eq!(e["queryStringParameters"]["state"], "COMPLETED");
    assert_eq!(e["queryStringParameters"]["maxItems"], "5");
    assert_eq!(e["queryStringParameters"]["q"], "a b!");
    assert_eq!(
        e["multiValueQueryStringParameters"]["state"],
        json!(["CREATED", "COMPLETED"])
    );
    assert_eq!(e["headers"]["authorization"], format!("Bearer {t}"));
    assert_eq!(
        e["multiValueHeaders"]["authorization"],
        json!([format!("Bearer {t}")])
    );

    let ctx = &e["requestContext"];
    assert_eq!(ctx["resourcePath"], "/orders");
    assert_eq!(ctx["httpMethod"], "GET");
    assert_eq!(ctx["path"], "/Prod/orders");
    assert_eq!(ctx["stage"], "Prod");
    assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
    assert!(ctx["requestTimeEpoch"].as_i64().unwrap() > 1_700_000_000_000);
    let id = ctx["requestId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(r.headers["x-amzn-requestid"], id);

    let claims = ctx["authorizer"]["claims"].as_object().unwrap();
    assert_eq!(claims["sub"], "user-42");
    assert_eq!(claims["cognito:groups"], "admin,baristas");
    assert_eq!(claims["token_use"], "access");
    assert_eq!(claims["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["username"], "user-42");
    assert!(claims.values().all(Value::is_string), "{claims:?}");
}

#[tokio::test]
async fn a_public_route_gets_no_claims_even_with_a_token() {
    let (app, fake) = gateway(Fake::new());
    let r = call(&app, "GET", "/config", Some(&token("u", &["admin"])), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.last_event()["requestContext"]["authorizer"],
        Value::Null
    );
    // ...and a bad token does not matter there either.
    let r = call(&app, "GET", "/config", Some("garbage"), None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_bare_token_is_accepted_like_api_gateway_does() {
    let (app, fake) = gateway(Fake::new());
    let req = Request::get("/myOrders")
        .header("Authorization", token("u-7", &[]))
        .body(Body::empty())
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let claims = &fake.last_event()["requestContext"]["authorizer"]["claims"];
    assert_eq!(claims["sub"], "u-7");
    // Cognito omits the claim for a user in no group.
    assert!(claims.get("cognito:groups").is_none());
}

// ------------------------------------------------------------------------------ auth

#[tokio::test]
async fn bad_tokens_are_401_and_never_reach_the_function() {
    let (app, fake) = gateway(Fake::new());
    let a = auth();
    let expired = {
        let mut c = a.claims("u", &[], HOUR);
        c.exp = c.iat - 10;
        a.sign(&c).unwrap()
    };
    let id_token = {
        let mut c: AccessTokenClaims = a.claims("u", &[], HOUR);
        c.token_use = "id".into();
        a.sign(&c).unwrap()
    };
    let no_scope = {
        let mut c = a.claims("u", &[], HOUR);
        c.scope = "openid".into();
        a.sign(&c).unwrap()
    };
    let wrong_key = LocalAuth::new(b"another key", ISSUER)
        .mint("u", &["admin"], HOUR)
        .unwrap();
    let wrong_issuer = LocalAuth::new(KEY, "https://cognito-idp.eu-west-1.amazonaws.com/x")
        .mint("u", &["admin"], HOUR)
        .unwrap();
    let good = token("u", &[]);
    let tampered = {
        // Same signature, payload swapped for another user's.
        let other = token("admin-1", &["admin"]);
        let p: Vec<&str> = good.split('.').collect();
        let q: Vec<&str> = other.split('.').collect();
        format!("{}.{}.{}", p[0], q[1], p[2])
    };

    for (what, header) in [
        ("missing", None),
        ("empty bearer", Some("Bearer ".to_owned())),
        ("malformed", Some("Bearer not-a-jwt".to_owned())),
        ("expired", Some(format!("Bearer {expired}"))),
        ("wrong key", Some(format!("Bearer {wrong_key}"))),
        ("wrong issuer", Some(format!("Bearer {wrong_issuer}"))),
        ("id token", Some(format!("Bearer {id_token}"))),
        ("no scope", Some(format!("Bearer {no_scope}"))),
        ("tampered", Some(format!("Bearer {tampered}"))),
    ] {
        let mut req = Request::get("/myOrders");
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let r = send(&app, req.body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_message(&r, 401, "Unauthorized");
    }
    assert!(fake.events().is_empty());
    let r = call(&app, "GET", "/myOrders", Some(&good), None).await;
    assert_eq!(r.status, 200);
}

// ------------------------------------------------------------------------------ validation

#[tokio::test]
async fn required_query_parameters_are_checked() {
    let (app, fake) = gateway(Fake::new());
    let t = token("u", &[]);
    for uri in ["/qr-code", "/qr-code?token=", "/qr-code?other=1"] {
        let r = call(&app, "POST", uri, Some(&t), None).await;
        assert_message(&r, 400, "Missing required request parameters: [token]");
    }
    assert!(fake.events().is_empty());
    let r = call(&app, "POST", "/qr-code?token=abc", Some(&t), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(fake.last_event()["queryStringParameters"]["token"], "abc");

    let admin = token("a", &["admin"]);
    let r = call(&app, "PUT", "/orders/claim/o-1", Some(&admin), None).await;
    assert_message(&r, 400, "Missing required request parameters: [action]");
}

#[tokio::test]
async fn drink_choice_bodies_are_validated_against_the_model() {
    let (app, fake) = gateway(Fake::new());
    let t = token("u", &[]);
    let cases = [
        (r#"{"drink": 5}"#, "/drink"),
        (r#"{"drink": "Latte", "sugar": true}"#, "sugar"),
        // Properties but no drink: neither branch of the anyOf (a drink, or nothing at all).
        (r#"{"modifiers": ["Oat"]}"#, "anyOf"),
        (r#"{"drink": ""}"#, "/drink"),
        (r#"{"drink": "Latte", "modifiers": "Oat"}"#, "/modifiers"),
        (r#"["drink"]"#, "object"),
        ("not json", "not valid JSON"),
        (r#"{"drink": "Latte""#, "not valid JSON"),
    ];
    for (body, mentions) in cases {
        let r = call(&app, "PUT", "/orders/o-1", Some(&t), Some(body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        // The body is exactly API Gateway's; what was wrong is in the local detail header.
        assert_message(&r, 400, "Invalid request body");
        let detail = r.headers[DETAIL_HEADER].to_str().unwrap();
        assert!(detail.contains(mentions), "{body}: {detail}");
        assert!(detail.len() < 400, "{detail}");
    }
    assert!(fake.events().is_empty());

    // A huge wrong value is reported briefly.
    let big = format!(r#"{{"drink": "{}"}}"#, "x".repeat(60_000));
    let r = call(&app, "PUT", "/orders/o-1", Some(&t), Some(&big)).await;
    assert_message(&r, 400, "Invalid request body");
    assert_eq!(
        r.headers[DETAIL_HEADER],
        "/drink: value is longer than 64 characters"
    );

    let ok = r#"{"drink": "Latte", "modifiers": ["Oat"], "icon": "latte", "userId": "ignored"}"#;
    let r = call(&app, "PUT", "/orders/o-1", Some(&t), Some(ok)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(fake.last_event()["body"], ok);
}

/// Gen B's barista app sends `PUT /orders/{id}?action=make` without a body. API Gateway
/// validates a missing body as `{}`, which the DrinkChoice model accepts: the request reaches
/// the function (which answers 400 when there is neither an action nor a drink).
#[tokio::test]
async fn a_missing_or_empty_drink_choice_body_reaches_the_function() {
    let (app, fake) = gateway(Fake::new());
    let admin = token("a", &["admin"]);
    let r = call(&app, "PUT", "/orders/o-1?action=make", Some(&admin), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let e = fake.last_event();
    assert_eq!(e["resource"], "/orders/{id}");
    assert_eq!(e["queryStringParameters"], json!({"action": "make"}));
    assert_eq!(e["body"], Value::Null);

    // API Gateway does not check a parameter's enum; neither does the local gateway.
    let r = call(&app, "PUT", "/orders/o-1?action=brew", Some(&admin), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(&app, "PUT", "/orders/o-1", Some(&admin), Some("{}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(fake.last_event()["body"], "{}");

    // A body that is sent is still validated, whatever the action.
    let r = call(
        &app,
        "PUT",
        "/orders/o-1?action=make",
        Some(&admin),
        Some(r#"{"sugar": true}"#),
    )
    .await;
    assert_message(&r, 400, "Invalid request body");
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let (app, fake) = gateway(Fake::new());
    let t = token("u", &[]);
    let limit = local::gateway::DEFAULT_MAX_BODY_BYTES;
    let r = call(
        &app,
        "POST",
        "/qr-code?token=a",
        Some(&t),
        Some(&"x".repeat(limit + 1)),
    )
    .await;
    assert_message(&r, 413, "Request too large");
    // The request above has no Content-Length (the body is read and cut at the limit); a
    // declared length over the limit is refused before reading anything.
    let req = Request::post("/qr-code?token=a")
        .header("authorization", format!("Bearer {t}"))
        .header("content-length", (limit + 1).to_string())
        .body(Body::from("small"))
        .unwrap();
    let r = send(&app, req).await;
    assert_message(&r, 413, "Request too large");
    assert!(fake.events().is_empty());

    let r = call(
        &app,
        "POST",
        "/qr-code?token=a",
        Some(&t),
        Some(&"x".repeat(limit)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(fake.last_event()["body"].as_str().unwrap().len(), limit);
}

// ------------------------------------------------------------------------------ throttling

#[tokio::test]
async fn over_the_burst_is_429() {
    let mut config = GatewayConfig::new(spec(), auth());
    config.throttle = Throttle {
        rate_per_second: 0.001, // nothing refills during the test
        burst: 3,
    };
    let (app, fake) = gateway_with(config, Fake::new());
    for i in 0..3 {
        let r = call(&app, "GET", "/config", None, None).await;
        assert_eq!(r.status, 200, "request {i}");
    }
    let r = call(&app, "GET", "/config", None, None).await;
    assert_message(&r, 429, "Too Many Requests");
    // Throttling comes first: even an unknown path is refused 429, not 404.
    let r = call(&app, "GET", "/nope", None, None).await;
    assert_eq!(r.status, 429);
    assert_eq!(fake.events().len(), 3);
}

/// The review's flood: unauthenticated `GET /config` as fast as possible until it is refused.
/// With the template's limits, `/config` is cut at its own burst and a signed-in customer is
/// still served.
#[tokio::test]
async fn a_flood_of_get_config_leaves_signed_in_customers_served() {
    let (app, _) = gateway(Fake::new());
    let mut served = 0;
    for _ in 0..300 {
        let r = call(&app, "GET", "/config", None, None).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        served += 1;
    }
    assert!(
        (20..100).contains(&served),
        "GET /config is cut at its own limit (burst 20), not the stage's 100: {served} served"
    );
    let r = call(&app, "GET", "/myOrders", Some(&token("alice", &[])), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn the_template_gives_get_config_its_own_lower_limit() {
    let spec = spec();
    let config = spec
        .method_throttles()
        .iter()
        .find(|m| (m.path.as_str(), m.method.as_str()) == ("/config", "GET"))
        .expect("MethodSettings for GET /config");
    assert_eq!(
        config.throttle,
        Throttle {
            rate_per_second: 10.0,
            burst: 20
        }
    );
    assert!(config.throttle.rate_per_second < spec.throttle().rate_per_second);
    assert!(config.throttle.burst < spec.throttle().burst);
}

/// Per-method buckets, deterministically: nothing refills during the test.
#[tokio::test]
async fn a_method_with_its_own_bucket_is_refused_on_its_own() {
    let mut config = GatewayConfig::new(spec(), auth());
    let frozen = |burst| Throttle {
        rate_per_second: 0.001,
        burst,
    };
    config.throttle = frozen(4);
    config.method_throttles = vec![MethodThrottle {
        path: "/config".into(),
        method: "GET".into(),
        throttle: frozen(2),
    }];
    let (app, fake) = gateway_with(config, Fake::new());
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(
                call(&app, "GET", "/config", None, None)
                    .await
                    .status
                    .as_u16(),
            );
        }
        v
    };
    assert_eq!(statuses, [200, 200, 429, 429, 429]);
    // The refused ones took nothing from the stage: two of its four tokens are left.
    let alice = token("alice", &[]);
    for _ in 0..2 {
        let r = call(&app, "GET", "/myOrders", Some(&alice), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = call(&app, "GET", "/myOrders", Some(&alice), None).await;
    assert_message(&r, 429, "Too Many Requests");
    assert_eq!(fake.events().len(), 4);
}

#[test]
fn method_settings_must_name_a_served_method() {
    let bad = template().replace(
        "ResourcePath: \"/~1config\"\n          HttpMethod: GET",
        "ResourcePath: \"/~1config\"\n          HttpMethod: DELETE",
    );
    assert_ne!(
        bad,
        template(),
        "the template's /config MethodSettings entry moved"
    );
    let err = ApiSpec::from_template(&bad).unwrap_err().to_string();
    assert!(err.contains("DELETE /config"), "{err}");
}

// ------------------------------------------------------------------------------ POST /orders

const PIZZA: &str =
    r#"{"name":"Step Functions Pizza","restaurantId":"Restaurant 99","quantity":3}"#;

#[tokio::test]
async fn post_orders_queues_the_order_and_answers_sqs_send_message_response() {
    let (app, fake) = gateway(Fake::new());
    let r = call(
        &app,
        "POST",
        "/Prod/orders",
        Some(&token("user-42", &[])),
        Some(PIZZA),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(fake.events().is_empty(), "no Lambda in between");
    let messages = fake.messages.lock().unwrap().clone();
    assert_eq!(
        messages,
        vec![(
            "OrderQueue".to_owned(),
            format!(r#"{{"data":{PIZZA},"userId":"user-42"}}"#)
        )]
    );
    // The message is JSON the poller can parse, owned by the token's sub.
    let m: Value = serde_json::from_str(&messages[0].1).unwrap();
    assert_eq!(m["userId"], "user-42");
    assert_eq!(m["data"]["quantity"], 3);

    let result = &r.body["SendMessageResponse"]["SendMessageResult"];
    assert_eq!(
        result["MD5OfMessageBody"], "16ad36762dca8b4afe9f2b6e603fa605",
        "MD5 of the message body, computed independently"
    );
    assert_eq!(result["MessageId"], "11111111-2222-3333-4444-555555555555");
    for k in [
        "MD5OfMessageAttributes",
        "MD5OfMessageSystemAttributes",
        "SequenceNumber",
    ] {
        assert_eq!(result[k], Value::Null, "{k}");
    }
    let rid = r.body["SendMessageResponse"]["ResponseMetadata"]["RequestId"]
        .as_str()
        .unwrap();
    assert!(uuid::Uuid::parse_str(rid).is_ok());
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn post_orders_is_authenticated_validated_and_json_only() {
    let (app, fake) = gateway(Fake::new());
    let t = token("user-42", &[]);
    let r = call(&app, "POST", "/orders", None, Some(PIZZA)).await;
    assert_message(&r, 401, "Unauthorized");
    for bad in [
        r#"{"name":"Pizza","restaurantId":"R"}"#,
        r#"{"name":"Pizza","restaurantId":"R","quantity":"3"}"#,
        r#"{"name":"Pizza","restaurantId":"R","quantity":3,"userId":"someone-else"}"#,
        "quantity=3",
    ] {
        let r = call(&app, "POST", "/orders", Some(&t), Some(bad)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    // A valid body sent as another media type: no request template for it (passthrough never).
    let req = Request::post("/orders")
        .header("authorization", format!("Bearer {t}"))
        .header("content-type", "text/plain")
        .body(Body::from(PIZZA))
        .unwrap();
    let r = send(&app, req).await;
    assert_message(&r, 415, "Unsupported Media Type");
    assert!(fake.messages.lock().unwrap().is_empty());

    // No Content-Type at all means application/json, as in API Gateway.
    let req = Request::post("/orders")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::from(PIZZA))
        .unwrap();
    assert_eq!(send(&app, req).await.status, 200);
}

#[tokio::test]
async fn a_failed_send_is_answered_with_the_templates_5xx_mapping() {
    let mut fake = Fake::new();
    fake.send_fails = true;
    let (app, _) = gateway(fake);
    let r = call(&app, "POST", "/orders", Some(&token("u", &[])), Some(PIZZA)).await;
    assert_eq!(r.status, 503, "{}", r.text);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains("could not be queued"), "{msg}");
    assert_eq!(r.headers["access-control-allow-origin"], "*");
}

/// A small OpenAPI document with an SQS integration, to pin the VTL subset independently of
/// how template.yaml happens to phrase it.
fn sqs_doc(request_template: &str) -> Value {
    json!({
        "openapi": "3.0.1",
        "paths": {
            "/q": {
                "post": {
                    "security": [{"Auth": []}],
                    "x-amazon-apigateway-integration": {
                        "type": "aws",
                        "httpMethod": "POST",
                        "uri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:sqs:path/${AWS::AccountId}/${InQueue.QueueName}"},
                        "requestTemplates": {"application/json": request_template},
                        "responses": {"default": {"statusCode": "200"}}
                    }
                }
            }
        },
        "components": {"securitySchemes": {"Auth": {
            "type": "apiKey", "name": "Authorization", "in": "header",
            "x-amazon-apigateway-authtype": "cognito_user_pools"
        }}}
    })
}

#[tokio::test]
async fn the_vtl_subset_renders_body_and_claims() {
    let doc = sqs_doc(
        "Version=2012-11-05&MessageBody=$util.urlEncode(\"{\"\"order\"\": ${input.body}, \"\"by\"\": \"\"$context.authorizer.claims.sub\"\", \"\"groups\"\": \"\"$context.authorizer.claims['cognito:groups']\"\"}\")&Action=SendMessage",
    );
    let spec = ApiSpec::from_openapi(&doc).unwrap();
    let (app, fake) = gateway_with(GatewayConfig::new(spec, auth()), Fake::new());
    let r = call(
        &app,
        "POST",
        "/q",
        Some(&token("s\"1", &["admin", "baristas"])),
        Some(r#"{"a": [1, 2]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (queue, body) = fake.messages.lock().unwrap()[0].clone();
    assert_eq!(queue, "InQueue");
    // The claim is JSON-escaped, so an odd sub cannot break the message.
    assert_eq!(
        body,
        r#"{"order": {"a": [1, 2]}, "by": "s\"1", "groups": "admin,baristas"}"#
    );
    assert!(serde_json::from_str::<Value>(&body).is_ok());
}

#[test]
fn vtl_outside_the_subset_is_refused_at_start_up() {
    for template in [
        "Action=SendMessage&MessageBody=$util.urlEncode(\"$input.path('$.a')\")",
        "Action=SendMessage&MessageBody=$util.urlEncode(\"#if(1)x#end\")",
        "Action=SendMessage&MessageBody=$input.body",
        "Action=SendMessage&MessageBody=$util.urlEncode(\"$context.requestId\")",
        "Action=SendMessage&MessageBody=$util.urlEncode(\"x\")&DelaySeconds=5",
    ] {
        let err = ApiSpec::from_openapi(&sqs_doc(template))
            .expect_err(template)
            .to_string();
        assert!(err.contains("POST /q"), "{err}");
    }
}

// ------------------------------------------------------------------------------ CORS

#[tokio::test]
async fn cors_preflight_answers_from_the_mock_integration() {
    let (app, fake) = gateway(Fake::new());
    let req = Request::builder()
        .method("OPTIONS")
        .uri("/Prod/orders/o-1")
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "PUT")
        .body(Body::empty())
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert_eq!(r.headers["access-control-allow-methods"], "GET,PUT,OPTIONS");
    let allow_headers = r.headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allow_headers.contains("Authorization"), "{allow_headers}");
    assert!(fake.events().is_empty());

    let r = call(&app, "OPTIONS", "/qr-code", None, None).await;
    assert_eq!(
        r.headers["access-control-allow-methods"],
        "GET,POST,OPTIONS"
    );
}

// ------------------------------------------------------------------------------ proxy responses

#[tokio::test]
async fn the_proxy_response_becomes_the_http_response() {
    let (app, _) = gateway(Fake::replying(Ok(json!({
        "statusCode": 409,
        "headers": {"content-type": "application/json", "x-custom": "1"},
        "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
        "body": "{\"message\":\"Order is already completed\"}",
        "isBase64Encoded": false
    }))));
    let r = call(
        &app,
        "PUT",
        "/orders/cancel/o-1",
        Some(&token("u", &[])),
        None,
    )
    .await;
    assert_message(&r, 409, "Order is already completed");
    assert_eq!(r.headers["x-custom"], "1");
    assert_eq!(r.headers.get_all("set-cookie").iter().count(), 2);
}

#[tokio::test]
async fn a_bad_proxy_response_or_a_failed_invoke_is_502() {
    for reply in [
        Ok(json!({"statusCode": "200", "body": "{}"})),
        Ok(json!({"statusCode": 200, "body": {"not": "a string"}})),
        Ok(json!("just a string")),
        Ok(json!({"statusCode": 200, "headers": {"bad header": "x"}})),
        Err("function crashed: index out of bounds".to_owned()),
    ] {
        let (app, fake) = gateway(Fake::replying(reply.clone()));
        let r = call(&app, "GET", "/config", None, None).await;
        assert_message(&r, 502, "Internal server error");
        assert_eq!(fake.events().len(), 1, "{reply:?}");
    }
}

#[tokio::test]
async fn a_slow_function_is_504_after_the_integration_timeout() {
    let mut fake = Fake::new();
    fake.delay = Some(Duration::from_secs(5));
    let mut config = GatewayConfig::new(spec(), auth());
    config.integration_timeout = Duration::from_millis(50);
    let (app, _) = gateway_with(config, fake);
    let r = call(&app, "GET", "/config", None, None).await;
    assert_message(&r, 504, "Endpoint request timed out");
}

#[test]
fn minted_tokens_verify_and_look_like_cognito_access_tokens() {
    let a = auth();
    let t = a.mint("user-1", &["admin"], HOUR).unwrap();
    assert_eq!(t.split('.').count(), 3);
    let c = a.verify(&t).unwrap();
    assert_eq!(c["sub"], "user-1");
    assert_eq!(c["cognito:groups"], json!(["admin"]));
    assert_eq!(c["token_use"], "access");
    assert_eq!(c["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["client_id"], "local-client");
    assert_eq!(c["username"], "user-1");
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    assert!(LocalAuth::new(b"other", ISSUER).verify(&t).is_err());
}
