//! JSON functions: `States.StringToJson`, `States.JsonToString`,
//! `States.JsonMerge`.

use super::{as_str, fail};
use crate::error::StateError;
use crate::path::type_name;
use serde_json::Value;

pub(super) fn string_to_json(s: &Value) -> Result<Value, StateError> {
    let s = as_str(s, "States.StringToJson argument")?;
    serde_json::from_str(s).or_else(|e| fail(format!("States.StringToJson: invalid JSON: {e}")))
}

pub(super) fn json_to_string(v: &Value) -> Result<Value, StateError> {
    serde_json::to_string(v)
        .map(Value::String)
        .or_else(|e| fail(e.to_string()))
}

pub(super) fn merge(left: &Value, right: &Value, deep: &Value) -> Result<Value, StateError> {
    let (Value::Object(left), Value::Object(right)) = (left, right) else {
        return fail("States.JsonMerge arguments must be objects");
    };
    match deep {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return fail("States.JsonMerge only supports shallow merge (false)");
        }
        other => {
            return fail(format!(
                "States.JsonMerge third argument must be a boolean, got {}",
                type_name(other)
            ));
        }
    }
    let mut out = left.clone();
    for (k, v) in right {
        out.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(out))
}
