//! Lambda plumbing shared by the functions: API Gateway REST (v1 proxy) requests and
//! responses for the HTTP functions, and named task errors ([`task`]) for the ones the workflow
//! calls.
//!
//! * who is calling: [`caller`] reads the claims the Cognito authorizer verified
//!   (`requestContext.authorizer.claims`); nothing in the body can change it;
//! * what was asked: [`query`], [`path_param`], [`json_body`] turn every kind of bad input
//!   into a 4xx [`AppError`] instead of a panic;
//! * the answer: [`respond`] renders `Ok` as JSON and every error as `{"message": ...}` with
//!   its status, and logs server errors.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use domain::identity::parse_groups;
use domain::{AppError, Caller};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub mod task;

pub use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest as Request, ApiGatewayProxyResponse as Response,
};

/// Request bodies larger than this are refused with 413 before parsing (the largest valid body,
/// a drink choice, is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The verified caller, or 401 when the request carries no verified identity.
pub fn caller(req: &Request) -> Result<Caller, AppError> {
    let claims = req.request_context.authorizer.fields.get("claims");
    let sub = claims
        .and_then(|c| c.get("sub"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            AppError::Unauthorized("Unauthorized: no verified identity on the request".into())
        })?;
    let groups = parse_groups(claims.and_then(|c| c.get("cognito:groups")));
    let scopes = claims
        .and_then(|c| c.get("scope"))
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Caller::new(sub, groups).with_scopes(scopes))
}

/// A query-string parameter, if present and not empty.
pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters
        .first(name)
        .filter(|v| !v.is_empty())
}

/// A path parameter; a missing one is a 400 (the route table and the event disagree).
pub fn path_param<'a>(req: &'a Request, name: &str) -> Result<&'a str, AppError> {
    req.path_parameters
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AppError::bad_request(format!("Missing path parameter '{name}'")))
}

/// The JSON body as `T`: 400 when missing, not JSON, or of the wrong shape (with serde's
/// description of what is wrong), 413 when too large.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    serde_json::from_slice(&body_bytes(req)?)
        .map_err(|e| AppError::bad_request(format!("Invalid request body: {e}")))
}

/// The body as text, for parsers of their own (exact numbers): 400 when missing or not
/// UTF-8, 413 when too large.
pub fn body_text(req: &Request) -> Result<String, AppError> {
    String::from_utf8(body_bytes(req)?)
        .map_err(|_| AppError::bad_request("Invalid request body: it is not UTF-8 text"))
}

/// The raw body (base64 decoded), at most [`MAX_BODY_BYTES`].
fn body_bytes(req: &Request) -> Result<Vec<u8>, AppError> {
    let raw = req
        .body
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| AppError::bad_request("A JSON request body is required"))?;
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "The request body is larger than {MAX_BODY_BYTES} bytes"
        ))
    };
    if raw.len() > MAX_BODY_BYTES * 2 {
        return Err(too_large());
    }
    let bytes = if req.is_base64_encoded {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| AppError::bad_request("The request body is not valid base64"))?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The original frontends are served from other origins; CORS is open as it was.
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h
}

/// A JSON response with `status`.
pub fn json(status: u16, body: &Value) -> Response {
    let mut r = Response::default();
    r.status_code = i64::from(status);
    r.headers = headers();
    r.body = Some(Body::Text(body.to_string()));
    r
}

/// A response whose JSON body is `body` serialised as it is: a struct keeps its fields'
/// order, which `serde_json::Value` does not (contracts that are compared as text need it).
pub fn json_text(status: u16, body: String) -> Response {
    let mut r = json(status, &Value::Null);
    r.body = Some(Body::Text(body));
    r
}

/// Renders a handler's outcome. Server errors are logged; their message is already safe.
pub fn respond(result: Result<(u16, Value), AppError>) -> Response {
    match result {
        Ok((status, body)) => json(status, &body),
        Err(err) => {
            if err.status() >= 500 {
                tracing::error!(
                    status = err.status(),
                    message = err.message(),
                    "request failed"
                );
            } else {
                tracing::info!(
                    status = err.status(),
                    message = err.message(),
                    "request refused"
                );
            }
            json(err.status(), &err.body())
        }
    }
}

/// The route a request was matched to: its method and resource template (`/orders/{id}`).
pub fn route(req: &Request) -> (String, String) {
    let resource = req
        .resource
        .clone()
        .or_else(|| req.request_context.resource_path.clone())
        .unwrap_or_default();
    (req.http_method.as_str().to_owned(), resource)
}

/// The 404 for a method and path this function does not serve.
pub fn no_route(req: &Request) -> AppError {
    let (method, resource) = route(req);
    AppError::not_found(format!("No route for {method} {resource}"))
}

/// JSON logs (CloudWatch-friendly), level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        // Every line carries the invocation span lambda_runtime opens (request id, trace id).
        .with_current_span(true)
        .without_time() // Lambda stamps every line already
        .try_init();
}

/// Builds requests the way API Gateway (or the local gateway) delivers them: for tests, the
/// sample events and the local stack.
pub mod testing {
    use super::Request;
    use serde_json::{Value, json};

    /// A request for `method` on the route `resource` with concrete `path`, optional claims
    /// (`None` = no authorizer), query parameters and body.
    pub fn request(
        method: &str,
        resource: &str,
        path: &str,
        path_params: &[(&str, &str)],
        query: &[(&str, &str)],
        claims: Option<Value>,
        body: Option<&str>,
    ) -> Request {
        let pp: serde_json::Map<String, Value> = path_params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let qs: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let authorizer = match claims {
            Some(c) => json!({ "claims": c }),
            None => Value::Null,
        };
        let event = json!({
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {},
            "queryStringParameters": if qs.is_empty() { Value::Null } else { Value::Object(qs) },
            "multiValueQueryStringParameters": null,
            "pathParameters": if pp.is_empty() { Value::Null } else { Value::Object(pp) },
            "stageVariables": null,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": path,
                "stage": "Prod",
                "requestId": "test-request",
                "identity": {},
                "authorizer": authorizer
            },
            "body": body,
            "isBase64Encoded": false
        });
        serde_json::from_value(event).unwrap_or_default()
    }

    /// Cognito-style claims for `sub`, in `groups`.
    pub fn claims(sub: &str, groups: &[&str]) -> Value {
        json!({ "sub": sub, "cognito:groups": groups.join(","), "token_use": "access" })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{claims, request};
    use super::*;

    #[test]
    fn caller_comes_from_the_verified_claims() {
        let req = request(
            "GET",
            "/myOrders",
            "/myOrders",
            &[],
            &[],
            Some(claims("u1", &["admin"])),
            None,
        );
        let c = caller(&req).unwrap();
        assert_eq!(c.sub, "u1");
        assert!(c.is_admin());
        let anon = request("GET", "/myOrders", "/myOrders", &[], &[], None, None);
        assert_eq!(caller(&anon).unwrap_err().status(), 401);
    }

    #[test]
    fn bad_bodies_are_4xx_not_panics() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct B {
            drink: String,
        }
        let with = |b: Option<&str>| request("PUT", "/x", "/x", &[], &[], None, b);
        assert_eq!(json_body::<B>(&with(None)).unwrap_err().status(), 400);
        assert_eq!(
            json_body::<B>(&with(Some("{not json")))
                .unwrap_err()
                .status(),
            400
        );
        let wrong = json_body::<B>(&with(Some(r#"{"drink": 5}"#))).unwrap_err();
        assert_eq!(wrong.status(), 400);
        assert!(wrong.message().contains("invalid type"), "{wrong}");
        let huge = format!(r#"{{"drink": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            json_body::<B>(&with(Some(&huge))).unwrap_err().status(),
            413
        );
        assert_eq!(
            json_body::<B>(&with(Some(r#"{"drink":"Latte"}"#)))
                .unwrap()
                .drink,
            "Latte"
        );
    }

    #[test]
    fn errors_render_as_json_messages_with_their_status() {
        let r = respond(Err(AppError::conflict("nope")));
        assert_eq!(r.status_code, 409);
        let Some(Body::Text(b)) = r.body else {
            panic!("no body")
        };
        assert_eq!(
            serde_json::from_str::<Value>(&b).unwrap(),
            serde_json::json!({"message": "nope"})
        );
        assert_eq!(r.headers.get("access-control-allow-origin").unwrap(), "*");
    }

    #[test]
    fn query_and_path_parameters() {
        let req = request(
            "PUT",
            "/orders/claim/{id}",
            "/orders/claim/o1",
            &[("id", "o1")],
            &[("action", "make"), ("empty", "")],
            None,
            None,
        );
        assert_eq!(query(&req, "action"), Some("make"));
        assert_eq!(query(&req, "empty"), None);
        assert_eq!(path_param(&req, "id").unwrap(), "o1");
        assert_eq!(path_param(&req, "other").unwrap_err().status(), 400);
        assert_eq!(
            route(&req),
            ("PUT".to_owned(), "/orders/claim/{id}".to_owned())
        );
    }
}
