//! Events that are not what the function serves: errors, never panics; and the code never in
//! the logs.

mod common;

use auth_challenge::{AuthError, handle};
use common::{RecordingSender, sample};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};

async fn malformed(event: Value) {
    let err = handle(&RecordingSender::default(), event.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Malformed(_)), "{event}: {err:?}");
}

#[tokio::test]
async fn events_the_function_cannot_read_are_errors() {
    malformed(json!(null)).await;
    malformed(json!("DefineAuthChallenge_Authentication")).await;
    malformed(json!({})).await;
    malformed(json!({ "triggerSource": 42 })).await;
    malformed(json!({ "triggerSource": "PostConfirmation_ConfirmSignUp" })).await;
    malformed(json!({ "triggerSource": "PreSignUp_Unknown", "request": {}, "response": {} })).await;
    for name in [
        "auth-define-challenge",
        "auth-create-challenge",
        "auth-verify-challenge",
        "auth-pre-sign-up",
    ] {
        let mut event = sample(name);
        event["request"] = json!("not an object");
        malformed(event).await;
        let mut event = sample(name);
        event.as_object_mut().unwrap().remove("callerContext");
        malformed(event).await;
    }
    let mut event = sample("auth-define-challenge");
    event["request"]["session"] = json!({ "not": "a list" });
    malformed(event).await;
}

#[tokio::test]
async fn a_malformed_event_does_not_repeat_its_values() {
    // A code where a map is expected: the error must not quote it.
    let mut event = sample("auth-verify-challenge");
    event["request"]["privateChallengeParameters"] = json!("482916");
    let err = handle(&RecordingSender::default(), event)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("482916"), "{err}");
}

/// Log lines written while a test runs, in a buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test] // one thread: the subscriber set below sees every line of the flow
async fn the_code_is_never_logged() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sms = RecordingSender::default();
    let created = handle(&sms, sample("auth-create-challenge")).await.unwrap();
    let code = created["response"]["privateChallengeParameters"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut verify = sample("auth-verify-challenge");
    verify["request"]["privateChallengeParameters"]["code"] = json!(code);
    verify["request"]["challengeAnswer"] = json!(code);
    let out = handle(&sms, verify).await.unwrap();
    assert_eq!(out["response"]["answerCorrect"], true);
    let mut define = sample("auth-define-challenge");
    define["request"]["session"] = json!([common::answered(true, Some(&format!("CODE-{code}")))]);
    handle(&sms, define).await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("code challenge created"),
        "logging was captured: {text}"
    );
    assert!(
        !text.contains(&code),
        "the code {code} is in the logs:\n{text}"
    );
    assert!(
        !text.contains("+14325551212"),
        "the phone number is in the logs:\n{text}"
    );
}
