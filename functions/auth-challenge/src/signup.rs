//! Pre sign-up: a user who signs up with a phone number is confirmed at once and their phone
//! marked verified, so they can sign in with a code straight away (the order app signs up with
//! a random password it never uses). That is safe because signing in still needs the code sent
//! to that phone: marking it verified lets codes be sent there, it does not let anyone in.
//!
//! Only self-service sign-ups (`PreSignUp_SignUp`) with a well-formed phone number get this.
//! Sign-ups without a phone number (e-mail users) go through the pool's usual verification;
//! users created by an admin or an external provider are left as the pool would treat them.

use crate::AuthError;
use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPreSignup, CognitoEventUserPoolsPreSignupTriggerSource,
};

/// Whether `phone` is an E.164 number: `+`, a country code not starting with 0, and at most
/// 15 digits in all.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Fills the trigger's response; a malformed phone number refuses the sign-up.
pub fn pre_sign_up(event: &mut CognitoEventUserPoolsPreSignup) -> Result<(), AuthError> {
    let Some(phone) = event.request.user_attributes.get("phone_number") else {
        tracing::info!(phone = false, "pre sign-up");
        return Ok(());
    };
    if !is_e164(phone) {
        return Err(AuthError::Rejected(
            "phone_number must be in E.164 format, e.g. +14325551212".into(),
        ));
    }
    let self_service = event.cognito_event_user_pools_header.trigger_source
        == Some(CognitoEventUserPoolsPreSignupTriggerSource::SignUp);
    tracing::info!(phone = true, self_service, "pre sign-up");
    if self_service {
        event.response.auto_confirm_user = true;
        event.response.auto_verify_phone = true;
    }
    Ok(())
}
