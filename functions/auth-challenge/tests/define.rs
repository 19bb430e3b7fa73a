//! Define auth challenge: a code challenge, tokens after a right answer, failure after three
//! wrong ones or on any other flow.

mod common;

use auth_challenge::handle;
use common::{RecordingSender, answered, sample};
use serde_json::{Value, json};

async fn define(session: Value) -> Value {
    let mut event = sample("auth-define-challenge");
    event["request"]["session"] = session;
    let out = handle(&RecordingSender::default(), event).await.unwrap();
    out["response"].clone()
}

fn is_challenge(r: &Value) -> bool {
    r["challengeName"] == "CUSTOM_CHALLENGE"
        && r["issueTokens"] == false
        && r["failAuthentication"] == false
}

#[tokio::test]
async fn the_sample_event_starts_with_a_code_challenge() {
    let out = handle(&RecordingSender::default(), sample("auth-define-challenge"))
        .await
        .unwrap();
    assert!(is_challenge(&out["response"]), "{out}");
    // The rest of the event goes back as it came.
    assert_eq!(out["userName"], "3f1c9d2e-0b7a-4c55-9a51-0c7d2f4e8a11");
    assert_eq!(out["triggerSource"], "DefineAuthChallenge_Authentication");
}

#[tokio::test]
async fn a_right_answer_issues_tokens() {
    let r = define(json!([answered(true, Some("CODE-123456"))])).await;
    assert_eq!(r["issueTokens"], true);
    assert_eq!(r["failAuthentication"], false);
    assert!(r["challengeName"].is_null());
}

#[tokio::test]
async fn a_right_answer_after_two_wrong_ones_issues_tokens() {
    let r = define(json!([
        answered(false, Some("CODE-123456")),
        answered(false, Some("CODE-123456")),
        answered(true, Some("CODE-123456")),
    ]))
    .await;
    assert_eq!(r["issueTokens"], true);
}

#[tokio::test]
async fn up_to_two_wrong_answers_get_another_challenge() {
    for wrong in 1..=2 {
        let session: Vec<Value> = (0..wrong).map(|_| answered(false, None)).collect();
        let r = define(json!(session)).await;
        assert!(is_challenge(&r), "after {wrong} wrong answers: {r}");
    }
}

#[tokio::test]
async fn three_wrong_answers_fail_the_sign_in() {
    let session: Vec<Value> = (0..3)
        .map(|_| answered(false, Some("CODE-123456")))
        .collect();
    let r = define(json!(session)).await;
    assert_eq!(r["failAuthentication"], true);
    assert_eq!(r["issueTokens"], false);
    assert!(r["challengeName"].is_null());
}

#[tokio::test]
async fn a_password_flow_on_this_path_is_refused() {
    // USER_SRP_AUTH with custom auth: Cognito lists SRP_A (and PASSWORD_VERIFIER) first.
    for other in ["SRP_A", "PASSWORD_VERIFIER"] {
        let r = define(json!([
            { "challengeName": other, "challengeResult": true, "challengeMetadata": null }
        ]))
        .await;
        assert_eq!(r["failAuthentication"], true, "{other}: {r}");
        assert_eq!(r["issueTokens"], false, "{other}: {r}");
    }
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_challenge_but_never_tokens() {
    let mut event = sample("auth-define-challenge");
    event["request"]["userNotFound"] = json!(true);
    let out = handle(&RecordingSender::default(), event.clone())
        .await
        .unwrap();
    assert!(is_challenge(&out["response"]), "{out}");
    event["request"]["session"] = json!([answered(true, None)]);
    let out = handle(&RecordingSender::default(), event).await.unwrap();
    assert_eq!(out["response"]["issueTokens"], false);
    assert_eq!(out["response"]["failAuthentication"], true);
}
