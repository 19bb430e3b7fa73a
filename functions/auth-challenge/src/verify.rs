//! Verify auth challenge response: the answer against the private code, in constant time (the
//! time taken does not depend on how many leading digits are right).

use crate::create::CODE_PARAMETER;
use aws_lambda_events::event::cognito::CognitoEventUserPoolsVerifyAuthChallenge;
use serde_json::Value;
use subtle::ConstantTimeEq;

/// Whether `answer` is `expected`. Both are compared in full whatever their content; unequal
/// lengths answer false at once, which reveals only the length (always 6 for our codes).
pub fn answer_matches(answer: &str, expected: &str) -> bool {
    // An empty expected code never matches (a challenge without a code, or a broken event).
    !expected.is_empty() && bool::from(answer.as_bytes().ct_eq(expected.as_bytes()))
}

/// Fills the trigger's response. An answer that is not a string, a missing code, or an
/// unknown user is simply wrong.
pub fn verify(event: &mut CognitoEventUserPoolsVerifyAuthChallenge) {
    let request = &event.request;
    let expected = request
        .private_challenge_parameters
        .get(CODE_PARAMETER)
        .map(String::as_str)
        .unwrap_or_default();
    let answer = match &request.challenge_answer {
        Some(Value::String(s)) => s.trim(),
        _ => "",
    };
    let correct = !request.user_not_found && answer_matches(answer, expected);
    tracing::info!(correct, "code answer verified");
    event.response.answer_correct = correct;
}
