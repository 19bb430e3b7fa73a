//! The one VTL shape the SQS integration uses, and nothing more:
//!
//! ```text
//! Action=SendMessage&MessageBody=$util.urlEncode("…")
//! ```
//!
//! (parameters in any order, plus an optional `Version=…`). Inside the string literal `""` is
//! an escaped `"`, and two references are interpolated: `$input.body` (the raw request body) and
//! `$context.authorizer.claims.<name>` (also `['name']` and the `${…}` forms: a claim of the
//! verified token). Since SQS URL-decodes what `$util.urlEncode` encoded, the message body is the
//! literal with those substitutions. Anything else (another reference, a directive, an escape,
//! another SQS parameter) is refused when the template is read: a general VTL engine is out of
//! scope, and a half-understood template would put wrong messages on the queue.

use serde_json::Map;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Body,
    Claim(String),
}

const URL_ENCODE: &str = "$util.urlEncode(\"";

/// Reads a `requestTemplates` entry of an SQS `SendMessage` integration.
pub(crate) fn parse_send_message(template: &str) -> Result<MessageTemplate, String> {
    let t = template.trim();
    let mut rest = t;
    let mut action = None;
    let mut body = None;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("expected name=value at {:?}", excerpt(rest)))?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
            return Err(format!("unexpected text {:?}", excerpt(rest)));
        }
        let value;
        (value, rest) = if let Some(lit) = after.strip_prefix(URL_ENCODE) {
            let (parts, after_lit) = parse_literal(lit)?;
            let after_call = after_lit
                .strip_prefix(')')
                .ok_or_else(|| format!("expected ) at {:?}", excerpt(after_lit)))?;
            (ParamValue::Parts(parts), after_call)
        } else {
            let end = after.find('&').unwrap_or(after.len());
            let plain = &after[..end];
            if plain.contains(['$', '#', '"', '\\']) {
                return Err(format!(
                    "{key}={} is VTL the local gateway does not evaluate (only \
                     $util.urlEncode(\"…\") with $input.body and \
                     $context.authorizer.claims.<name>)",
                    excerpt(plain)
                ));
            }
            (ParamValue::Plain(plain), &after[end..])
        };
        match (key, value) {
            ("Action", ParamValue::Plain("SendMessage")) if action.is_none() => action = Some(()),
            ("Action", _) => return Err("Action must be SendMessage, once".into()),
            ("Version", ParamValue::Plain(_)) => {}
            ("MessageBody", ParamValue::Parts(p)) if body.is_none() => body = Some(p),
            ("MessageBody", _) => {
                return Err(
                    "MessageBody must be $util.urlEncode(\"…\"), once (a plain value would have \
                     to be URL-decoded)"
                        .into(),
                );
            }
            (other, _) => {
                return Err(format!(
                    "SQS parameter {other} is not emulated (only Action, Version, MessageBody)"
                ));
            }
        }
        if !rest.is_empty() {
            rest = rest
                .strip_prefix('&')
                .ok_or_else(|| format!("expected & at {:?}", excerpt(rest)))?;
        }
    }
    if action.is_none() {
        return Err("no Action=SendMessage".into());
    }
    let parts = body.ok_or("no MessageBody")?;
    Ok(MessageTemplate { parts })
}

enum ParamValue<'a> {
    Plain(&'a str),
    Parts(Vec<Part>),
}

/// The inside of a VTL double-quoted string, up to its closing quote; returns the parts and
/// the text after the quote.
fn parse_literal(s: &str) -> Result<(Vec<Part>, &str), String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        let rest = &s[i..];
        match bytes[i] {
            b'"' if rest.starts_with("\"\"") => {
                text.push('"');
                i += 2;
            }
            b'"' => {
                flush(&mut text, &mut parts);
                return Ok((parts, &s[i + 1..]));
            }
            b'$' => {
                let (part, len) = reference(rest)?;
                flush(&mut text, &mut parts);
                parts.push(part);
                i += len;
            }
            b'#' if rest[1..].starts_with(|c: char| {
                c.is_ascii_alphabetic() || matches!(c, '{' | '#' | '*' | '@')
            }) =>
            {
                return Err(format!(
                    "VTL directive or comment at {:?} is not evaluated by the local gateway",
                    excerpt(rest)
                ));
            }
            b'\\' if rest[1..].starts_with(['$', '#']) => {
                return Err(format!(
                    "VTL escape at {:?} is not evaluated by the local gateway",
                    excerpt(rest)
                ));
            }
            _ => {
                // A whole UTF-8 character (the literal may hold non-ASCII text).
                let c = rest.chars().next().unwrap_or_default();
                text.push(c);
                i += c.len_utf8().max(1);
            }
        }
    }
    Err("unterminated string literal in $util.urlEncode(\"…\")".into())
}

fn flush(text: &mut String, parts: &mut Vec<Part>) {
    if !text.is_empty() {
        parts.push(Part::Text(std::mem::take(text)));
    }
}

/// A reference at the start of `s` (which starts with `$`): the part and its length.
fn reference(s: &str) -> Result<(Part, usize), String> {
    let unsupported = || {
        format!(
            "VTL reference at {:?} is not evaluated by the local gateway (only $input.body and \
             $context.authorizer.claims.<name>)",
            excerpt(s)
        )
    };
    // Formal notation: ${input.body}, ${context.authorizer.claims.sub}.
    if let Some(inner) = s.strip_prefix("${") {
        let end = inner.find('}').ok_or_else(unsupported)?;
        let part = match &inner[..end] {
            "input.body" => Part::Body,
            r => match r.strip_prefix("context.authorizer.claims.") {
                Some(name) if is_ident(name) => Part::Claim(name.to_owned()),
                _ => return Err(unsupported()),
            },
        };
        return Ok((part, end + 3));
    }
    let (part, len) = if s.starts_with("$input.body") {
        (Part::Body, "$input.body".len())
    } else if let Some(rest) = s.strip_prefix("$context.authorizer.claims") {
        if let Some(name_on) = rest.strip_prefix('.') {
            let name_len = name_on
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(name_on.len());
            if name_len == 0 {
                return Err(unsupported());
            }
            let name = &name_on[..name_len];
            (
                Part::Claim(name.to_owned()),
                "$context.authorizer.claims.".len() + name_len,
            )
        } else if let Some(quoted) = rest.strip_prefix("['") {
            let end = quoted.find("']").ok_or_else(unsupported)?;
            let name = &quoted[..end];
            if name.is_empty() || name.contains(['\'', '$']) {
                return Err(unsupported());
            }
            (
                Part::Claim(name.to_owned()),
                "$context.authorizer.claims['".len() + end + 2,
            )
        } else {
            return Err(unsupported());
        }
    } else {
        return Err(unsupported());
    };
    // `$input.body.length()`, `$input.bodyX`, `$context.authorizer.claims.sub.foo`: a longer
    // reference than the one recognised.
    let after = &s[len..];
    let continues = after.starts_with(|c: char| c.is_ascii_alphanumeric() || "_([".contains(c))
        || (after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_alphabetic()));
    if continues {
        return Err(unsupported());
    }
    Ok((part, len))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c))
}

fn excerpt(s: &str) -> String {
    s.chars().take(40).collect()
}

impl MessageTemplate {
    /// The message body for this request: the raw body where `$input.body` stands, each claim
    /// JSON-string-escaped (an absent claim renders empty, as in API Gateway).
    pub(crate) fn render(
        &self,
        body: &str,
        claims: Option<&Map<String, serde_json::Value>>,
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Body => out.push_str(body),
                Part::Claim(name) => {
                    let value = claims
                        .and_then(|c| c.get(name))
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("");
                    out.push_str(&json_escape(value));
                }
            }
        }
        out
    }
}

/// `value` as the inside of a JSON string (no surrounding quotes).
fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(sub: &str) -> Map<String, serde_json::Value> {
        json!({ "sub": sub, "cognito:groups": "admin" })
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn the_template_of_post_orders_renders_the_message() {
        let t = parse_send_message(
            r#"Action=SendMessage&MessageBody=$util.urlEncode("{""data"":$input.body,""userId"":""$context.authorizer.claims.sub""}")"#,
        )
        .unwrap();
        assert_eq!(
            t.render(r#"{"a": 1}"#, Some(&claims("u-1"))),
            r#"{"data":{"a": 1},"userId":"u-1"}"#
        );
        // A claim cannot break out of its JSON string.
        assert_eq!(
            t.render("{}", Some(&claims(r#"x","admin":"y"#))),
            r#"{"data":{},"userId":"x\",\"admin\":\"y"}"#
        );
    }

    #[test]
    fn other_forms_of_the_supported_references() {
        let t = parse_send_message(
            "MessageBody=$util.urlEncode(\"${input.body}|${context.authorizer.claims.sub}|$context.authorizer.claims['cognito:groups']|é#1\")&Version=2012-11-05&Action=SendMessage\n",
        )
        .unwrap();
        assert_eq!(t.render("B", Some(&claims("s"))), "B|s|admin|é#1");
        assert_eq!(t.render("B", None), "B|||é#1");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "Action=SendMessage",
            "MessageBody=$util.urlEncode(\"x\")",
            "Action=SendMessage&MessageBody=$input.body",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"$input.json('$')\")",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"$input.body.length()\")",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"$context.requestId\")",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"#set($x = 1)\")",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"\\$input.body\")",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"x\")&MessageGroupId=g",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"x\"",
            "Action=SendMessage&MessageBody=$util.urlEncode(\"x)",
            "#set($b = $input.body)Action=SendMessage&MessageBody=$util.urlEncode(\"x\")",
            "Action=DeleteQueue&MessageBody=$util.urlEncode(\"x\")",
        ] {
            assert!(parse_send_message(bad).is_err(), "accepted {bad:?}");
        }
    }
}
