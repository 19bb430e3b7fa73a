//! POST /realtime/access: who gets access comes from the verified token, the answer names the
//! caller's topics, and every refusal is a JSON 4xx.

use apigw::testing::{claims, request};
use domain::ports::RealtimeAccess;
use domain::{AppError, Caller};
use serde_json::{Value, json};
use std::sync::Mutex;

/// Records what it was asked to grant; answers like the identity pool would (an identity id
/// per token), or refuses every token.
#[derive(Default)]
struct RecordingGrant {
    granted: Mutex<Vec<(String, String)>>,
    refuse: bool,
}

impl RealtimeAccess for RecordingGrant {
    async fn grant(&self, caller: &Caller, id_token: &str) -> Result<String, AppError> {
        if self.refuse {
            return Err(AppError::forbidden("The identity pool refused this token"));
        }
        self.granted
            .lock()
            .map_err(|_| AppError::internal("poisoned"))?
            .push((caller.sub.clone(), id_token.to_owned()));
        Ok(format!("us-east-1:identity-of-{id_token}"))
    }
}

fn access_request(claims: Option<Value>, authorization: Option<&str>) -> apigw::Request {
    let mut req = request(
        "POST",
        "/realtime/access",
        "/realtime/access",
        &[],
        &[],
        claims,
        None,
    );
    if let Some(value) = authorization {
        req.headers.insert(
            "authorization",
            value.parse().expect("a valid header value in the test"),
        );
    }
    req
}

fn body(resp: &apigw::Response) -> Value {
    match &resp.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => {
            serde_json::from_str(t).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

#[tokio::test]
async fn a_customer_gets_their_own_topic_and_the_config_topic() {
    let grant = RecordingGrant::default();
    let req = access_request(Some(claims("alice", &[])), Some("id-token-of-alice"));

    let resp = realtime_access::handle(&req, &grant).await;

    assert_eq!(resp.status_code, 200);
    assert_eq!(
        body(&resp),
        json!({
            "identityId": "us-east-1:identity-of-id-token-of-alice",
            "topics": ["serverlesspresso-user-alice", "serverlesspresso-config"]
        })
    );
    let granted = grant.granted.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(
        granted,
        [("alice".to_owned(), "id-token-of-alice".to_owned())]
    );
}

#[tokio::test]
async fn an_admin_is_also_told_the_admin_topic_and_a_bearer_prefix_is_stripped() {
    let grant = RecordingGrant::default();
    let req = access_request(Some(claims("b1", &["admin"])), Some("Bearer tok"));

    let resp = realtime_access::handle(&req, &grant).await;

    assert_eq!(resp.status_code, 200);
    assert_eq!(
        body(&resp)["topics"],
        json!([
            "serverlesspresso-user-b1",
            "serverlesspresso-config",
            "serverlesspresso-admin"
        ])
    );
    let granted = grant.granted.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(granted[0].1, "tok");
}

#[tokio::test]
async fn the_body_cannot_name_another_user() {
    let grant = RecordingGrant::default();
    let mut req = access_request(Some(claims("alice", &[])), Some("tok"));
    req.body = Some(r#"{"sub": "bob", "identityId": "us-east-1:bob"}"#.into());

    let resp = realtime_access::handle(&req, &grant).await;

    assert_eq!(resp.status_code, 200);
    assert_eq!(body(&resp)["topics"][0], "serverlesspresso-user-alice");
    let granted = grant.granted.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(granted, [("alice".to_owned(), "tok".to_owned())]);
}

#[tokio::test]
async fn without_a_verified_identity_or_a_token_nothing_is_granted() {
    let grant = RecordingGrant::default();
    for (claims, header) in [
        (None, Some("tok")),
        (Some(claims("alice", &[])), None),
        (Some(claims("alice", &[])), Some("Bearer   ")),
    ] {
        let resp = realtime_access::handle(&access_request(claims, header), &grant).await;
        assert_eq!(resp.status_code, 401);
        assert!(body(&resp)["message"].is_string());
    }
    assert!(grant.granted.lock().map(|g| g.is_empty()).unwrap_or(false));
}

#[tokio::test]
async fn a_token_the_identity_pool_refuses_is_a_403_with_a_message() {
    let grant = RecordingGrant {
        refuse: true,
        ..RecordingGrant::default()
    };
    let req = access_request(Some(claims("alice", &[])), Some("access-token"));

    let resp = realtime_access::handle(&req, &grant).await;

    assert_eq!(resp.status_code, 403);
    assert_eq!(
        body(&resp)["message"],
        "The identity pool refused this token"
    );
}

#[tokio::test]
async fn the_sample_event_is_answered() {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/realtime-access.json"
    ))
    .expect("events/realtime-access.json exists");
    let req: apigw::Request = serde_json::from_str(&raw).expect("the sample is an API event");
    let grant = RecordingGrant::default();

    let resp = realtime_access::handle(&req, &grant).await;

    assert_eq!(resp.status_code, 200);
    assert_eq!(
        body(&resp)["topics"][0],
        "serverlesspresso-user-3f1c9d2e-0b7a-4c55-9a51-0c7d2f4e8a11"
    );
}
