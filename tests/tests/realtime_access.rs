//! POST /realtime/access on the local stack: a signed-in frontend is told its topics, and they
//! are exactly the topics the local broker lets that token subscribe to.

mod common;

use local_stack::mqtt::policy::Identity;
use serde_json::json;

fn identity(sub: &str, admin: bool) -> Identity {
    let groups = if admin { json!(["admin"]) } else { json!([]) };
    let claims = json!({ "sub": sub, "cognito:groups": groups });
    Identity::from_claims(claims.as_object().expect("an object")).expect("an identity")
}

#[tokio::test]
async fn the_topics_a_caller_is_given_are_the_topics_the_broker_lets_them_read() {
    let local = common::start(None).await;

    let (status, customer) = local
        .call("POST", "/realtime/access", Some(&local.customer), None)
        .await;
    assert_eq!(status, 200, "{customer}");
    assert_eq!(customer["identityId"], "local:alice");
    assert_eq!(
        customer["topics"],
        json!(["serverlesspresso-user-alice", "serverlesspresso-config"])
    );

    let (status, barista) = local
        .call("POST", "/realtime/access", Some(&local.barista), None)
        .await;
    assert_eq!(status, 200, "{barista}");
    let topics: Vec<&str> = barista["topics"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        topics,
        [
            "serverlesspresso-user-bob",
            "serverlesspresso-config",
            "serverlesspresso-admin"
        ]
    );

    // The broker agrees: every named topic is readable by that identity, and the admin topic
    // is not readable by the customer.
    for topic in &topics {
        assert!(identity("bob", true).may_subscribe(topic), "{topic}");
    }
    for topic in customer["topics"].as_array().into_iter().flatten() {
        assert!(identity("alice", false).may_subscribe(topic.as_str().unwrap_or_default()));
    }
    assert!(!identity("alice", false).may_subscribe("serverlesspresso-admin"));
}

#[tokio::test]
async fn without_a_token_there_is_no_access() {
    let local = common::start(None).await;
    let (status, body) = local.call("POST", "/realtime/access", None, None).await;
    assert_eq!(status, 401);
    assert!(body["message"].is_string());
}
