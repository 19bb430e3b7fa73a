//! `POST /realtime/access`: a signed-in frontend asks for its realtime topics before it
//! connects to IoT Core.
//!
//! IoT Core lets an authenticated Cognito identity read only what BOTH its identity-pool role
//! and an IoT policy attached to that identity allow. The roles (template.yaml,
//! `RealtimeCustomerRole` / `RealtimeAdminRole`) hold the per-user rules; the IoT policy is a
//! read-only upper bound that must be attached to each identity once. A browser cannot be
//! allowed to attach it itself (`iot:AttachPolicy` cannot be scoped to one target), so this
//! route does it for the caller:
//!
//! * the caller is who the API's Cognito authorizer verified (`sub`, `cognito:groups`);
//! * their identity id comes from the identity pool, given the very token the authorizer
//!   verified (`GetId` with the user pool as login), never from the body: one user cannot have
//!   the policy attached to another's identity;
//! * attaching again is harmless, so a frontend may call this at every sign-in.
//!
//! The answer names the identity and the topics the caller may subscribe to. On the local
//! stack the broker checks the local token itself (`crates/local-stack/src/mqtt`), so the
//! local grant has nothing to attach and names the identity `local:<sub>`.

mod handler;

pub use handler::{Handler, RealtimeAccessFn, Settings};

use apigw::{Request, Response};
use domain::AppError;
use domain::ports::RealtimeAccess;
use domain::realtime::readable_topics;
use serde_json::{Value, json};

/// The Lambda handler for the route.
pub async fn handle<A: RealtimeAccess>(req: &Request, access: &A) -> Response {
    apigw::respond(grant(req, access).await)
}

#[tracing::instrument(skip_all, fields(route = "POST /realtime/access"))]
async fn grant<A: RealtimeAccess>(req: &Request, access: &A) -> Result<(u16, Value), AppError> {
    let caller = apigw::caller(req)?;
    let token = raw_token(req)?;
    let identity_id = access.grant(&caller, token).await?;
    Ok((
        200,
        json!({ "identityId": identity_id, "topics": readable_topics(&caller) }),
    ))
}

/// The token the authorizer verified: the `Authorization` header, bare (as the original
/// frontends send it) or after `Bearer `.
fn raw_token(req: &Request) -> Result<&str, AppError> {
    let header = req
        .headers
        .get(aws_lambda_events::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    // A JWT starts with `eyJ`, so a header starting with the word "Bearer" is never a bare token.
    let token = header.strip_prefix("Bearer").map_or(header, str::trim);
    if token.is_empty() {
        return Err(AppError::Unauthorized(
            "Unauthorized: the request carries no token".into(),
        ));
    }
    Ok(token)
}
