//! Create auth challenge: the one-time code, kept in the private challenge parameters (only
//! the verify trigger sees them) and sent to the user's phone by SMS.
//!
//! Retries reuse the code (as the original did): a wrong answer gets a new challenge in the
//! same session, and that challenge carries the code of the previous one instead of sending a
//! new SMS. So a typo costs no SMS, the user keeps typing the code they received, and one
//! session sends one SMS at most (three attempts are still the limit, see `define`). The code
//! travels from one challenge to the next in `challengeMetadata`, which Cognito keeps in its
//! session and hands only to the define and create triggers, never to the client.

use crate::AuthError;
use crate::define::CUSTOM_CHALLENGE;
use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsChallengeResult, CognitoEventUserPoolsCreateAuthChallenge,
};
use rand::RngExt;
use std::future::Future;

/// The key of the code in the private challenge parameters.
pub const CODE_PARAMETER: &str = "code";
/// The public parameter that tells the client what to ask for (no secret in it).
pub const PUBLIC_HINT: &str = "codeDelivery";
const METADATA_PREFIX: &str = "CODE-";
const CODE_DIGITS: usize = 6;

/// The port that delivers a code to a phone (SNS SMS in Lambda, a recording fake in tests).
/// Implementations must not log the code nor the message that carries it.
pub trait CodeSender: Send + Sync {
    fn send_code(
        &self,
        phone: &str,
        code: &str,
    ) -> impl Future<Output = Result<(), AuthError>> + Send;
}

/// A one-time code: six decimal digits from the thread-local CSPRNG (ChaCha, seeded and
/// periodically reseeded from the operating system), uniform over 000000..=999999.
pub fn new_code() -> String {
    let n: u32 = rand::rng().random_range(0..1_000_000);
    format!("{n:06}")
}

/// Whether `code` has the shape of a code this function makes.
fn is_code(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// The code of the latest challenge of this session, if it carried one.
fn previous_code(session: &[Option<CognitoEventUserPoolsChallengeResult>]) -> Option<String> {
    let last = session.iter().rev().flatten().next()?;
    if last.challenge_name.as_deref() != Some(CUSTOM_CHALLENGE) {
        return None;
    }
    let code = last
        .challenge_metadata
        .as_deref()?
        .strip_prefix(METADATA_PREFIX)?;
    is_code(code).then(|| code.to_owned())
}

/// The verified phone number of the user, if any: a code is only sent to a number the user
/// proved (pre sign-up verifies it for phone sign-ups; a changed number is unverified until
/// confirmed), never to a number someone merely typed into their profile.
fn verified_phone(event: &CognitoEventUserPoolsCreateAuthChallenge) -> Option<&str> {
    let attrs = &event.request.user_attributes;
    let verified = attrs.get("phone_number_verified").map(String::as_str) == Some("true");
    attrs
        .get("phone_number")
        .map(String::as_str)
        .filter(|_| verified && !event.request.user_not_found)
}

/// Fills the trigger's response and sends the code when it is a new one.
pub async fn create<S: CodeSender>(
    sender: &S,
    event: &mut CognitoEventUserPoolsCreateAuthChallenge,
) -> Result<(), AuthError> {
    if event.request.challenge_name.as_deref() != Some(CUSTOM_CHALLENGE) {
        return Err(AuthError::Malformed(
            "challengeName is not CUSTOM_CHALLENGE".into(),
        ));
    }
    let (code, reused) = match previous_code(&event.request.session) {
        Some(code) => (code, true),
        None => (new_code(), false),
    };
    let phone = verified_phone(event);
    match (phone, reused) {
        (Some(phone), false) => sender.send_code(phone, &code).await?,
        (Some(_), true) => {}
        // An unknown user, or one without a verified phone: the challenge looks the same to
        // the client, but nobody receives the code, so nobody can answer it.
        (None, _) => tracing::warn!("no verified phone number: the code is not sent"),
    }
    tracing::info!(reused, "code challenge created");
    let response = &mut event.response;
    response.public_challenge_parameters.clear();
    response
        .public_challenge_parameters
        .insert(PUBLIC_HINT.to_owned(), "SMS".to_owned());
    response.private_challenge_parameters.clear();
    response
        .private_challenge_parameters
        .insert(CODE_PARAMETER.to_owned(), code.clone());
    response.challenge_metadata = Some(format!("{METADATA_PREFIX}{code}"));
    Ok(())
}
