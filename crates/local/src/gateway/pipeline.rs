//! One request through the gateway: throttle, route, authorize, read, validate, integrate.
//! Every refusal is a [`Refusal`] rendered as `{"message": ...}` with the headers of the
//! template's gateway responses; nothing on this path panics on request data.

use super::auth::{AuthFailure, authorizer_claims, has_scope, token_from_header};
use super::event::{EventInput, parse_query, percent_decode, proxy_event, proxy_response};
use super::spec::{
    AuthRule, Integration, Resource, ResponseBody, Route, Segment, SqsIntegration, StaticResponse,
};
use super::throttle::TokenBucket;
use super::{ApiSpec, Backend, BoxFuture, GatewayConfig, LocalAuth};
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The kinds of answer the gateway itself gives, each tied to the API Gateway response type
/// whose `x-amazon-apigateway-gateway-responses` entry styles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NotFound,
    MethodNotAllowed,
    Unauthorized,
    BadRequestParameters,
    BadRequestBody,
    RequestTooLarge,
    UnsupportedMediaType,
    Throttled,
    IntegrationFailure,
    IntegrationTimeout,
}

impl Kind {
    fn status(self) -> u16 {
        match self {
            Kind::NotFound => 404,
            Kind::MethodNotAllowed => 405,
            Kind::Unauthorized => 401,
            Kind::BadRequestParameters | Kind::BadRequestBody => 400,
            Kind::RequestTooLarge => 413,
            Kind::UnsupportedMediaType => 415,
            Kind::Throttled => 429,
            Kind::IntegrationFailure => 502,
            Kind::IntegrationTimeout => 504,
        }
    }

    fn response_type(self) -> Option<&'static str> {
        match self {
            Kind::NotFound => Some("RESOURCE_NOT_FOUND"),
            Kind::MethodNotAllowed => None,
            Kind::Unauthorized => Some("UNAUTHORIZED"),
            Kind::BadRequestParameters => Some("BAD_REQUEST_PARAMETERS"),
            Kind::BadRequestBody => Some("BAD_REQUEST_BODY"),
            Kind::RequestTooLarge => Some("REQUEST_TOO_LARGE"),
            Kind::UnsupportedMediaType => Some("UNSUPPORTED_MEDIA_TYPE"),
            Kind::Throttled => Some("THROTTLED"),
            Kind::IntegrationFailure => Some("INTEGRATION_FAILURE"),
            Kind::IntegrationTimeout => Some("INTEGRATION_TIMEOUT"),
        }
    }
}

struct Refusal {
    kind: Kind,
    message: String,
    allow: Option<String>,
    /// What exactly was wrong, for a local developer: sent in the [`DETAIL_HEADER`] header,
    /// never in the body, which says only what API Gateway says.
    detail: Option<String>,
}

/// The header that carries a refusal's detail (the local gateway's own; AWS has none).
pub const DETAIL_HEADER: &str = "x-local-error-detail";

impl Refusal {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
            allow: None,
            detail: None,
        }
    }

    /// A body that fails the route's model: API Gateway's exact `Invalid request body`, with
    /// the reason in [`DETAIL_HEADER`] (and the log).
    fn invalid_body(why: impl Into<String>) -> Self {
        let why = why.into();
        tracing::info!(reason = %why, "request body refused");
        Refusal {
            detail: Some(why),
            ..Refusal::new(Kind::BadRequestBody, "Invalid request body")
        }
    }

    /// What a failed integration looks like to the client; the reason goes to the log only.
    fn integration(reason: &str) -> Self {
        tracing::error!(reason, "integration failed");
        Refusal::new(Kind::IntegrationFailure, "Internal server error")
    }
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

    /// API Gateway's matching: under the stage prefix first (AWS URLs), then at the root; the
    /// most specific template wins (a literal segment beats a parameter, which beats a greedy
    /// one, compared left to right).
    fn find_route(&self, method: &str, raw_path: &str) -> Result<Matched<'_>, Refusal> {
        let segs: Vec<&str> = raw_path.split('/').filter(|s| !s.is_empty()).collect();
        let mut candidates = Vec::with_capacity(2);
        if segs.first() == Some(&self.stage.as_str()) {
            candidates.push(&segs[1..]);
        }
        candidates.push(&segs[..]);
        for segs in candidates {
            let best = self
                .api
                .resources
                .iter()
                .filter_map(|r| match_segments(&r.segments, segs).map(|(rank, p)| (rank, r, p)))
                .min_by(|a, b| a.0.cmp(&b.0));
            let Some((_, resource, params)) = best else {
                continue;
            };
            let route = resource
                .routes
                .iter()
                .find(|r| r.method == method)
                .or_else(|| resource.routes.iter().find(|r| r.method == "ANY"));
            return match route {
                Some(route) => Ok(Matched {
                    resource,
                    route,
                    path: format!("/{}", segs.join("/")),
                    params,
                }),
                // API Gateway says 403 "Missing Authentication Token" here and for unknown
                // paths; a 405 that lists the methods is what a person debugging needs.
                None => {
                    let allowed: Vec<&str> =
                        resource.routes.iter().map(|r| r.method.as_str()).collect();
                    let allowed = allowed.join(", ");
                    Err(Refusal {
                        kind: Kind::MethodNotAllowed,
                        message: format!(
                            "No route for {method} {raw_path} (this path allows {allowed})"
                        ),
                        allow: Some(allowed),
                        detail: None,
                    })
                }
            };
        }
        // API Gateway: 403 "Missing Authentication Token"; a 404 says what is actually wrong.
        Err(Refusal::new(
            Kind::NotFound,
            format!("No route for {method} {raw_path}"),
        ))
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

    /// The SQS `SendMessage` integration: the request template's message goes to the queue and
    /// the client gets SQS's JSON `SendMessageResponse` (through the template's integration
    /// response for 200).
    async fn send(
        &self,
        sqs: &SqsIntegration,
        headers: &HeaderMap,
        body: Option<&str>,
        claims: Option<&Map<String, Value>>,
    ) -> Result<Response, Refusal> {
        // API Gateway picks the template by Content-Type, application/json when there is none.
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "application/json".to_owned());
        let Some((_, template)) = sqs.templates.iter().find(|(ct, _)| *ct == content_type) else {
            return Err(Refusal::new(
                Kind::UnsupportedMediaType,
                "Unsupported Media Type",
            ));
        };
        let message = template.render(body.unwrap_or(""), claims);
        let md5 = Md5::digest(message.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let call = self.backend.send_message(&sqs.queue, message);
        let message_id = match self.run(call, &sqs.queue).await {
            Ok(id) => id,
            // Rendered as SQS answering 500: through the template's mapping for it, if any.
            Err(refusal) if refusal.kind == Kind::IntegrationFailure => {
                return match &sqs.on_failure {
                    Some(r) => Ok(static_response(r, None)),
                    None => Err(refusal),
                };
            }
            Err(refusal) => return Err(refusal),
        };
        let sqs_answer = json!({
            "SendMessageResponse": {
                "ResponseMetadata": { "RequestId": uuid::Uuid::new_v4().to_string() },
                "SendMessageResult": {
                    "MD5OfMessageAttributes": null,
                    "MD5OfMessageBody": md5,
                    "MD5OfMessageSystemAttributes": null,
                    "MessageId": message_id,
                    "SequenceNumber": null
                }
            }
        });
        Ok(static_response(
            &sqs.on_success,
            Some(sqs_answer.to_string()),
        ))
    }

    /// A refusal as `{"message": ...}`, with the status and headers its gateway response type
    /// (or DEFAULT_4XX / DEFAULT_5XX) declares.
    fn refusal_response(&self, r: Refusal) -> Response {
        let status = r.kind.status();
        let default = if status >= 500 {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let specific = r
            .kind
            .response_type()
            .and_then(|t| self.api.gateway_responses.get(t));
        let status = specific.and_then(|g| g.status).unwrap_or(status);
        let mut resp = json_response(status, &json!({ "message": r.message }));
        for g in [self.api.gateway_responses.get(default), specific]
            .into_iter()
            .flatten()
        {
            for (k, v) in &g.headers {
                insert_header(resp.headers_mut(), k, v);
            }
        }
        if let Some(allow) = r.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            resp.headers_mut().insert(ALLOW, allow);
        }
        // Header values are visible ASCII: anything else in the reason becomes '?'.
        let ascii = |d: String| -> String {
            d.chars()
                .map(|c| {
                    if c.is_ascii() && !c.is_ascii_control() {
                        c
                    } else {
                        '?'
                    }
                })
                .collect()
        };
        if let Some(detail) = r.detail.and_then(|d| HeaderValue::from_str(&ascii(d)).ok()) {
            resp.headers_mut().insert(DETAIL_HEADER, detail);
        }
        resp
    }
}

/// A template's rank for a request (0 literal, 1 parameter, 2 greedy, per segment; lower is
/// more specific) and the decoded path parameters.
type SegmentMatch = (Vec<u8>, Vec<(String, String)>);

/// The template segments against the request's.
fn match_segments(tpl: &[Segment], segs: &[&str]) -> Option<SegmentMatch> {
    let mut rank = Vec::with_capacity(tpl.len());
    let mut params = Vec::new();
    for (i, t) in tpl.iter().enumerate() {
        match t {
            Segment::Literal(l) => {
                if percent_decode(segs.get(i)?, false) != *l {
                    return None;
                }
                rank.push(0);
            }
            Segment::Param(name) => {
                params.push((name.clone(), percent_decode(segs.get(i)?, false)));
                rank.push(1);
            }
            Segment::Greedy(name) => {
                let rest = segs.get(i..).filter(|r| !r.is_empty())?;
                let value: Vec<String> = rest.iter().map(|s| percent_decode(s, false)).collect();
                params.push((name.clone(), value.join("/")));
                rank.push(2);
                return Some((rank, params));
            }
        }
    }
    (segs.len() == tpl.len()).then_some((rank, params))
}

/// The route's request validator: required parameters first, then the body and its model.
fn validate(
    route: &Route,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Option<&str>,
) -> Result<(), Refusal> {
    let missing: Vec<&str> = route
        .required_query
        .iter()
        .filter(|name| !query.iter().any(|(k, v)| k == *name && !v.is_empty()))
        .chain(
            route
                .required_headers
                .iter()
                .filter(|name| headers.get(name.as_str()).is_none()),
        )
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::new(
            Kind::BadRequestParameters,
            format!(
                "Missing required request parameters: [{}]",
                missing.join(", ")
            ),
        ));
    }
    let body = body.filter(|b| !b.trim().is_empty());
    let invalid = Refusal::invalid_body;
    if route.body.required && body.is_none() {
        return Err(invalid("a JSON request body is required".into()));
    }
    if let Some(model) = &route.body.model {
        // As API Gateway: a missing body is validated as {} (a model that needs a property
        // refuses it; one that accepts {} lets it through to the function).
        let value: Value = serde_json::from_str(body.unwrap_or("{}"))
            .map_err(|e| invalid(format!("not valid JSON ({e})")))?;
        if let Err(e) = model.validator.validate(&value) {
            // The message quotes the offending value; when that is long (most of a 64 KiB
            // body, say), say "value" instead so that what is wrong stays visible.
            let mut why = e.to_string();
            if why.chars().count() > 160 {
                why = e.masked().to_string();
            }
            let path = e.instance_path().to_string();
            let msg = if path.is_empty() {
                why
            } else {
                format!("{path}: {why}")
            };
            return Err(invalid(shorten(&msg, 200)));
        }
    }
    Ok(())
}

/// A last bound on what a client is told (a long property name, a long pattern).
fn shorten(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max_chars).collect::<String>())
    }
}

fn insert_header(headers: &mut HeaderMap, name: &str, value: &str) {
    match (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        (Ok(n), Ok(v)) => {
            headers.insert(n, v);
        }
        _ => tracing::warn!(name, "header from the template is not a valid HTTP header"),
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// An integration response from the template; `integration_body` is what the integration
/// answered (used when the template passes it through).
fn static_response(r: &StaticResponse, integration_body: Option<String>) -> Response {
    let body = match &r.body {
        ResponseBody::Literal(s) => Some(s.clone()),
        ResponseBody::Passthrough => integration_body,
    };
    let mut resp = match body {
        Some(b) => {
            let mut resp = Response::new(Body::from(b));
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        None => Response::new(Body::empty()),
    };
    *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    for (k, v) in &r.headers {
        insert_header(resp.headers_mut(), k, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(t: &str) -> Vec<Segment> {
        t.split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(n) => match n.strip_suffix('+') {
                        Some(g) => Segment::Greedy(g.into()),
                        None => Segment::Param(n.into()),
                    },
                    None => Segment::Literal(s.into()),
                },
            )
            .collect()
    }

    #[test]
    fn literal_beats_parameter_beats_greedy() {
        let a = match_segments(&seg("/orders/{id}"), &["orders", "complete"]).unwrap();
        let b = match_segments(&seg("/orders/complete"), &["orders", "complete"]).unwrap();
        let c = match_segments(&seg("/orders/{p+}"), &["orders", "complete"]).unwrap();
        assert!(b.0 < a.0 && a.0 < c.0);
        assert_eq!(a.1, vec![("id".to_owned(), "complete".to_owned())]);
        assert!(match_segments(&seg("/orders/{id}"), &["orders"]).is_none());
        assert!(match_segments(&seg("/orders/{p+}"), &["orders"]).is_none());
        assert_eq!(
            match_segments(&seg("/f/{p+}"), &["f", "a", "b%20c"])
                .unwrap()
                .1,
            vec![("p".to_owned(), "a/b c".to_owned())]
        );
    }
}
