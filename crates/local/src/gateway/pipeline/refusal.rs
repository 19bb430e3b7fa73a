//! What the gateway answers by itself: refusals (`{"message": ...}` with the headers of the
//! template's gateway responses) and the integration responses the template declares.

use super::Gateway;
use crate::gateway::spec::{ResponseBody, StaticResponse};
use axum::body::Body;
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

/// The kinds of answer the gateway itself gives, each tied to the API Gateway response type
/// whose `x-amazon-apigateway-gateway-responses` entry styles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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

pub(super) struct Refusal {
    pub(super) kind: Kind,
    pub(super) message: String,
    pub(super) allow: Option<String>,
    /// What exactly was wrong, for a local developer: sent in the [`DETAIL_HEADER`] header,
    /// never in the body, which says only what API Gateway says.
    pub(super) detail: Option<String>,
}

/// The header that carries a refusal's detail (the local gateway's own; AWS has none).
pub const DETAIL_HEADER: &str = "x-local-error-detail";

impl Refusal {
    pub(super) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
            allow: None,
            detail: None,
        }
    }

    /// A body that fails the route's model: API Gateway's exact `Invalid request body`, with
    /// the reason in [`DETAIL_HEADER`] (and the log).
    pub(super) fn invalid_body(why: impl Into<String>) -> Self {
        let why = why.into();
        tracing::info!(reason = %why, "request body refused");
        Refusal {
            detail: Some(why),
            ..Refusal::new(Kind::BadRequestBody, "Invalid request body")
        }
    }

    /// What a failed integration looks like to the client; the reason goes to the log only.
    pub(super) fn integration(reason: &str) -> Self {
        tracing::error!(reason, "integration failed");
        Refusal::new(Kind::IntegrationFailure, "Internal server error")
    }
}

impl Gateway {
    /// A refusal as `{"message": ...}`, with the status and headers its gateway response type
    /// (or DEFAULT_4XX / DEFAULT_5XX) declares.
    pub(super) fn refusal_response(&self, r: Refusal) -> Response {
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
pub(super) fn static_response(r: &StaticResponse, integration_body: Option<String>) -> Response {
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
