//! Verify auth challenge response: the answer against the private code.

mod common;

use auth_challenge::handle;
use auth_challenge::verify::answer_matches;
use common::{RecordingSender, sample};
use serde_json::{Value, json};

async fn verify(answer: Value) -> bool {
    let mut event = sample("auth-verify-challenge");
    event["request"]["challengeAnswer"] = answer;
    let out = handle(&RecordingSender::default(), event).await.unwrap();
    out["response"]["answerCorrect"].as_bool().unwrap()
}

#[tokio::test]
async fn the_sample_answer_is_correct() {
    let out = handle(&RecordingSender::default(), sample("auth-verify-challenge"))
        .await
        .unwrap();
    assert_eq!(out["response"]["answerCorrect"], true);
}

#[tokio::test]
async fn wrong_answers_are_wrong() {
    for answer in [
        json!("482917"),  // last digit off
        json!("48291"),   // a prefix
        json!("4829160"), // a longer one
        json!(""),
        json!(482916), // not a string
        Value::Null,
        json!(["482916"]),
    ] {
        assert!(!verify(answer.clone()).await, "{answer} accepted");
    }
}

#[tokio::test]
async fn surrounding_spaces_of_a_typed_code_are_ignored() {
    assert!(verify(json!(" 482916\n")).await);
}

#[tokio::test]
async fn no_code_in_the_private_parameters_accepts_nothing() {
    for params in [json!({}), Value::Null, json!({ "code": "" })] {
        let mut event = sample("auth-verify-challenge");
        event["request"]["privateChallengeParameters"] = params.clone();
        event["request"]["challengeAnswer"] = json!("");
        let out = handle(&RecordingSender::default(), event).await.unwrap();
        assert_eq!(out["response"]["answerCorrect"], false, "{params}");
    }
}

#[tokio::test]
async fn an_unknown_user_is_never_right() {
    let mut event = sample("auth-verify-challenge");
    event["request"]["userNotFound"] = json!(true);
    let out = handle(&RecordingSender::default(), event).await.unwrap();
    assert_eq!(out["response"]["answerCorrect"], false);
}

/// The compare itself (subtle's `ct_eq`: every byte is looked at, no early exit on the first
/// difference). Timing is not measured here (too noisy on a shared CI machine); this checks
/// the results the constant-time compare must give.
#[test]
fn the_compare_gives_equality_and_nothing_else() {
    assert!(answer_matches("000000", "000000"));
    assert!(answer_matches("999999", "999999"));
    assert!(!answer_matches("000001", "000000"));
    assert!(!answer_matches("100000", "000000"));
    assert!(!answer_matches("00000", "000000"));
    assert!(!answer_matches("", ""));
    assert!(!answer_matches("٠٠٠٠٠٠", "000000")); // Arabic-Indic digits are not ASCII digits
}
