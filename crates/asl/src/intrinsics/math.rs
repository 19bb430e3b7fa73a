//! `States.MathRandom` and `States.MathAdd`.

use super::{as_int, fail, int, number_from_f64};
use crate::error::StateError;
use serde_json::Value;

pub(super) fn random(
    start: &Value,
    end: &Value,
    seed: Option<&Value>,
) -> Result<Value, StateError> {
    use rand::{RngExt, SeedableRng};
    let start = as_int(start, "States.MathRandom start")?;
    let end = as_int(end, "States.MathRandom end")?;
    if start >= end {
        return fail("States.MathRandom start must be less than end");
    }
    let n = match seed {
        Some(seed) => {
            let seed = as_int(seed, "States.MathRandom seed")?;
            rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..end)
        }
        None => rand::rng().random_range(start..end),
    };
    Ok(int(n))
}

pub(super) fn add(x: &Value, y: &Value) -> Result<Value, StateError> {
    let (Value::Number(x), Value::Number(y)) = (x, y) else {
        return fail("States.MathAdd arguments must be numbers");
    };
    if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
        return x
            .checked_add(y)
            .map(int)
            .map_or_else(|| fail("States.MathAdd overflow"), Ok);
    }
    let sum = x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0);
    Ok(number_from_f64(sum))
}
