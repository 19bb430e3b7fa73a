//! The user-pool triggers as a [`Function`]. They exist only in AWS (the local stack has no
//! Cognito), so only the AWS platform builds them.

use crate::sns::SnsCodeSender;
use crate::{AuthError, CodeSender};
use function::{AwsPlatform, Build, Context, Function, FunctionError, SettingsError};
use serde_json::Value;

pub struct AuthChallenge<S> {
    pub sender: S,
}

pub type Handler = AuthChallenge<SnsCodeSender>;

impl Build<AwsPlatform> for Handler {
    type Settings = ();

    fn build((): (), platform: &AwsPlatform) -> Result<Self, SettingsError> {
        Ok(AuthChallenge {
            sender: SnsCodeSender::new(aws_sdk_sns::Client::new(platform.sdk())),
        })
    }
}

impl From<AuthError> for FunctionError {
    fn from(e: AuthError) -> Self {
        FunctionError::new(e.kind(), e.to_string())
    }
}

impl<S: CodeSender + 'static> Function for AuthChallenge<S> {
    const NAME: &'static str = "AuthChallengeFunction";
    type Event = Value;
    type Output = Value;

    async fn handle(&self, event: Value, _: Context) -> Result<Value, FunctionError> {
        Ok(crate::handle(&self.sender, event).await?)
    }
}
