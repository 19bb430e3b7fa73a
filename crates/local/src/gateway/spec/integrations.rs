//! Integrations (`aws_proxy` Lambda, `aws` SQS `SendMessage`, `mock`) and the gateway
//! responses, as far as the local gateway reproduces them.

use super::routes::Parser;
use super::{GatewayResponse, Integration, ResponseBody, SqsIntegration, StaticResponse};
use crate::gateway::throttle::as_number;
use crate::gateway::vtl;
use serde_json::{Value, json};
use std::collections::HashMap;

impl Parser<'_> {
    pub(super) fn integration(&self, op: &Value) -> Result<Integration, String> {
        let integ = op
            .get("x-amazon-apigateway-integration")
            .ok_or("no x-amazon-apigateway-integration")?;
        let ty = integ
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        match ty.as_str() {
            "aws_proxy" => {
                let uri = sub_string(integ.get("uri")).ok_or("integration has no uri")?;
                Ok(Integration::Lambda {
                    function: lambda_function(&uri)?,
                })
            }
            "aws" => self.sqs_integration(integ).map(Integration::Sqs),
            "mock" => {
                let default = integ
                    .pointer("/responses/default")
                    .ok_or("mock integration without a default response")?;
                Ok(Integration::Mock(static_response(default, "mock")?))
            }
            other => Err(format!(
                "integration type {other:?} is not emulated (only aws_proxy, aws SQS SendMessage \
                 and mock)"
            )),
        }
    }

    fn sqs_integration(&self, integ: &Value) -> Result<SqsIntegration, String> {
        let uri = sub_string(integ.get("uri")).ok_or("integration has no uri")?;
        let queue = sqs_queue(&uri)?;
        check_sqs_request_parameters(integ)?;
        let templates = send_message_templates(integ)?;
        let responses = integ.get("responses").and_then(Value::as_object);
        let on_success = select_response(responses, "200")?.unwrap_or(StaticResponse {
            status: 200,
            headers: Vec::new(),
            body: ResponseBody::Passthrough,
        });
        if !(200..300).contains(&on_success.status) {
            return Err(format!(
                "SQS's 200 is mapped to {}; the local gateway expects a 2xx",
                on_success.status
            ));
        }
        let on_failure = select_response(responses, "500")?;
        Ok(SqsIntegration {
            queue,
            templates,
            on_success,
            on_failure,
        })
    }

    pub(super) fn gateway_responses(&self) -> HashMap<String, GatewayResponse> {
        let mut out = HashMap::new();
        let Some(map) = self
            .doc
            .get("x-amazon-apigateway-gateway-responses")
            .and_then(Value::as_object)
        else {
            return out;
        };
        for (ty, r) in map {
            let status = r
                .get("statusCode")
                .and_then(as_number)
                .and_then(|n| u16::try_from(n as i64).ok())
                .filter(|s| (400..600).contains(s));
            let mut headers = Vec::new();
            for (k, v) in r
                .get("responseParameters")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let name = k.strip_prefix("gatewayresponse.header.");
                match (name, static_value(v)) {
                    (Some(name), Some(value)) => headers.push((name.to_owned(), value)),
                    _ => tracing::warn!(
                        gateway_response = ty.as_str(),
                        parameter = k.as_str(),
                        "gateway response parameter is not a static header; ignored locally"
                    ),
                }
            }
            out.insert(ty.clone(), GatewayResponse { status, headers });
        }
        out
    }
}

/// `'literal'` (a static mapping value) → `literal`.
fn static_value(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.to_owned())
}

/// A template string the gateway can return as is: no VTL references or directives.
fn is_literal_template(s: &str) -> bool {
    !s.contains('$') && !s.contains('#')
}

fn is_passthrough_template(s: &str) -> bool {
    matches!(
        s.trim(),
        "$input.body" | "$input.json('$')" | "$input.json(\"$\")"
    )
}

/// Whether `text` matches the whole of the Java-style `pattern` (API Gateway's integration
/// response selection). The regex engine is jsonschema's (`pattern` keyword), so that no extra
/// dependency is needed for a start-up-only check.
fn full_match(pattern: &str, text: &str) -> Result<bool, String> {
    let schema = json!({ "type": "string", "pattern": format!("^(?:{pattern})$") });
    let v = jsonschema::draft7::new(&schema)
        .map_err(|e| format!("selection pattern {pattern:?} is not a valid regex: {e}"))?;
    Ok(v.is_valid(&json!(text)))
}

/// The queue's logical id from an SQS integration uri (`…:sqs:path/<account>/${Queue.QueueName}`).
fn sqs_queue(uri: &str) -> Result<String, String> {
    let path = uri
        .split_once(":sqs:path/")
        .map(|(_, p)| p)
        .ok_or_else(|| {
            format!(
                "AWS integration uri {uri:?} is not an SQS path (…:sqs:path/<account>/<queue>); \
                 only SQS SendMessage is emulated"
            )
        })?;
    let last = path.rsplit('/').next().unwrap_or("");
    match last.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
        Some(expr) => Ok(expr
            .strip_suffix(".QueueName")
            .ok_or_else(|| format!("queue {last:?}: expected ${{Queue.QueueName}}"))?
            .to_owned()),
        None if !last.is_empty() && !last.contains('$') => Ok(last.to_owned()),
        None => Err(format!("cannot read the queue from {uri:?}")),
    }
}

/// The request parameters only shape the HTTP call to SQS; two of them change what SQS
/// answers, so they must be what the emulation assumes.
fn check_sqs_request_parameters(integ: &Value) -> Result<(), String> {
    let Some(params) = integ.get("requestParameters").and_then(Value::as_object) else {
        return Ok(());
    };
    for (k, v) in params {
        let value = static_value(v);
        match k.to_ascii_lowercase().as_str() {
            "integration.request.header.content-type"
                if value.as_deref() == Some("application/x-www-form-urlencoded") => {}
            "integration.request.header.accept" if value.as_deref() == Some("application/json") => {
            }
            _ => {
                return Err(format!(
                    "request parameter {k}: {v} is not emulated (only Content-Type \
                     'application/x-www-form-urlencoded' and Accept 'application/json')"
                ));
            }
        }
    }
    Ok(())
}

/// The request templates by content type (lower case), each parsed into a `SendMessage`.
fn send_message_templates(integ: &Value) -> Result<Vec<(String, vtl::MessageTemplate)>, String> {
    integ
        .get("requestTemplates")
        .and_then(Value::as_object)
        .filter(|t| !t.is_empty())
        .ok_or("SQS integration without requestTemplates")?
        .iter()
        .map(|(ct, t)| {
            let t = t
                .as_str()
                .ok_or_else(|| format!("request template for {ct} is not a string"))?;
            let parsed = vtl::parse_send_message(t)
                .map_err(|e| format!("request template for {ct}: {e}"))?;
            Ok((ct.trim().to_ascii_lowercase(), parsed))
        })
        .collect()
}

/// The integration response API Gateway selects for the integration's `status`: the first
/// pattern matching it whole, else `default`.
fn select_response(
    responses: Option<&serde_json::Map<String, Value>>,
    status: &str,
) -> Result<Option<StaticResponse>, String> {
    let Some(responses) = responses else {
        return Ok(None);
    };
    for (pattern, r) in responses {
        if pattern != "default" && full_match(pattern, status)? {
            return static_response(r, pattern).map(Some);
        }
    }
    responses
        .get("default")
        .map(|r| static_response(r, "default"))
        .transpose()
}

/// A `uri` as a plain string or the string of `Fn::Sub` (plain or `[string, vars]` form).
fn sub_string(v: Option<&Value>) -> Option<String> {
    let v = v?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => match o.get("Fn::Sub")? {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first()?.as_str().map(str::to_owned),
            _ => None,
        },
        _ => None,
    }
}

/// `…/functions/${OrderManagerFunction.Arn}/invocations` → `OrderManagerFunction`; also a
/// literal function ARN (`arn:aws:lambda:…:function:name`) → `name`.
fn lambda_function(uri: &str) -> Result<String, String> {
    let arn = uri
        .split_once("/functions/")
        .and_then(|(_, rest)| rest.strip_suffix("/invocations"))
        .ok_or_else(|| format!("Lambda uri {uri:?} is not …/functions/<arn>/invocations"))?;
    if let Some(expr) = arn.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
        let id = expr.strip_suffix(".Arn").unwrap_or(expr);
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(id.to_owned());
        }
    } else if let Some((_, name)) = arn.split_once(":function:")
        && !name.is_empty()
        && !name.contains(['$', ':'])
    {
        return Ok(name.to_owned());
    }
    Err(format!(
        "cannot tell which function {arn:?} is (expected ${{Function.Arn}})"
    ))
}

/// An integration response (`mock` default, or an SQS one): status, static headers, and a body
/// that is the integration's (no template or a pass-through one) or a literal template.
fn static_response(r: &Value, which: &str) -> Result<StaticResponse, String> {
    let status = r
        .get("statusCode")
        .and_then(as_number)
        .and_then(|n| u16::try_from(n as i64).ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| format!("integration response {which:?} has no valid statusCode"))?;
    let mut headers = Vec::new();
    for (k, v) in r
        .get("responseParameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let name = k.strip_prefix("method.response.header.").ok_or_else(|| {
            format!("integration response {which:?}: parameter {k} is not a response header")
        })?;
        let value = static_value(v).ok_or_else(|| {
            format!(
                "integration response {which:?}: {k} is mapped from {v}, not a static 'value'; \
                 only static headers are emulated"
            )
        })?;
        headers.push((name.to_owned(), value));
    }
    let body = match r.get("responseTemplates").and_then(Value::as_object) {
        None => ResponseBody::Passthrough,
        Some(t) => {
            let template = t
                .get("application/json")
                .or_else(|| (t.len() == 1).then(|| t.values().next()).flatten())
                .and_then(Value::as_str);
            match template {
                None if t.is_empty() => ResponseBody::Passthrough,
                None => {
                    return Err(format!(
                        "integration response {which:?}: no application/json response template"
                    ));
                }
                Some(s) if is_passthrough_template(s) => ResponseBody::Passthrough,
                Some(s) if is_literal_template(s) => ResponseBody::Literal(s.to_owned()),
                Some(s) => {
                    return Err(format!(
                        "integration response {which:?}: template {s:?} uses VTL; only literal \
                         and pass-through ($input.body) templates are emulated"
                    ));
                }
            }
        }
    };
    Ok(StaticResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_and_queue_ids_come_from_the_uri() {
        assert_eq!(
            lambda_function(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${OrderManagerFunction.Arn}/invocations"
            )
            .unwrap(),
            "OrderManagerFunction"
        );
        assert_eq!(
            lambda_function(
                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:fn1/invocations"
            )
            .unwrap(),
            "fn1"
        );
        assert!(lambda_function("arn:aws:apigateway:x:lambda:path/nothing").is_err());
    }

    #[test]
    fn selection_patterns_match_whole_statuses() {
        assert!(full_match(r"5\d{2}", "500").unwrap());
        assert!(!full_match(r"5\d{2}", "5000").unwrap());
        assert!(!full_match("4(0[1-9]|[1-9]\\d)", "400").unwrap());
        assert!(full_match("4(0[1-9]|[1-9]\\d)", "403").unwrap());
    }
}
