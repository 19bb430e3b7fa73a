//! Define auth challenge: which step comes next in a custom-auth sign-in.
//!
//! The session lists the challenges answered so far. The only challenge of this pool is our
//! own code (`CUSTOM_CHALLENGE`): one right answer signs the user in, three wrong ones end the
//! sign-in (a new one starts a new session with a new code). Any other challenge in the
//! session (SRP_A, PASSWORD_VERIFIER: a password flow reaching this trigger) fails the sign-in,
//! as the original did: this trigger only runs the code flow.

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsChallengeResult, CognitoEventUserPoolsDefineAuthChallenge,
};

/// The challenge this pool issues.
pub const CUSTOM_CHALLENGE: &str = "CUSTOM_CHALLENGE";
/// Wrong answers allowed in one sign-in session.
pub const MAX_ATTEMPTS: usize = 3;

/// The next step of the sign-in, given the challenges answered so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Ask for a (or another) code.
    Challenge,
    /// Signed in: issue tokens.
    Succeed,
    /// The sign-in is over without tokens.
    Fail,
}

/// The next step for `session` (oldest challenge first).
pub fn next_step(session: &[Option<CognitoEventUserPoolsChallengeResult>]) -> Step {
    let mut wrong = 0;
    for entry in session {
        // A null entry cannot be told apart from another flow's challenge: refuse it too.
        let Some(result) = entry else {
            return Step::Fail;
        };
        if result.challenge_name.as_deref() != Some(CUSTOM_CHALLENGE) {
            return Step::Fail;
        }
        if result.challenge_result {
            return Step::Succeed;
        }
        wrong += 1;
    }
    if wrong >= MAX_ATTEMPTS {
        Step::Fail
    } else {
        Step::Challenge
    }
}

/// Fills the trigger's response. An unknown user gets the same challenge as a known one (the
/// client cannot tell them apart; the pool prevents user-existence errors), and no code is
/// ever sent nor accepted for it (see the create and verify triggers).
pub fn define(event: &mut CognitoEventUserPoolsDefineAuthChallenge) {
    let step = next_step(&event.request.session);
    tracing::info!(
        ?step,
        answered = event.request.session.len(),
        "define auth challenge"
    );
    let response = &mut event.response;
    response.challenge_name = None;
    response.issue_tokens = false;
    response.fail_authentication = false;
    match step {
        Step::Challenge => response.challenge_name = Some(CUSTOM_CHALLENGE.to_owned()),
        Step::Succeed => response.issue_tokens = !event.request.user_not_found,
        Step::Fail => response.fail_authentication = true,
    }
    // A right answer for an unknown user cannot happen (verify refuses it); if it did, fail.
    if step == Step::Succeed && event.request.user_not_found {
        response.fail_authentication = true;
    }
}
