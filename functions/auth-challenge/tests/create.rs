//! Create auth challenge: a fresh 6-digit code, private, sent by SMS once per session.

mod common;

use auth_challenge::{AuthError, handle};
use common::{RecordingSender, answered, sample};
use serde_json::{Value, json};
use std::collections::HashSet;

fn private_code(out: &Value) -> String {
    out["response"]["privateChallengeParameters"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_new_code_is_private_and_sent_to_the_phone() {
    let sms = RecordingSender::default();
    let out = handle(&sms, sample("auth-create-challenge")).await.unwrap();
    let code = private_code(&out);
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(sms.sent(), vec![("+14325551212".to_owned(), code.clone())]);
}

#[tokio::test]
async fn the_code_is_not_in_the_public_parameters() {
    let sms = RecordingSender::default();
    let out = handle(&sms, sample("auth-create-challenge")).await.unwrap();
    let code = private_code(&out);
    let public = &out["response"]["publicChallengeParameters"];
    assert!(
        public.is_object() && !public.as_object().unwrap().is_empty(),
        "{public}"
    );
    for (k, v) in public.as_object().unwrap() {
        assert!(
            !v.as_str().unwrap_or_default().contains(&code),
            "public {k} holds the code"
        );
    }
    assert!(!public.to_string().contains(&code));
}

#[tokio::test]
async fn codes_differ_between_sessions() {
    let sms = RecordingSender::default();
    let mut codes = HashSet::new();
    for _ in 0..50 {
        let out = handle(&sms, sample("auth-create-challenge")).await.unwrap();
        codes.insert(private_code(&out));
    }
    // 50 draws from a million: a repeat is possible (p ~ 0.1%) but many are not.
    assert!(codes.len() >= 48, "{} distinct codes", codes.len());
    assert_eq!(sms.sent().len(), 50);
}

#[tokio::test]
async fn a_retry_reuses_the_sessions_code_without_another_sms() {
    let sms = RecordingSender::default();
    let first = handle(&sms, sample("auth-create-challenge")).await.unwrap();
    let code = private_code(&first);
    let metadata = first["response"]["challengeMetadata"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut retry = sample("auth-create-challenge");
    retry["request"]["session"] = json!([answered(false, Some(&metadata))]);
    let second = handle(&sms, retry).await.unwrap();
    assert_eq!(private_code(&second), code);
    assert_eq!(sms.sent().len(), 1, "one SMS per session");
}

#[tokio::test]
async fn metadata_that_is_not_a_code_gets_a_new_one_sent() {
    let sms = RecordingSender::default();
    let mut event = sample("auth-create-challenge");
    event["request"]["session"] = json!([answered(false, Some("CODE-12ab56"))]);
    let out = handle(&sms, event).await.unwrap();
    let code = private_code(&out);
    assert_ne!(code, "12ab56");
    assert_eq!(sms.sent(), vec![("+14325551212".to_owned(), code)]);
}

#[tokio::test]
async fn no_sms_for_an_unverified_phone_or_an_unknown_user() {
    let sms = RecordingSender::default();
    let mut unverified = sample("auth-create-challenge");
    unverified["request"]["userAttributes"]["phone_number_verified"] = json!("false");
    let out = handle(&sms, unverified).await.unwrap();
    assert_eq!(
        out["response"]["challengeMetadata"]
            .as_str()
            .map(|m| m.len()),
        Some(11)
    );

    let mut unknown = sample("auth-create-challenge");
    unknown["request"]["userNotFound"] = json!(true);
    unknown["request"]["userAttributes"] = json!({});
    let out = handle(&sms, unknown).await.unwrap();
    // The client sees the same challenge shape.
    assert_eq!(
        out["response"]["publicChallengeParameters"]["codeDelivery"],
        "SMS"
    );
    assert!(sms.sent().is_empty());
}

#[tokio::test]
async fn a_failed_sms_fails_the_trigger() {
    let err = handle(&RecordingSender::failing(), sample("auth-create-challenge"))
        .await
        .unwrap_err();
    assert_eq!(err, AuthError::SendFailed);
}

#[tokio::test]
async fn another_challenge_name_is_refused() {
    let mut event = sample("auth-create-challenge");
    event["request"]["challengeName"] = json!("SRP_A");
    let sms = RecordingSender::default();
    assert!(matches!(
        handle(&sms, event).await,
        Err(AuthError::Malformed(_))
    ));
    assert!(sms.sent().is_empty());
}
