//! Realtime access in AWS: the caller's identity-pool identity gets the read-only IoT policy
//! attached (see `functions/realtime-access`).

use crate::dependency_error;
use aws_sdk_cognitoidentity::operation::get_id::GetIdError;
use domain::ports::RealtimeAccess;
use domain::{AppError, Caller};

/// `GetId` (identity pool, the user pool as login) then `iot:AttachPolicy`.
#[derive(Clone)]
pub struct IdentityPoolIotAccess {
    identities: aws_sdk_cognitoidentity::Client,
    iot: aws_sdk_iot::Client,
    identity_pool_id: String,
    /// `cognito-idp.<region>.amazonaws.com/<user pool id>`: the login the pool knows the
    /// user pool's ID tokens by.
    user_pool_provider: String,
    policy_name: String,
}

impl IdentityPoolIotAccess {
    pub fn new(
        identities: aws_sdk_cognitoidentity::Client,
        iot: aws_sdk_iot::Client,
        identity_pool_id: impl Into<String>,
        user_pool_provider: impl Into<String>,
        policy_name: impl Into<String>,
    ) -> Self {
        IdentityPoolIotAccess {
            identities,
            iot,
            identity_pool_id: identity_pool_id.into(),
            user_pool_provider: user_pool_provider.into(),
            policy_name: policy_name.into(),
        }
    }

    /// The caller's identity id. The pool checks the token itself (it must be an ID token of
    /// the pool's app client), so the identity is the token holder's, whatever the request says.
    async fn identity_id(&self, id_token: &str) -> Result<String, AppError> {
        let out = self
            .identities
            .get_id()
            .identity_pool_id(&self.identity_pool_id)
            .logins(&self.user_pool_provider, id_token)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(GetIdError::NotAuthorizedException(_)) => AppError::forbidden(
                    "The identity pool refused this token: send the user's ID token (not the \
                     access token) in the Authorization header",
                ),
                _ => dependency_error("cognito-identity GetId")(e),
            })?;
        out.identity_id
            .ok_or_else(|| AppError::internal("cognito-identity GetId returned no identity id"))
    }
}

impl RealtimeAccess for IdentityPoolIotAccess {
    async fn grant(&self, caller: &Caller, id_token: &str) -> Result<String, AppError> {
        let identity_id = self.identity_id(id_token).await?;
        self.iot
            .attach_policy()
            .policy_name(&self.policy_name)
            .target(&identity_id)
            .send()
            .await
            .map_err(dependency_error("iot AttachPolicy"))?;
        tracing::info!(sub = %caller.sub, %identity_id, "realtime policy attached");
        Ok(identity_id)
    }
}
