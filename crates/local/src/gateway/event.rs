//! The Lambda proxy contract: the REST (v1) event a function receives, and the proxy response
//! it returns turned back into HTTP.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// Everything the event is made of, already matched, authorized and read.
pub(crate) struct EventInput<'a> {
    pub method: &'a str,
    /// The route template (`/orders/{id}`): the event's `resource`.
    pub resource: &'a str,
    /// The concrete path without the stage prefix, as API Gateway puts it in `path`.
    pub path: &'a str,
    pub path_params: &'a [(String, String)],
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: Option<&'a str>,
    /// Authorizer claims (already strings); `None` on a route without `security`.
    pub claims: Option<&'a Map<String, Value>>,
    pub stage: &'a str,
    pub request_id: &'a str,
    pub source_ip: &'a str,
    pub time: DateTime<Utc>,
}

/// A single-value map and a multi-value map; for repeated keys the single-value map holds the
/// LAST value, as API Gateway REST does. Empty → `null`, as API Gateway sends.
fn single_and_multi<'a>(pairs: impl Iterator<Item = (&'a str, String)>) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        single.insert(k.to_owned(), Value::String(v.clone()));
        match multi.get_mut(k) {
            Some(Value::Array(a)) => a.push(Value::String(v)),
            _ => {
                multi.insert(k.to_owned(), json!([v]));
            }
        }
    }
    if single.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (Value::Object(single), Value::Object(multi))
    }
}

pub(crate) fn proxy_event(e: &EventInput<'_>) -> Value {
    let (headers, multi_headers) = single_and_multi(e.headers.iter().map(|(k, v)| {
        (
            k.as_str(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    }));
    let (query, multi_query) =
        single_and_multi(e.query.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let path_params = if e.path_params.is_empty() {
        Value::Null
    } else {
        Value::Object(
            e.path_params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    let header = |name: &str| {
        e.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorizer = match e.claims {
        Some(c) => json!({ "claims": c }),
        None => Value::Null,
    };
    json!({
        "resource": e.resource,
        "path": e.path,
        "httpMethod": e.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_params,
        "stageVariables": null,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": e.resource,
            "httpMethod": e.method,
            "path": format!("/{}{}", e.stage, e.path),
            "stage": e.stage,
            "requestId": e.request_id,
            "extendedRequestId": e.request_id,
            "requestTime": e.time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "requestTimeEpoch": e.time.timestamp_millis(),
            "protocol": "HTTP/1.1",
            "domainName": header("host").unwrap_or_else(|| "localhost".to_owned()),
            "identity": {
                "sourceIp": e.source_ip,
                "userAgent": header("user-agent"),
            },
            "authorizer": authorizer,
        },
        "body": e.body,
        "isBase64Encoded": false,
    })
}

/// `a=1&b=x+y&c` → `[("a","1"), ("b","x y"), ("c","")]`, percent-decoded (bytes that are not
/// UTF-8 become U+FFFD rather than failing the request).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Percent-decoding; a `%` not followed by two hex digits stays as it is.
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Headers that describe the connection or the framing, which the gateway sets itself.
const HOP_BY_HOP: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// A Lambda proxy response → HTTP. `Err` says why it is malformed (API Gateway answers such a
/// response 502 "Internal server error"; the caller does the same).
pub(crate) fn proxy_response(v: &Value) -> Result<Response<Body>, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("the proxy response is not a JSON object: {}", short(v)))?;
    // Checked in this order, so a response wrong in several ways is named by its first fault.
    let status = proxy_status(obj)?;
    let headers = proxy_headers(obj)?;
    let mut resp = Response::new(Body::from(proxy_body(obj)?));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    Ok(resp)
}

fn proxy_status(obj: &Map<String, Value>) -> Result<StatusCode, String> {
    obj.get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| (100..600).contains(&s.as_u16()))
        .ok_or_else(|| {
            format!(
                "statusCode must be an integer HTTP status, got {}",
                obj.get("statusCode").map_or("nothing".to_owned(), short)
            )
        })
}

/// `headers` and `multiValueHeaders` merged (a key in both: multiValueHeaders wins, as in API
/// Gateway), without the hop-by-hop headers the gateway sets itself.
fn proxy_headers(obj: &Map<String, Value>) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    let multi = match obj.get("multiValueHeaders") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "multiValueHeaders is not an object: {}",
                short(other)
            ));
        }
    };
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let in_multi = multi.keys().any(|mk| mk.eq_ignore_ascii_case(k));
                if !in_multi && !v.is_null() {
                    put_header(&mut headers, k, v)?;
                }
            }
        }
        Some(other) => return Err(format!("headers is not an object: {}", short(other))),
    }
    for (k, vs) in &multi {
        let vs = vs
            .as_array()
            .ok_or_else(|| format!("multiValueHeaders.{k} is not a list"))?;
        for v in vs {
            put_header(&mut headers, k, v)?;
        }
    }
    Ok(headers)
}

fn put_header(headers: &mut HeaderMap, name: &str, value: &Value) -> Result<(), String> {
    if HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str()) {
        return Ok(());
    }
    let value = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(format!("header {name} is not a string")),
    };
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid header name"))?;
    let v =
        HeaderValue::from_str(&value).map_err(|_| format!("header {name} has an invalid value"))?;
    headers.append(n, v);
    Ok(())
}

/// The body, base64-decoded when `isBase64Encoded` says so.
fn proxy_body(obj: &Map<String, Value>) -> Result<Vec<u8>, String> {
    let base64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "isBase64Encoded is not a boolean: {}",
                short(other)
            ));
        }
    };
    match obj.get("body") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if base64 => {
            Ok(base64_decode(s).ok_or("isBase64Encoded is true but the body is not base64")?)
        }
        Some(Value::String(s)) => Ok(s.clone().into_bytes()),
        Some(other) => Err(format!("body must be a string, got {}", short(other))),
    }
}

/// A JSON value cut short for a log line.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

/// Standard base64 (padding optional, whitespace ignored); `None` if it is not base64.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (padding <= 2).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            parse_query("a=1&b=x+y%21&c&&d=%zz&a=2"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y!".into()),
                ("c".into(), "".into()),
                ("d".into(), "%zz".into()),
                ("a".into(), "2".into()),
            ]
        );
        assert_eq!(percent_decode("a%2Fb+c%", false), "a/b+c%");
        assert_eq!(percent_decode("%C3%A9%4", false), "é%4");
    }

    #[test]
    fn base64_bodies() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVs bG8h").as_deref(), Some(&b"hello!"[..]));
        assert_eq!(base64_decode("a*b"), None);
        assert_eq!(base64_decode("aG=Vs"), None);
    }

    #[test]
    fn malformed_proxy_responses_are_errors() {
        for bad in [
            json!("hello"),
            json!({}),
            json!({"statusCode": "200"}),
            json!({"statusCode": 99}),
            json!({"statusCode": 200, "body": {"a": 1}}),
            json!({"statusCode": 200, "headers": {"x": {"a": 1}}}),
            json!({"statusCode": 200, "headers": {"bad name": "v"}}),
            json!({"statusCode": 200, "multiValueHeaders": {"x": "v"}}),
            json!({"statusCode": 200, "isBase64Encoded": true, "body": "***"}),
        ] {
            assert!(proxy_response(&bad).is_err(), "accepted {bad}");
        }
        let ok = proxy_response(&json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-a": "1", "Content-Length": "999"},
            "multiValueHeaders": {"X-A": ["2", "3"], "set-cookie": ["a=1", "b=2"]},
            "body": "{}",
            "isBase64Encoded": false
        }))
        .unwrap();
        assert_eq!(ok.status(), 201);
        let h = ok.headers();
        assert_eq!(h.get_all("x-a").iter().count(), 2);
        assert_eq!(h.get_all("set-cookie").iter().count(), 2);
        assert!(h.get("content-length").is_none());

        // What aws_lambda_events' ApiGatewayProxyResponse serializes to (the functions' type).
        let r = proxy_response(&json!({"statusCode":409,"headers":{"content-type":"application/json","access-control-allow-origin":"*"},"multiValueHeaders":{},"body":"{\"message\":\"x\"}","isBase64Encoded":false})).unwrap();
        assert_eq!(r.status(), 409);
        assert_eq!(r.headers()["content-type"], "application/json");
        let r = proxy_response(
            &json!({"statusCode":204,"headers":{},"multiValueHeaders":{},"isBase64Encoded":false}),
        )
        .unwrap();
        assert_eq!(r.status(), 204);
    }
}
