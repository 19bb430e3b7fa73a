//! JSONPath handling.
//!
//! ASL distinguishes *Paths* (any JSONPath, which may select several nodes)
//! from *Reference Paths* (only `$`, `.field`, `['field']` and `[n]`, which
//! select at most one node and can be used to write into a document, as
//! `ResultPath` does). Reference paths are parsed here by hand, which also
//! accepts field names that RFC 9535 would reject in dot notation (e.g.
//! `$.my-field`); everything else is handed to `serde_json_path`.
//!
//! A path starting with `$$` is evaluated against the context object.

use serde_json::{Map, Value};
use std::borrow::Cow;

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Field(String),
    /// `[n]`.
    Index(usize),
}

#[derive(Debug, Clone)]
enum Kind {
    Reference(Vec<Segment>),
    Query(Box<serde_json_path::JsonPath>),
}

/// A compiled ASL path (`$...` over the input or `$$...` over the context).
#[derive(Debug, Clone)]
pub struct Path {
    raw: String,
    context: bool,
    kind: Kind,
}

impl Path {
    /// Parses any JSONPath (`$` or `$$` prefixed).
    pub fn parse(raw: &str) -> Result<Path, String> {
        let (context, body) = split_context(raw)?;
        if let Some(segs) = parse_reference(body) {
            return Ok(Path {
                raw: raw.to_string(),
                context,
                kind: Kind::Reference(segs),
            });
        }
        let q = serde_json_path::JsonPath::parse(body)
            .map_err(|e| format!("invalid JSONPath '{raw}': {e}"))?;
        Ok(Path {
            raw: raw.to_string(),
            context,
            kind: Kind::Query(Box::new(q)),
        })
    }

    /// Parses a Reference Path: only `$`, `.field`, `['field']`, `[n]`.
    pub fn parse_reference(raw: &str) -> Result<Path, String> {
        let (context, body) = split_context(raw)?;
        match parse_reference(body) {
            Some(segs) => Ok(Path {
                raw: raw.to_string(),
                context,
                kind: Kind::Reference(segs),
            }),
            None => Err(format!(
                "'{raw}' is not a valid reference path (only $, .field, ['field'] and [n] are allowed)"
            )),
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True if the path is evaluated against the context object (`$$`).
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// The segments, if this is a reference path.
    pub fn segments(&self) -> Option<&[Segment]> {
        match &self.kind {
            Kind::Reference(s) => Some(s),
            Kind::Query(_) => None,
        }
    }

    /// Selects from `input` (or `context` for `$$` paths).
    ///
    /// A reference path yields the single node or `None` when it does not
    /// exist. Any other path yields the array of all matched nodes, which
    /// is what AWS does for indefinite paths (filters, wildcards, ...).
    pub fn select(&self, input: &Value, context: &Value) -> Option<Value> {
        self.select_cow(input, context).map(Cow::into_owned)
    }

    /// Like [`Path::select`], without copying the node a reference path
    /// selects.
    pub fn select_cow<'a>(&self, input: &'a Value, context: &'a Value) -> Option<Cow<'a, Value>> {
        let doc = if self.context { context } else { input };
        match &self.kind {
            Kind::Reference(segs) => get(doc, segs).map(Cow::Borrowed),
            Kind::Query(q) => Some(Cow::Owned(Value::Array(
                q.query(doc).all().into_iter().cloned().collect(),
            ))),
        }
    }
}

fn split_context(raw: &str) -> Result<(bool, &str), String> {
    if raw.starts_with("$$") {
        // `$$.Execution.Id` -> `$.Execution.Id` evaluated over the context.
        Ok((true, &raw[1..]))
    } else if raw.starts_with('$') {
        Ok((false, raw))
    } else {
        Err(format!("path '{raw}' must start with '$'"))
    }
}

/// Parses the reference-path grammar; `None` if `s` is not one.
fn parse_reference(s: &str) -> Option<Vec<Segment>> {
    let rest = s.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name.is_empty() || name.contains(['*', '?', '@', '(', ')', '\'', '"', ']']) {
                    return None;
                }
                segs.push(Segment::Field(name));
            }
            '[' => {
                i += 1;
                let c = *chars.get(i)?;
                if c == '\'' || c == '"' {
                    let quote = c;
                    i += 1;
                    let mut name = String::new();
                    loop {
                        let c = *chars.get(i)?;
                        if c == '\\' {
                            name.push(*chars.get(i + 1)?);
                            i += 2;
                        } else if c == quote {
                            i += 1;
                            break;
                        } else {
                            name.push(c);
                            i += 1;
                        }
                    }
                    if *chars.get(i)? != ']' {
                        return None;
                    }
                    i += 1;
                    segs.push(Segment::Field(name));
                } else {
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    if i == start || *chars.get(i)? != ']' {
                        return None;
                    }
                    let n: String = chars[start..i].iter().collect();
                    let idx = n.parse::<usize>().ok()?;
                    i += 1;
                    segs.push(Segment::Index(idx));
                }
            }
            _ => return None,
        }
    }
    Some(segs)
}

fn get<'a>(mut v: &'a Value, segs: &[Segment]) -> Option<&'a Value> {
    for s in segs {
        v = match (s, v) {
            (Segment::Field(f), Value::Object(m)) => m.get(f)?,
            (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Applies a `ResultPath` reference path: returns `input` with `result`
/// written at `segs`, creating intermediate objects for missing fields.
///
/// Fails (-> `States.ResultPathMatchFailure`) when an existing node on the
/// way is not an object/array of the right shape, or an index is out of
/// range, since there is no sensible way to write there.
pub fn write_at(input: Value, segs: &[Segment], result: Value) -> Result<Value, String> {
    let Some((first, rest)) = segs.split_first() else {
        return Ok(result);
    };
    match (first, input) {
        (Segment::Field(f), Value::Object(mut m)) => {
            let child = m.remove(f).unwrap_or(Value::Object(Map::new()));
            let child = if rest.is_empty() {
                result
            } else {
                write_at(child, rest, result)?
            };
            m.insert(f.clone(), child);
            Ok(Value::Object(m))
        }
        (Segment::Index(i), Value::Array(mut a)) => {
            if *i >= a.len() {
                return Err(format!("index {i} is out of range"));
            }
            let child = std::mem::take(&mut a[*i]);
            a[*i] = if rest.is_empty() {
                result
            } else {
                write_at(child, rest, result)?
            };
            Ok(Value::Array(a))
        }
        (Segment::Field(f), other) => Err(format!(
            "cannot set field '{f}' on a value of type {}",
            type_name(&other)
        )),
        (Segment::Index(i), other) => Err(format!(
            "cannot set index {i} on a value of type {}",
            type_name(&other)
        )),
    }
}

/// JSON type name used in error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_paths() {
        let p = Path::parse_reference("$.a['b c'][1].d-e").unwrap();
        assert_eq!(
            p.segments().unwrap(),
            &[
                Segment::Field("a".into()),
                Segment::Field("b c".into()),
                Segment::Index(1),
                Segment::Field("d-e".into())
            ]
        );
        assert!(Path::parse_reference("$.a[*]").is_err());
        assert!(Path::parse_reference("$..a").is_err());
        assert!(Path::parse_reference("$.a[?(@.x)]").is_err());
        assert!(Path::parse_reference("a.b").is_err());
    }

    #[test]
    fn select_reference_and_query() {
        let doc = json!({"a": [{"x": 1}, {"x": 2}], "b": {"c": "d"}});
        let ctx = json!({"Execution": {"Id": "e"}});
        assert_eq!(
            Path::parse("$.b.c").unwrap().select(&doc, &ctx),
            Some(json!("d"))
        );
        assert_eq!(Path::parse("$.b.z").unwrap().select(&doc, &ctx), None);
        assert_eq!(
            Path::parse("$.a[*].x").unwrap().select(&doc, &ctx),
            Some(json!([1, 2]))
        );
        assert_eq!(
            Path::parse("$$.Execution.Id").unwrap().select(&doc, &ctx),
            Some(json!("e"))
        );
        assert_eq!(Path::parse("$").unwrap().select(&doc, &ctx), Some(doc));
    }

    #[test]
    fn write_creates_intermediates() {
        let segs = Path::parse_reference("$.a.b.c").unwrap();
        let out = write_at(json!({"x": 1}), segs.segments().unwrap(), json!(5)).unwrap();
        assert_eq!(out, json!({"x": 1, "a": {"b": {"c": 5}}}));
        let segs = Path::parse_reference("$.x.y").unwrap();
        assert!(write_at(json!({"x": 1}), segs.segments().unwrap(), json!(5)).is_err());
        let segs = Path::parse_reference("$.l[1]").unwrap();
        assert_eq!(
            write_at(json!({"l": [0, 0]}), segs.segments().unwrap(), json!(5)).unwrap(),
            json!({"l": [0, 5]})
        );
    }
}
