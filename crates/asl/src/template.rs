//! Payload templates: `Parameters`, `ItemSelector` and `ResultSelector`.
//!
//! A key ending in `.$` takes its value from a path (`$...`, `$$...`) or an
//! intrinsic call (`States.X(...)`), and the `.$` is dropped from the key.
//! This applies at every nesting level, including objects inside arrays.

use crate::error::{StateError, names};
use crate::intrinsics::{self, Call};
use crate::path::Path;
use serde_json::{Map, Value};

/// A compiled payload template.
#[derive(Debug, Clone)]
pub enum Template {
    /// A value copied as is.
    Literal(Value),
    /// An object whose members are templates (keys without `.$`).
    Object(Vec<(String, Template)>),
    /// An array whose items are templates.
    Array(Vec<Template>),
    /// A path to select.
    Path(Path),
    /// An intrinsic function call.
    Intrinsic(Box<Call>),
}

impl Template {
    /// Compiles a template; the error names the offending key.
    pub fn compile(v: &Value) -> Result<Template, String> {
        match v {
            Value::Object(m) => {
                let mut out = Vec::with_capacity(m.len());
                for (k, v) in m {
                    if let Some(name) = k.strip_suffix(".$") {
                        let Value::String(s) = v else {
                            return Err(format!(
                                "the value of '{k}' must be a string (a path or an intrinsic function)"
                            ));
                        };
                        let t = if s.starts_with('$') {
                            Template::Path(Path::parse(s).map_err(|e| format!("'{k}': {e}"))?)
                        } else if s.starts_with("States.") {
                            Template::Intrinsic(Box::new(
                                intrinsics::parse(s).map_err(|e| format!("'{k}': {e}"))?,
                            ))
                        } else {
                            return Err(format!(
                                "the value of '{k}' must be a path or an intrinsic function, got '{s}'"
                            ));
                        };
                        out.push((name.to_string(), t));
                    } else {
                        out.push((k.clone(), Template::compile(v)?));
                    }
                }
                Ok(Template::Object(out))
            }
            Value::Array(a) => Ok(Template::Array(
                a.iter().map(Template::compile).collect::<Result<_, _>>()?,
            )),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// Builds the payload from the effective input and the context object.
    /// A path that selects nothing raises `States.ParameterPathFailure`.
    pub fn evaluate(&self, input: &Value, ctx: &Value) -> Result<Value, StateError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(members) => {
                let mut m = Map::new();
                for (k, t) in members {
                    let v = match t {
                        Template::Path(p) => p.select(input, ctx).ok_or_else(|| {
                            StateError::new(
                                names::PARAMETER_PATH_FAILURE,
                                format!(
                                    "The JSONPath '{}' specified for the field '{k}.$' could not be found in the input '{}'",
                                    p.as_str(),
                                    input
                                ),
                            )
                        })?,
                        other => other.evaluate(input, ctx)?,
                    };
                    m.insert(k.clone(), v);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|t| t.evaluate(input, ctx))
                    .collect::<Result<_, _>>()?,
            )),
            Template::Path(p) => p.select(input, ctx).ok_or_else(|| {
                StateError::new(
                    names::PARAMETER_PATH_FAILURE,
                    format!("The JSONPath '{}' could not be found", p.as_str()),
                )
            }),
            Template::Intrinsic(c) => intrinsics::evaluate(c, input, ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_example() {
        let t = Template::compile(&json!({
            "flagged": true,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"},
            "weekday.$": "$$.DayOfWeek",
            "formatted.$": "States.Format('{}-{}', $.vals[0], $.vals[1])",
            "list": [{"x.$": "$.vals[1]"}, 7]
        }))
        .unwrap();
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        let out = t
            .evaluate(&input, &json!({"DayOfWeek": "TUESDAY"}))
            .unwrap();
        assert_eq!(
            out,
            json!({
                "flagged": true,
                "parts": {"first": 0, "last3": [30, 40, 50]},
                "weekday": "TUESDAY",
                "formatted": "0-10",
                "list": [{"x": 10}, 7]
            })
        );
    }

    #[test]
    fn missing_path_is_parameter_path_failure() {
        let t = Template::compile(&json!({"a.$": "$.nope"})).unwrap();
        let e = t.evaluate(&json!({}), &json!({})).unwrap_err();
        assert_eq!(e.error, "States.ParameterPathFailure");
    }

    #[test]
    fn compile_errors() {
        assert!(Template::compile(&json!({"a.$": 1})).is_err());
        assert!(Template::compile(&json!({"a.$": "nope"})).is_err());
        assert!(Template::compile(&json!({"a.$": "States.Bad()"})).is_err());
    }
}
