//! The local API Gateway: the REST API of `template.yaml` (resource `CoffeeApi`), served by axum
//! on a laptop, with the routes, Cognito-style auth, request validation, throttling, CORS and
//! integrations that the deployed API has, so `curl` behaves as it does against AWS.
//!
//! # Why it reads the template
//!
//! The OpenAPI body in `CoffeeApi.Properties.DefinitionBody` is the single source of truth for
//! both AWS and this emulator: paths and methods, `security`, `parameters`,
//! `x-amazon-apigateway-request-validator(s)`, `components/schemas` models,
//! `x-amazon-apigateway-integration` (`aws_proxy` → a Lambda, `aws` → SQS `SendMessage`,
//! `mock` → CORS preflights) and `x-amazon-apigateway-gateway-responses`. Everything is parsed
//! and compiled once, at start-up ([`ApiSpec::from_template`]); anything the emulator cannot
//! reproduce faithfully (an unknown integration type, a VTL construct outside the supported
//! subset, a non-Cognito authorizer, an unresolvable `$ref`) is refused there with an error that
//! names the route, so a template change can never silently make the local API differ.
//!
//! # API
//!
//! ```text
//! pub trait Backend: Send + Sync + 'static {
//!     fn invoke(&self, function: &str, event: Value) -> BoxFuture<'static, Result<Value, String>>;
//!     fn send_message(&self, queue: &str, body: String) -> BoxFuture<'static, Result<String, String>>;
//! }
//! ApiSpec::from_template(template_yaml: &str) -> Result<ApiSpec, GatewayError>
//! ApiSpec::from_template_api(template_yaml: &str, logical_id: &str) -> Result<ApiSpec, GatewayError>
//! ApiSpec::from_openapi(doc: &Value) -> Result<ApiSpec, GatewayError>
//! ApiSpec::{routes() -> Vec<RouteInfo>, stage() -> &str, throttle() -> Throttle,
//!          method_throttles() -> &[MethodThrottle]}
//! LocalAuth::new(key: &[u8], issuer: &str) -> LocalAuth
//! LocalAuth::{with_client_id, issuer, client_id, claims, sign, mint, verify}
//! Throttle { rate_per_second: f64, burst: u32 }
//! MethodThrottle { path: String, method: String, throttle: Throttle }
//! GatewayConfig::new(api: ApiSpec, auth: LocalAuth) -> GatewayConfig   // pub fields, defaults below
//! router(config: GatewayConfig, backend: Arc<dyn Backend>) -> axum::Router
//! ```
//!
//! Serve the router with `into_make_service_with_connect_info::<SocketAddr>()` so that the
//! events carry the caller's address in `requestContext.identity.sourceIp` (without it,
//! `127.0.0.1` is reported).
//!
//! # What a request goes through (in API Gateway's order)
//!
//! 1. **Throttling**: 429 `{"message": "Too Many Requests"}`. A method that the stage's
//!    `MethodSettings` name (`ResourcePath: /~1config`, `HttpMethod: GET`) takes a token from
//!    its own bucket first ([`MethodThrottle`]); then every request takes one from the stage
//!    bucket ([`Throttle`], the `/*` `*` entry, else the `ApiThrottleRateLimit` and
//!    `ApiThrottleBurstLimit` parameter defaults). So a flood on a throttled public method is
//!    cut at its own limit and cannot use up what the other methods share. (Deviation: AWS
//!    gives every method its own bucket at the stage default, with the account limit as the
//!    shared cap; locally the methods without their own settings share the stage bucket.)
//! 2. **Routing**: every (method, path template) is served at the root (`/orders/{id}`) and under
//!    the stage prefix (`/Prod/orders/{id}`, as in AWS URLs). `{id}` is one segment, `{p+}` the
//!    rest of the path, and a literal segment beats a parameter. Unknown path: 404
//!    `{"message": "No route for GET /x"}`; known path, other method: 405 with an `Allow`
//!    header.
//! 3. **Auth** (routes with `security`): `Authorization: Bearer <jwt>` or the bare token, an HS256
//!    token from [`LocalAuth`] shaped like a Cognito access token; signature, `exp`, `iss`,
//!    `token_use == "access"` and the route's OAuth scopes are checked: 401
//!    `{"message": "Unauthorized"}`. The claims reach the Lambda as API Gateway REST's Cognito
//!    authorizer passes them: every value a string, `cognito:groups` comma-separated.
//! 4. **Body size**: more than [`GatewayConfig::max_body_bytes`] (64 KiB): 413.
//! 5. **Validation** (the route's request validator): required query-string parameters and
//!    headers, then the body against its `components/schemas` model: 400. As in API Gateway, a
//!    missing (or blank) body is validated as `{}`, whether or not `requestBody.required` is
//!    set, so an optional body's model must accept `{}`. Parameter schemas (`enum`, `pattern`,
//!    lengths, bounds) are checked no more than API Gateway checks them, which is not at all:
//!    its validator only requires required parameters to be present. They document what the
//!    functions accept, and the functions refuse anything else with a 400 `{"message": ...}`;
//!    `.ci/fuzz-api` checks that the two agree (schemathesis' positive-data acceptance).
//! 6. **Integration**: `aws_proxy` → [`Backend::invoke`] with a REST (v1) proxy event; `aws` (SQS)
//!    → the request template's message → [`Backend::send_message`] → the SQS
//!    `SendMessageResponse` JSON; `mock` → the declared status and headers.
//!
//! Every response carries `Access-Control-Allow-Origin: *` (unless a Lambda chose its own) and
//! `x-amzn-RequestId`; every error body is `{"message": ...}`.
//!
//! # Deliberate differences from API Gateway
//!
//! * Unknown paths are 404 and wrong methods 405; API Gateway answers 403
//!   `{"message": "Missing Authentication Token"}` for both, which sends people hunting for an
//!   auth problem that does not exist.
//! * Bodies are limited to 64 KiB, not 10 MB: the largest valid body here is a few hundred bytes,
//!   and a small limit keeps a laptop stack from buffering junk. A body that is not UTF-8 text is
//!   a 400 (no `binaryMediaTypes` are configured, so the functions only ever get text).
//! * One token bucket for the whole API; AWS applies the stage's `/*/*` method setting to each
//!   method separately (and adds account-level limits).
//! * A route with a body model validates every body against it whatever its `Content-Type`
//!   (API Gateway skips validation when no model matches the content type: a known bypass).
//! * Claims inserted into an SQS message by the request template are JSON-string-escaped (API
//!   Gateway inserts them raw, so a claim with a `"` would break the message JSON).
//! * A query parameter sent empty (`?token=`) counts as missing for a required parameter.
//! * `requestBody.required: true` refuses a missing body before the model is consulted (API
//!   Gateway has no such setting; it validates the missing body as `{}` against the model,
//!   which refuses it anyway when the model requires a property).
//! * Header names reach the Lambda lower-cased (HTTP/1 parsing normalises them); API Gateway
//!   keeps the client's spelling. Handlers must (and do) read headers case-insensitively.
//! * A failed `send_message` is treated as SQS answering 500, and rendered through the
//!   integration response the template selects for that status.
//! * Integration timeout is [`GatewayConfig::integration_timeout`] (29 s by default, AWS's limit)
//!   → 504 `{"message": "Endpoint request timed out"}`.
//! * An SQS request whose `Content-Type` has no request template is 415 whatever the
//!   `passthroughBehavior` (with `when_no_match` AWS would forward the raw body, which SQS
//!   rejects anyway). SQS `requestParameters` other than the form `Content-Type` and
//!   `Accept: application/json` are refused at start-up (they would change what SQS answers).
//! * Throttling is checked before routing, so unknown paths count against the bucket too.
//! * Gateway-response templates are not evaluated: the gateway's own messages are used, with
//!   the status and static headers the template declares for that response type.

mod auth;
mod event;
mod pipeline;
mod spec;
mod throttle;
mod vtl;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use auth::{AccessTokenClaims, AuthFailure, LocalAuth};
pub use pipeline::DETAIL_HEADER;
pub use spec::{ApiSpec, RouteInfo, RouteTarget};
pub use throttle::{MethodThrottle, Throttle};

/// A boxed, sendable future: what [`Backend`] returns, so that the trait stays object-safe
/// (`Arc<dyn Backend>`) without pulling in the `futures` crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the gateway calls: the local stack's functions and queue.
pub trait Backend: Send + Sync + 'static {
    /// Lambda proxy integration: `function` is the logical id in the integration uri
    /// (`${OrderManagerFunction.Arn}` → `"OrderManagerFunction"`); `event` is the API Gateway
    /// REST (v1) proxy event. Returns the proxy response JSON
    /// (`{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`); an `Err` is answered
    /// 502 `{"message": "Internal server error"}`, like a Lambda that failed.
    fn invoke(
        &self,
        function: &str,
        event: serde_json::Value,
    ) -> BoxFuture<'static, Result<serde_json::Value, String>>;

    /// SQS `SendMessage` integration: `queue` is the logical id (`${OrderQueue.QueueName}` →
    /// `"OrderQueue"`). Returns the new message id once the message is durably stored (the HTTP
    /// answer promises the order is accepted, so it must survive a restart).
    fn send_message(&self, queue: &str, body: String)
    -> BoxFuture<'static, Result<String, String>>;
}

/// Configuration problems, all detected at start-up (requests never produce these).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The template or its OpenAPI body cannot be read at all.
    #[error("template: {0}")]
    Template(String),
    /// One route uses something the local gateway cannot reproduce faithfully.
    #[error("route {method} {path}: {reason}")]
    Route {
        method: String,
        path: String,
        reason: String,
    },
    /// A local token could not be signed.
    #[error("local token: {0}")]
    Token(String),
}

/// API Gateway's own limit is 10 MB; ours is 64 KiB on purpose (see the module docs).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// API Gateway REST's maximum integration timeout.
pub const DEFAULT_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// Everything the gateway needs besides the backend. Build it with [`GatewayConfig::new`] (stage
/// and throttling from the template) and override fields as needed.
pub struct GatewayConfig {
    pub api: ApiSpec,
    pub auth: LocalAuth,
    pub throttle: Throttle,
    /// Methods with their own bucket, checked before the stage bucket.
    pub method_throttles: Vec<MethodThrottle>,
    /// The stage prefix also served (`/Prod/...`) and reported in `requestContext.stage`.
    pub stage: String,
    pub max_body_bytes: usize,
    pub integration_timeout: Duration,
}

impl GatewayConfig {
    /// Stage and throttling as the template deploys them; 64 KiB bodies; 29 s integrations.
    pub fn new(api: ApiSpec, auth: LocalAuth) -> Self {
        GatewayConfig {
            throttle: api.throttle(),
            method_throttles: api.method_throttles().to_vec(),
            stage: api.stage().to_owned(),
            api,
            auth,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            integration_timeout: DEFAULT_INTEGRATION_TIMEOUT,
        }
    }
}

/// The gateway as an axum router (every path goes through one handler, which does its own
/// API-Gateway-style matching: stage prefix, literal-over-parameter, 404 vs 405).
pub fn router(config: GatewayConfig, backend: Arc<dyn Backend>) -> axum::Router {
    pipeline::router(config, backend)
}
