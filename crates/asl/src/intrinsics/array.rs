//! `States.Array*` functions (`States.Array` itself is built in `evaluate`).

use super::{as_array, as_int, fail, int};
use crate::error::StateError;
use serde_json::Value;

/// `States.ArrayRange` refuses to build more items than this (as AWS does).
const MAX_RANGE_ITEMS: usize = 1000;

pub(super) fn partition(array: &Value, size: &Value) -> Result<Value, StateError> {
    let arr = as_array(array, "States.ArrayPartition array")?;
    let size = as_int(size, "States.ArrayPartition chunk size")?;
    if size <= 0 {
        return fail("States.ArrayPartition chunk size must be positive");
    }
    Ok(Value::Array(
        arr.chunks(size as usize)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

pub(super) fn contains(array: &Value, value: &Value) -> Result<Value, StateError> {
    let arr = as_array(array, "States.ArrayContains array")?;
    Ok(Value::Bool(arr.iter().any(|x| json_eq(x, value))))
}

pub(super) fn range(start: &Value, end: &Value, step: &Value) -> Result<Value, StateError> {
    let start = as_int(start, "States.ArrayRange start")?;
    let end = as_int(end, "States.ArrayRange end")?;
    let step = as_int(step, "States.ArrayRange step")?;
    if step == 0 {
        return fail("States.ArrayRange step must not be 0");
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0 && x <= end) || (step < 0 && x >= end) {
        if out.len() >= MAX_RANGE_ITEMS {
            return fail("States.ArrayRange would produce more than 1000 items");
        }
        out.push(int(x));
        match x.checked_add(step) {
            Some(n) => x = n,
            None => break,
        }
    }
    Ok(Value::Array(out))
}

pub(super) fn get_item(array: &Value, index: &Value) -> Result<Value, StateError> {
    let arr = as_array(array, "States.ArrayGetItem array")?;
    let idx = as_int(index, "States.ArrayGetItem index")?;
    usize::try_from(idx)
        .ok()
        .and_then(|i| arr.get(i))
        .cloned()
        .map_or_else(
            || fail(format!("States.ArrayGetItem index {idx} is out of bounds")),
            Ok,
        )
}

pub(super) fn length(array: &Value) -> Result<Value, StateError> {
    Ok(int(
        as_array(array, "States.ArrayLength argument")?.len() as i64
    ))
}

pub(super) fn unique(array: &Value) -> Result<Value, StateError> {
    let arr = as_array(array, "States.ArrayUnique argument")?;
    let mut out: Vec<Value> = Vec::new();
    for v in arr {
        if !out.iter().any(|o| json_eq(o, v)) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

/// Numeric-aware equality: `1` and `1.0` are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}
