//! Pre sign-up: phone sign-ups confirmed and their phone verified; malformed numbers refused.

mod common;

use auth_challenge::signup::is_e164;
use auth_challenge::{AuthError, handle};
use common::{RecordingSender, sample};
use serde_json::{Value, json};

async fn sign_up(event: Value) -> Result<Value, AuthError> {
    handle(&RecordingSender::default(), event).await
}

#[tokio::test]
async fn a_phone_sign_up_is_confirmed_and_its_phone_verified() {
    let out = sign_up(sample("auth-pre-sign-up")).await.unwrap();
    let r = &out["response"];
    assert_eq!(r["autoConfirmUser"], true);
    assert_eq!(r["autoVerifyPhone"], true);
    assert_eq!(r["autoVerifyEmail"], false);
}

#[tokio::test]
async fn an_email_sign_up_is_left_to_the_pools_verification() {
    let mut event = sample("auth-pre-sign-up");
    event["request"]["userAttributes"] = json!({ "email": "ana@example.com" });
    let r = sign_up(event).await.unwrap()["response"].clone();
    assert_eq!(r["autoConfirmUser"], false);
    assert_eq!(r["autoVerifyPhone"], false);
    assert_eq!(r["autoVerifyEmail"], false);
}

#[tokio::test]
async fn admin_created_users_are_not_auto_confirmed() {
    let mut event = sample("auth-pre-sign-up");
    event["triggerSource"] = json!("PreSignUp_AdminCreateUser");
    let r = sign_up(event).await.unwrap()["response"].clone();
    assert_eq!(r["autoConfirmUser"], false);
    assert_eq!(r["autoVerifyPhone"], false);
}

#[tokio::test]
async fn a_malformed_phone_number_is_refused() {
    for phone in [
        "7700900123",
        "+0770090",
        "+44 7700 900123",
        "+4477009001234567",
        "+",
        "+4",
    ] {
        let mut event = sample("auth-pre-sign-up");
        event["request"]["userAttributes"]["phone_number"] = json!(phone);
        let err = sign_up(event).await.unwrap_err();
        assert!(matches!(err, AuthError::Rejected(_)), "{phone}: {err:?}");
        // (Too short to tell: the message has a "+" of its own.)
        assert!(
            phone.len() < 3 || !err.to_string().contains(phone),
            "the message repeats the number"
        );
    }
}

#[test]
fn e164_numbers() {
    assert!(is_e164("+14325551212"));
    assert!(is_e164("+447700900123"));
    assert!(is_e164("+123456789012345")); // 15 digits
    assert!(!is_e164("+1234567890123456")); // 16
    assert!(!is_e164("+1-432-555-1212"));
    assert!(!is_e164("+１４３２５５５１２１２")); // full-width digits
}
