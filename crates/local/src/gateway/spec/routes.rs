//! Routes: path templates, and each method's rules (request validator, required parameters,
//! body model) as the OpenAPI body declares them.

use super::{BodyRule, Model, Route, Segment};
use crate::gateway::GatewayError;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn parse_template(template: &str) -> Result<Vec<Segment>, String> {
    if !template.starts_with('/') {
        return Err("a path must start with /".into());
    }
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(
            |(i, part)| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                None if part.contains(['{', '}']) => {
                    Err(format!("segment {part:?} mixes text and a parameter"))
                }
                None => Ok(Segment::Literal((*part).to_owned())),
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if i == last && !greedy.is_empty() => {
                        Ok(Segment::Greedy(greedy.to_owned()))
                    }
                    Some(_) => Err(format!("{part} must be the last segment")),
                    None if name.is_empty() => Err("empty parameter name".into()),
                    None => Ok(Segment::Param(name.to_owned())),
                },
            },
        )
        .collect()
}

/// Two templates that differ only in parameter names match the same requests.
pub(super) fn same_shape(a: &[Segment], b: &[Segment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Segment::Literal(p), Segment::Literal(q)) => p == q,
            (Segment::Param(_), Segment::Param(_)) | (Segment::Greedy(_), Segment::Greedy(_)) => {
                true
            }
            _ => false,
        })
}

/// Reads one OpenAPI document; the auth and integration parts live in `auth.rs` and
/// `integrations.rs`.
pub(super) struct Parser<'d> {
    pub(super) doc: &'d Value,
    validators: HashMap<String, (bool, bool)>,
    default_validator: Option<String>,
    models: HashMap<String, Arc<Model>>,
}

impl<'d> Parser<'d> {
    pub(super) fn new(doc: &'d Value) -> Result<Self, GatewayError> {
        let mut validators = HashMap::new();
        if let Some(map) = doc
            .get("x-amazon-apigateway-request-validators")
            .and_then(Value::as_object)
        {
            for (name, v) in map {
                let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
                validators.insert(
                    name.clone(),
                    (
                        flag("validateRequestBody"),
                        flag("validateRequestParameters"),
                    ),
                );
            }
        }
        let default_validator = doc
            .get("x-amazon-apigateway-request-validator")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(d) = &default_validator
            && !validators.contains_key(d)
        {
            return Err(GatewayError::Template(format!(
                "default request validator {d:?} is not defined"
            )));
        }
        Ok(Parser {
            doc,
            validators,
            default_validator,
            models: HashMap::new(),
        })
    }

    /// Follows local `$ref`s (`#/components/...`) to the value they name.
    pub(super) fn resolve<'v>(&self, mut v: &'v Value) -> Result<&'v Value, String>
    where
        'd: 'v,
    {
        for _ in 0..16 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                return Ok(v);
            };
            let pointer = r
                .strip_prefix('#')
                .ok_or_else(|| format!("$ref {r:?} is not local to the document"))?;
            v = self
                .doc
                .pointer(pointer)
                .ok_or_else(|| format!("$ref {r:?} points at nothing"))?;
        }
        Err("$ref chain too long (a cycle?)".into())
    }

    pub(super) fn route(
        &mut self,
        method: &str,
        item: &Value,
        op: &Value,
    ) -> Result<Route, String> {
        let op = self.resolve(op)?;
        let validator = match op
            .get("x-amazon-apigateway-request-validator")
            .and_then(Value::as_str)
            .or(self.default_validator.as_deref())
        {
            None => (false, false),
            Some(name) => *self
                .validators
                .get(name)
                .ok_or_else(|| format!("request validator {name:?} is not defined"))?,
        };
        let (validate_body, validate_params) = validator;

        let mut required_query = Vec::new();
        let mut required_headers = Vec::new();
        if validate_params {
            // Path-level parameters apply to every operation; an operation's own entry with the
            // same name and location replaces it.
            let mut params: Vec<(String, String, bool)> = Vec::new();
            for list in [item.get("parameters"), op.get("parameters")]
                .into_iter()
                .flatten()
            {
                for p in list.as_array().into_iter().flatten() {
                    let p = self.resolve(p)?;
                    let name = p
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or("a parameter has no name")?;
                    let location = p.get("in").and_then(Value::as_str).unwrap_or("");
                    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                    params.retain(|(n, l, _)| !(n == name && l == location));
                    params.push((name.to_owned(), location.to_owned(), required));
                }
            }
            for (name, location, required) in params {
                match (location.as_str(), required) {
                    ("query", true) => required_query.push(name),
                    ("header", true) => required_headers.push(name.to_ascii_lowercase()),
                    _ => {}
                }
            }
        }

        let body = if validate_body {
            self.body_rule(op)?
        } else {
            BodyRule::default()
        };

        Ok(Route {
            method: method.to_owned(),
            auth: self.auth_rule(op)?,
            required_query,
            required_headers,
            body,
            integration: self.integration(op)?,
        })
    }

    fn body_rule(&mut self, op: &Value) -> Result<BodyRule, String> {
        let Some(rb) = op.get("requestBody") else {
            return Ok(BodyRule::default());
        };
        let rb = self.resolve(rb)?;
        let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
        let content = rb.get("content").and_then(Value::as_object);
        let media = match content {
            None => None,
            Some(c) => match c.get("application/json") {
                Some(m) => Some(m),
                None if c.len() == 1 => c.values().next(),
                None if c.is_empty() => None,
                None => {
                    return Err(
                        "several request body media types without application/json; the local \
                         gateway validates one model per route"
                            .into(),
                    );
                }
            },
        };
        let model = match media.and_then(|m| m.get("schema")) {
            None => None,
            Some(schema) => Some(self.model(schema)?),
        };
        Ok(BodyRule { required, model })
    }

    /// Compiles a body schema once (a `$ref`ed model is shared by every route using it). The
    /// document's `components/schemas` travel with the schema so that local refs resolve;
    /// remote refs are refused by jsonschema (built without its resolvers).
    fn model(&mut self, schema: &Value) -> Result<Arc<Model>, String> {
        let key = schema
            .get("$ref")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(m) = key.as_ref().and_then(|k| self.models.get(k)) {
            return Ok(Arc::clone(m));
        }
        let schemas = self
            .doc
            .pointer("/components/schemas")
            .cloned()
            .unwrap_or_else(|| json!({}));
        // Draft 4 is what API Gateway models are; `allOf` keeps a top-level `$ref` from hiding
        // the `components` member the refs point into.
        let root = json!({ "allOf": [schema], "components": { "schemas": schemas } });
        let validator = jsonschema::draft4::new(&root).map_err(|e| {
            format!(
                "request model {} does not compile: {e}",
                key.as_deref().unwrap_or("(inline)")
            )
        })?;
        let model = Arc::new(Model { validator });
        if let Some(k) = key {
            self.models.insert(k, Arc::clone(&model));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_into_segments() {
        assert_eq!(
            parse_template("/orders/{id}").unwrap(),
            vec![
                Segment::Literal("orders".into()),
                Segment::Param("id".into())
            ]
        );
        assert_eq!(
            parse_template("/files/{p+}").unwrap(),
            vec![
                Segment::Literal("files".into()),
                Segment::Greedy("p".into())
            ]
        );
        assert!(parse_template("/a/{p+}/b").is_err());
        assert!(parse_template("/a/x{id}").is_err());
        assert!(parse_template("a").is_err());
    }
}
