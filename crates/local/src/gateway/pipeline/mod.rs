//! One request through the gateway: throttle, route, authorize, read, validate, integrate.
//! Every refusal is a [`Refusal`] rendered as `{"message": ...}` with the headers of the
//! template's gateway responses; nothing on this path panics on request data.

mod refusal;
mod routing;
mod sqs;
mod validate;

use super::auth::{AuthFailure, authorizer_claims, has_scope, token_from_header};
use super::event::{EventInput, parse_query, proxy_event, proxy_response};
use super::spec::{AuthRule, Integration, Resource, Route};
use super::throttle::TokenBucket;
use super::{ApiSpec, Backend, BoxFuture, GatewayConfig, LocalAuth};
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
pub use refusal::DETAIL_HEADER;
use refusal::{Kind, Refusal, static_response};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use validate::validate;

struct Gateway {
    api: ApiSpec,
    auth: LocalAuth,
    bucket: TokenBucket,
    /// (resource template, method or `*`) → that method's own bucket.
    method_buckets: HashMap<(String, String), TokenBucket>,
    stage: String,
    max_body: usize,
    timeout: Duration,
    backend: Arc<dyn Backend>,
}

pub(crate) fn router(config: GatewayConfig, backend: Arc<dyn Backend>) -> Router {
    let gw = Gateway {
        bucket: TokenBucket::new(config.throttle),
        method_buckets: config
            .method_throttles
            .iter()
            .map(|m| {
                (
                    (m.path.clone(), m.method.clone()),
                    TokenBucket::new(m.throttle),
                )
            })
            .collect(),
        api: config.api,
        auth: config.auth,
        stage: config.stage,
        max_body: config.max_body_bytes,
        timeout: config.integration_timeout,
        backend,
    };
    Router::new().fallback(handle).with_state(Arc::new(gw))
}

async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut resp = match gw.serve(req, &request_id).await {
        Ok(r) => r,
        Err(refusal) => gw.refusal_response(refusal),
    };
    let headers = resp.headers_mut();
    // Every answer is readable cross-origin (the frontends are served from other origins);
    // a Lambda that set its own origin keeps it.
    if !headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("x-amzn-requestid"), id);
    }
    tracing::info!(
        request_id,
        method = method.as_str(),
        path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "api request"
    );
    resp
}

/// A matched route: the resource, the method's route, the path without the stage, and the
/// decoded path parameters.
struct Matched<'a> {
    resource: &'a Resource,
    route: &'a Route,
    path: String,
    params: Vec<(String, String)>,
}

impl Gateway {
    async fn serve(&self, req: Request, request_id: &str) -> Result<Response, Refusal> {
        let (parts, body) = req.into_parts();
        let method = parts.method.as_str();
        let found = self.find_route(method, parts.uri.path());
        // Throttling comes before the route is refused: an unknown path also costs a token.
        self.throttle(method, found.as_ref().ok())?;
        let m = found?;

        let claims = match &m.route.auth {
            None => None,
            Some(rule) => Some(self.authorize(rule, &parts.headers)?),
        };
        let body = self.read_body(&parts.headers, body).await?;
        let query = parse_query(parts.uri.query().unwrap_or(""));
        validate(m.route, &query, &parts.headers, body.as_deref())?;

        match &m.route.integration {
            Integration::Mock(r) => Ok(static_response(r, None)),
            Integration::Lambda { function } => {
                let source_ip = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map_or_else(|| "127.0.0.1".to_owned(), |c| c.0.ip().to_string());
                let event = proxy_event(&EventInput {
                    method,
                    resource: &m.resource.template,
                    path: &m.path,
                    path_params: &m.params,
                    query: &query,
                    headers: &parts.headers,
                    body: body.as_deref(),
                    claims: claims.as_ref(),
                    stage: &self.stage,
                    request_id,
                    source_ip: &source_ip,
                    time: chrono::Utc::now(),
                });
                let out = self
                    .run(self.backend.invoke(function, event), function)
                    .await?;
                proxy_response(&out).map_err(|reason| {
                    Refusal::integration(&format!(
                        "{function} returned a malformed proxy response: {reason}"
                    ))
                })
            }
            Integration::Sqs(sqs) => {
                self.send(sqs, &parts.headers, body.as_deref(), claims.as_ref())
                    .await
            }
        }
    }

    /// The method's own bucket first (a refusal there leaves the stage bucket untouched, so a
    /// flood on one method cannot starve the others), then the stage bucket.
    fn throttle(&self, method: &str, matched: Option<&Matched<'_>>) -> Result<(), Refusal> {
        let own = matched.and_then(|m| {
            let path = &m.resource.template;
            self.method_buckets
                .get(&(path.clone(), method.to_owned()))
                .or_else(|| self.method_buckets.get(&(path.clone(), "*".to_owned())))
        });
        if own.is_some_and(|b| !b.try_take()) || !self.bucket.try_take() {
            return Err(Refusal::new(Kind::Throttled, "Too Many Requests"));
        }
        Ok(())
    }

    /// The Cognito authorizer: a verified access token with the route's scope, or 401. The
    /// client learns nothing more than "Unauthorized" (as from AWS); the log says why.
    fn authorize(
        &self,
        rule: &AuthRule,
        headers: &HeaderMap,
    ) -> Result<Map<String, Value>, Refusal> {
        let result = headers
            .get(rule.header.as_str())
            .ok_or_else(|| AuthFailure::Missing(rule.header.clone()))
            .and_then(|v| v.to_str().map_err(|_| AuthFailure::Malformed))
            .and_then(|v| {
                token_from_header(v).ok_or_else(|| AuthFailure::Missing(rule.header.clone()))
            })
            .and_then(|t| self.auth.verify(t))
            .and_then(|c| {
                if has_scope(&c, &rule.scopes) {
                    Ok(c)
                } else {
                    Err(AuthFailure::MissingScope(rule.scopes.clone()))
                }
            });
        match result {
            Ok(claims) => Ok(authorizer_claims(&claims)),
            Err(why) => {
                tracing::info!(reason = %why, "request refused: unauthorized");
                Err(Refusal::new(Kind::Unauthorized, "Unauthorized"))
            }
        }
    }

    /// The body as text (`None` when empty), refusing more than `max_body` bytes without
    /// buffering them.
    async fn read_body(
        &self,
        headers: &HeaderMap,
        mut body: Body,
    ) -> Result<Option<String>, Refusal> {
        let too_large = || Refusal::new(Kind::RequestTooLarge, "Request too large");
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body as u64) {
            return Err(too_large());
        }
        let mut buf: Vec<u8> = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let frame = frame.map_err(|e| {
                Refusal::new(
                    Kind::BadRequestBody,
                    format!("Could not read the request body: {e}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > self.max_body {
                    return Err(too_large());
                }
                buf.extend_from_slice(&data);
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        String::from_utf8(buf)
            .map(Some)
            .map_err(|_| Refusal::invalid_body("it is not UTF-8 text"))
    }

    /// Runs an integration call on its own task: a panicking backend becomes a 502 instead of
    /// taking the connection down, and a slow one a 504 after the integration timeout.
    async fn run<T: Send + 'static>(
        &self,
        call: BoxFuture<'static, Result<T, String>>,
        target: &str,
    ) -> Result<T, Refusal> {
        match tokio::time::timeout(self.timeout, tokio::spawn(call)).await {
            Err(_) => {
                tracing::error!(
                    target,
                    timeout_ms = self.timeout.as_millis() as u64,
                    "integration timed out"
                );
                Err(Refusal::new(
                    Kind::IntegrationTimeout,
                    "Endpoint request timed out",
                ))
            }
            Ok(Err(join)) => Err(Refusal::integration(&format!("{target} panicked: {join}"))),
            Ok(Ok(Err(e))) => Err(Refusal::integration(&format!("{target} failed: {e}"))),
            Ok(Ok(Ok(v))) => Ok(v),
        }
    }
}
