//! `GET /docs`: the API's OpenAPI document as one readable HTML page, rendered once at start
//! from the same document the gateway serves (`/openapi.json`). Self-contained (inline CSS, no
//! scripts, no CDN), so it works offline: every route with its auth, parameters and their
//! constraints, request body, and responses, then every schema the routes refer to.

use serde_json::{Map, Value};
use std::fmt::Write;

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;\
padding:0 1em;color:#222}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
section.op{border:1px solid #ddd;border-radius:6px;padding:.4em 1em;margin:1em 0}\
.m{font-weight:bold;padding:.1em .5em;border-radius:4px;color:#fff;background:#555}\
.get{background:#2a7}.put{background:#c80}.post{background:#27c}.delete{background:#c33}\
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:.25em .6em;\
text-align:left;vertical-align:top}code{background:#f4f4f4;padding:0 .2em}\
.auth{color:#666}nav a{margin-right:.8em;white-space:nowrap}";

/// The page for `doc`, an OpenAPI 3 document.
pub fn render(doc: &Value) -> String {
    let title = text(doc.pointer("/info/title")).unwrap_or("API");
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = esc(title)
    );
    if let Some(d) = text(doc.pointer("/info/description")) {
        let _ = write!(html, "<p>{}</p>", esc(d));
    }
    html.push_str(
        "<p>The machine-readable document is <a href=\"/openapi.json\">/openapi.json</a>. \
         Routes with a lock take <code>Authorization: Bearer &lt;access token&gt;</code> \
         (locally: <code>coffee-local token &lt;user&gt; [--admin]</code>).</p>",
    );
    let ops = operations(doc);
    html.push_str("<nav>");
    for (path, method, _) in &ops {
        let _ = write!(
            html,
            "<a href=\"#{}\">{} {}</a>",
            anchor(method, path),
            method.to_uppercase(),
            esc(path)
        );
    }
    html.push_str("</nav><h2>Routes</h2>");
    for (path, method, op) in &ops {
        html.push_str(&operation(doc, path, method, op));
    }
    html.push_str(&schemas(doc));
    html.push_str("</body></html>");
    html
}

/// Every (path, method, operation) but the CORS preflights, in document order.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for method in METHODS.iter().filter(|m| **m != "options") {
            if let Some(op) = item.get(*method) {
                out.push((path.clone(), (*method).to_owned(), op));
            }
        }
    }
    out
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value) -> String {
    let mut html = format!(
        "<section class=\"op\" id=\"{}\"><h3><span class=\"m {method}\">{}</span> \
         <code>{}</code></h3>",
        anchor(method, path),
        method.to_uppercase(),
        esc(path)
    );
    if let Some(s) = text(op.get("summary")) {
        let _ = write!(html, "<p>{}</p>", esc(s));
    }
    let _ = write!(html, "<p class=\"auth\">{}</p>", auth(doc, op));
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        html.push_str(&parameters(params));
    }
    if let Some(body) = op.get("requestBody") {
        html.push_str(&request_body(body));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        html.push_str(&responses_table(responses));
    }
    html.push_str("</section>");
    html
}

/// Who may call: public, or the scheme and the scopes a token needs (any one of them).
fn auth(doc: &Value, op: &Value) -> String {
    let requirements = op.get("security").or_else(|| doc.get("security"));
    let Some(first) = requirements
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_object)
        .and_then(|r| r.iter().next())
    else {
        return "Public: no token.".to_owned();
    };
    let (scheme, scopes) = first;
    let scopes: Vec<String> = scopes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| format!("<code>{}</code>", esc(s)))
        .collect();
    let mut line = format!("&#128274; Token required ({})", esc(scheme));
    if !scopes.is_empty() {
        let _ = write!(line, " with one of the scopes {}", scopes.join(", "));
    }
    line.push('.');
    line
}

fn parameters(params: &[Value]) -> String {
    let mut html = String::from(
        "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th>\
         <th>schema</th><th>description</th></tr>",
    );
    for p in params {
        let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(text(p.get("name")).unwrap_or("")),
            esc(text(p.get("in")).unwrap_or("")),
            if required { "yes" } else { "no" },
            describe(p.get("schema").unwrap_or(&Value::Null)),
            esc(text(p.get("description")).unwrap_or(""))
        );
    }
    html.push_str("</table>");
    html
}

fn request_body(body: &Value) -> String {
    let required = body.get("required").and_then(Value::as_bool) == Some(true);
    let mut html = format!(
        "<h4>Request body ({})</h4><table><tr><th>media type</th><th>schema</th></tr>",
        if required { "required" } else { "optional" }
    );
    for (media, m) in body
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(media),
            describe(m.get("schema").unwrap_or(&Value::Null))
        );
    }
    html.push_str("</table>");
    html
}

fn responses_table(responses: &Map<String, Value>) -> String {
    let mut html =
        String::from("<h4>Responses</h4><table><tr><th>status</th><th>body</th><th>when</th></tr>");
    for (status, r) in responses {
        let schema = r
            .pointer("/content/application~1json/schema")
            .map_or_else(|| "&mdash;".to_owned(), describe);
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(status),
            schema,
            esc(text(r.get("description")).unwrap_or(""))
        );
    }
    html.push_str("</table>");
    html
}

/// The document's named schemas, each with its properties.
fn schemas(doc: &Value) -> String {
    let Some(all) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return String::new();
    };
    let mut html = String::from("<h2>Schemas</h2>");
    for (name, schema) in all {
        let _ = write!(
            html,
            "<section class=\"op\" id=\"schema-{n}\"><h3>{n}</h3>",
            n = esc(name)
        );
        if let Some(d) = text(schema.get("description")) {
            let _ = write!(html, "<p>{}</p>", esc(d));
        }
        let _ = write!(html, "<p>{}</p>", describe(schema));
        html.push_str(&properties(schema));
        html.push_str("</section>");
    }
    html
}

/// An object schema's properties: name, whether required, type and constraints, description.
fn properties(schema: &Value) -> String {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return String::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut html = String::from(
        "<table><tr><th>property</th><th>required</th><th>schema</th><th>description</th></tr>",
    );
    for (name, p) in props {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            esc(name),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                "no"
            },
            describe(p),
            nested(p),
            esc(text(p.get("description")).unwrap_or(""))
        );
    }
    html.push_str("</table>");
    html
}

/// The properties of an inline object (or of an array's inline items), shown in place.
fn nested(p: &Value) -> String {
    let inner = match p.get("items") {
        Some(items) if p.get("type").and_then(Value::as_str) == Some("array") => items,
        _ => p,
    };
    if inner.get("$ref").is_none() && inner.get("properties").is_some() {
        properties(inner)
    } else {
        String::new()
    }
}

/// One schema in a line: its type (or a link to the named schema) and every constraint.
fn describe(schema: &Value) -> String {
    if let Some(r) = text(schema.get("$ref")) {
        return schema_link(r);
    }
    let mut parts: Vec<String> = Vec::new();
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            let alternatives: Vec<String> = list.iter().map(describe).collect();
            let joiner = if key == "allOf" { " and " } else { " or " };
            parts.push(alternatives.join(joiner));
        }
    }
    if let Some(ty) = text(schema.get("type")) {
        parts.push(match (ty, schema.get("items")) {
            ("array", Some(items)) => format!("array of {}", describe(items)),
            _ => ty.to_owned(),
        });
    }
    parts.extend(constraints(schema));
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        parts.push("or null".to_owned());
    }
    if parts.is_empty() {
        "any".to_owned()
    } else {
        parts.join(", ")
    }
}

/// enum, pattern, length, range, item and property limits, in words.
fn constraints(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&plain(v))))
            .collect();
        out.push(format!("one of {}", values.join(" | ")));
    }
    if let Some(p) = text(schema.get("pattern")) {
        out.push(format!("matching <code>{}</code>", esc(p)));
    }
    let bounds = [
        ("minLength", "maxLength", "characters"),
        ("minimum", "maximum", ""),
        ("minItems", "maxItems", "items"),
        ("minProperties", "maxProperties", "properties"),
    ];
    for (low, high, unit) in bounds {
        let (lo, hi) = (schema.get(low).map(plain), schema.get(high).map(plain));
        let range = match (lo, hi) {
            (Some(l), Some(h)) => format!("{l} to {h}"),
            (Some(l), None) => format!("at least {l}"),
            (None, Some(h)) => format!("at most {h}"),
            (None, None) => continue,
        };
        out.push(format!("{range} {unit}").trim_end().to_owned());
    }
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        out.push("no other properties".to_owned());
    }
    out
}

fn schema_link(reference: &str) -> String {
    match reference.strip_prefix("#/components/schemas/") {
        Some(name) => format!("<a href=\"#schema-{n}\">{n}</a>", n = esc(name)),
        None => format!("<code>{}</code>", esc(reference)),
    }
}

fn anchor(method: &str, path: &str) -> String {
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{method}{slug}")
}

fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// A JSON value as plain text (strings without their quotes).
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "t<1>", "description": "d"},
            "paths": {
                "/orders/{id}": {
                    "put": {
                        "summary": "Act on an order",
                        "security": [{"Auth": ["scope/a"]}],
                        "parameters": [
                            {"name": "id", "in": "path", "required": true,
                             "schema": {"type": "string", "maxLength": 80, "pattern": "^[^/]+$"}},
                            {"name": "action", "in": "query",
                             "schema": {"type": "string", "enum": ["make", "unmake"]}}
                        ],
                        "requestBody": {"content": {"application/json":
                            {"schema": {"$ref": "#/components/schemas/Choice"}}}},
                        "responses": {
                            "200": {"description": "ok"},
                            "400": {"description": "bad", "content": {"application/json":
                                {"schema": {"$ref": "#/components/schemas/Error"}}}}
                        }
                    },
                    "options": {"summary": "CORS preflight.", "responses": {}}
                },
                "/config": {"get": {"responses": {"200": {"description": "rows"}}}}
            },
            "components": {"schemas": {
                "Error": {"type": "object", "required": ["message"],
                          "properties": {"message": {"type": "string"}}},
                "Choice": {"type": "object", "additionalProperties": false,
                           "properties": {"modifiers": {"type": "array", "maxItems": 10,
                                                        "items": {"type": "string"}}}}
            }}
        })
    }

    #[test]
    fn every_route_shows_its_auth_parameters_constraints_and_responses() {
        let html = render(&doc());
        assert!(html.contains("<title>t&lt;1&gt;</title>"), "escaped title");
        assert!(html.contains("id=\"put-orders--id-\""));
        assert!(html.contains("Token required (Auth) with one of the scopes <code>scope/a</code>"));
        assert!(html.contains("Public: no token."), "GET /config is public");
        assert!(html.contains("one of <code>make</code> | <code>unmake</code>"));
        assert!(html.contains("matching <code>^[^/]+$</code>, at most 80 characters"));
        assert!(html.contains("<a href=\"#schema-Choice\">Choice</a>"));
        assert!(html.contains("<td>400</td><td><a href=\"#schema-Error\">Error</a></td>"));
        assert!(html.contains("array of string, at most 10 items"));
        assert!(html.contains("no other properties"));
        assert!(!html.contains("CORS preflight"), "preflights are left out");
    }

    #[test]
    fn the_templates_document_shows_its_constraints() {
        let template = std::fs::read_to_string(local::workspace_root().join("template.yaml"))
            .expect("template.yaml");
        let spec = local::gateway::ApiSpec::from_template(&template).expect("the API");
        let html = render(spec.document());
        for shown in [
            "<span class=\"m put\">PUT</span> <code>/store</code>",
            "one of <code>open</code> | <code>closed</code>",
            "one of <code>make</code> | <code>unmake</code>",
            "<a href=\"#schema-Error\">Error</a>",
            "id=\"schema-NewOrder\"",
        ] {
            assert!(html.contains(shown), "{shown}");
        }
    }

    #[test]
    fn the_page_needs_nothing_from_the_network() {
        let html = render(&doc());
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script"));
    }
}
