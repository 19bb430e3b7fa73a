//! Sign-in by phone number with a one-time code (Cognito `CUSTOM_AUTH`), as the Serverlesspresso
//! order app does it: `Auth.signIn(phone)`, then `sendCustomChallengeAnswer(code)`.
//!
//! One function serves the four user-pool triggers and dispatches on the event's
//! `triggerSource`:
//! * `PreSignUp_*`: phone-number sign-ups are confirmed and their phone marked verified
//!   ([`signup`]);
//! * `DefineAuthChallenge_*`: the flow: a code challenge, tokens after a right answer, failure
//!   after three wrong ones ([`define`]);
//! * `CreateAuthChallenge_*`: a 6-digit code, kept private and sent by SMS ([`create`]);
//! * `VerifyAuthChallengeResponse_*`: constant-time compare of the answer ([`verify`]).
//!
//! Cognito expects the event back with its `response` filled in. An event that cannot be read
//! is answered with an error (Cognito then fails the sign-in), never a panic.
//!
//! The code is a secret: it is never logged, never put in the public challenge parameters
//! (those go to the client), and never part of an error message.

pub mod create;
pub mod define;
pub mod signup;
pub mod sns;
pub mod verify;

mod handler;
pub use handler::{AuthChallenge, Handler};

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsCreateAuthChallenge, CognitoEventUserPoolsDefineAuthChallenge,
    CognitoEventUserPoolsPreSignup, CognitoEventUserPoolsVerifyAuthChallenge,
};
pub use create::CodeSender;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why a trigger refused or could not answer. Messages name the field, never its value (the
/// event holds the phone number and, in the verify trigger, the code).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// The event is not one of the four triggers, or is missing what that trigger needs.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The sign-up is refused (Cognito shows this message to the user).
    #[error("{0}")]
    Rejected(String),
    /// The code could not be delivered; the sign-in fails and the user may try again.
    #[error("the sign-in code could not be sent")]
    SendFailed,
}

impl AuthError {
    fn kind(&self) -> &'static str {
        match self {
            AuthError::Malformed(_) => "MalformedEvent",
            AuthError::Rejected(_) => "SignUpRejected",
            AuthError::SendFailed => "CodeNotSent",
        }
    }
}

impl From<AuthError> for Diagnostic {
    fn from(e: AuthError) -> Self {
        Diagnostic {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// The trigger an event is for, read from its `triggerSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    PreSignUp,
    Define,
    Create,
    Verify,
}

impl Trigger {
    /// The trigger of `event`, from the prefix of its `triggerSource` (the suffix says which
    /// action started it, e.g. `PreSignUp_SignUp` or `PreSignUp_AdminCreateUser`).
    pub fn of(event: &Value) -> Result<Trigger, AuthError> {
        let source = event
            .get("triggerSource")
            .and_then(Value::as_str)
            .ok_or_else(|| AuthError::Malformed("no triggerSource".into()))?;
        let prefix = source.split('_').next().unwrap_or_default();
        match prefix {
            "PreSignUp" => Ok(Trigger::PreSignUp),
            "DefineAuthChallenge" => Ok(Trigger::Define),
            "CreateAuthChallenge" => Ok(Trigger::Create),
            "VerifyAuthChallengeResponse" => Ok(Trigger::Verify),
            _ => Err(AuthError::Malformed(format!(
                "trigger {source} is not served by this function"
            ))),
        }
    }
}

fn decode<T: DeserializeOwned>(trigger: Trigger, event: Value) -> Result<T, AuthError> {
    // Not serde's message: for a wrongly typed field it quotes the value, which may be the
    // phone number or the code, and this message reaches Cognito's error and the log.
    serde_json::from_value(event)
        .map_err(|_| AuthError::Malformed(format!("not a {trigger:?} trigger event")))
}

fn encode(event: impl Serialize) -> Result<Value, AuthError> {
    serde_json::to_value(event).map_err(|e| AuthError::Malformed(e.to_string()))
}

/// The Lambda event: any of the four triggers, answered with the same event and its
/// `response` filled in.
pub async fn handle<S: CodeSender>(sender: &S, event: Value) -> Result<Value, AuthError> {
    let trigger = Trigger::of(&event)?;
    tracing::info!(?trigger, "user pool trigger");
    match trigger {
        Trigger::PreSignUp => {
            let mut ev: CognitoEventUserPoolsPreSignup = decode(trigger, event)?;
            signup::pre_sign_up(&mut ev)?;
            encode(ev)
        }
        Trigger::Define => {
            let mut ev: CognitoEventUserPoolsDefineAuthChallenge = decode(trigger, event)?;
            define::define(&mut ev);
            encode(ev)
        }
        Trigger::Create => {
            let mut ev: CognitoEventUserPoolsCreateAuthChallenge = decode(trigger, event)?;
            create::create(sender, &mut ev).await?;
            encode(ev)
        }
        Trigger::Verify => {
            let mut ev: CognitoEventUserPoolsVerifyAuthChallenge = decode(trigger, event)?;
            verify::verify(&mut ev);
            encode(ev)
        }
    }
}
