//! The route's request validator, as API Gateway applies it.

use super::refusal::{Kind, Refusal};
use crate::gateway::spec::Route;
use axum::http::HeaderMap;
use serde_json::Value;

/// The route's request validator: required parameters first, then the body and its model.
pub(super) fn validate(
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
