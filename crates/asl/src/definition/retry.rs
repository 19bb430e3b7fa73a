//! `Retry` and `Catch` lists.

use super::fields::Fields;
use super::{Catcher, ResultPath, Retrier, non_negative_int, positive_int};
use crate::error::DefinitionError;
use crate::path::Path;
use serde_json::{Map, Value};

fn error_equals(
    f: &Fields<'_>,
    what: &str,
    m: &Map<String, Value>,
) -> Result<Vec<String>, DefinitionError> {
    let list = match m.get("ErrorEquals") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|e| {
                e.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| f.err(format!("{what}: ErrorEquals entries must be strings")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(f.err(format!("{what}: 'ErrorEquals' must be a non-empty array"))),
    };
    if list.iter().any(|e| e == crate::error::names::ALL) && list.len() != 1 {
        return Err(f.err(format!(
            "{what}: 'States.ALL' must appear alone in ErrorEquals"
        )));
    }
    Ok(list)
}

pub(super) fn parse_retry(f: &Fields<'_>, v: &Value) -> Result<Vec<Retrier>, DefinitionError> {
    let Value::Array(items) = v else {
        return Err(f.err("'Retry' must be an array"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        out.push(parse_retrier(f, &format!("Retry[{i}]"), item)?);
    }
    check_all_last(f, "Retry", out.iter().map(|r| &r.error_equals))?;
    Ok(out)
}

fn parse_retrier(f: &Fields<'_>, what: &str, item: &Value) -> Result<Retrier, DefinitionError> {
    let Value::Object(m) = item else {
        return Err(f.err(format!("{what} must be an object")));
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "ErrorEquals"
                | "IntervalSeconds"
                | "MaxAttempts"
                | "BackoffRate"
                | "MaxDelaySeconds"
                | "JitterStrategy"
                | "Comment"
        ) {
            return Err(f.err(format!("{what}: unsupported field '{k}'")));
        }
    }
    let error_equals = error_equals(f, what, m)?;
    let interval_seconds = match m.get("IntervalSeconds") {
        None => 1,
        Some(v) => positive_int(v).ok_or_else(|| {
            f.err(format!(
                "{what}: 'IntervalSeconds' must be a positive integer"
            ))
        })?,
    };
    let max_attempts = match m.get("MaxAttempts") {
        None => 3,
        Some(v) => non_negative_int(v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                f.err(format!(
                    "{what}: 'MaxAttempts' must be a non-negative integer"
                ))
            })?,
    };
    let backoff_rate = match m.get("BackoffRate") {
        None => 2.0,
        Some(v) => v
            .as_f64()
            .filter(|r| *r >= 1.0)
            .ok_or_else(|| f.err(format!("{what}: 'BackoffRate' must be a number >= 1.0")))?,
    };
    let max_delay_seconds = match m.get("MaxDelaySeconds") {
        None => None,
        Some(v) => Some(positive_int(v).ok_or_else(|| {
            f.err(format!(
                "{what}: 'MaxDelaySeconds' must be a positive integer"
            ))
        })?),
    };
    let full_jitter = match m.get("JitterStrategy") {
        None => false,
        Some(Value::String(s)) if s == "FULL" => true,
        Some(Value::String(s)) if s == "NONE" => false,
        Some(_) => return Err(f.err(format!("{what}: 'JitterStrategy' must be FULL or NONE"))),
    };
    Ok(Retrier {
        error_equals,
        interval_seconds,
        max_attempts,
        backoff_rate,
        max_delay_seconds,
        full_jitter,
    })
}

pub(super) fn parse_catch(f: &Fields<'_>, v: &Value) -> Result<Vec<Catcher>, DefinitionError> {
    let Value::Array(items) = v else {
        return Err(f.err("'Catch' must be an array"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let what = format!("Catch[{i}]");
        let Value::Object(m) = item else {
            return Err(f.err(format!("{what} must be an object")));
        };
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                "ErrorEquals" | "Next" | "ResultPath" | "Comment"
            ) {
                return Err(f.err(format!("{what}: unsupported field '{k}'")));
            }
        }
        let error_equals = error_equals(f, &what, m)?;
        let next = match m.get("Next") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(f.err(format!("{what}: 'Next' is required and must be a string"))),
        };
        let result_path = match m.get("ResultPath") {
            None => ResultPath::Replace,
            Some(Value::Null) => ResultPath::Discard,
            Some(Value::String(s)) => {
                let p = Path::parse_reference(s)
                    .map_err(|e| f.err(format!("{what}: invalid 'ResultPath': {e}")))?;
                if p.is_context() {
                    return Err(f.err(format!("{what}: 'ResultPath' cannot refer to the context")));
                }
                if p.segments().is_some_and(<[_]>::is_empty) {
                    ResultPath::Replace
                } else {
                    ResultPath::Path(p)
                }
            }
            Some(_) => return Err(f.err(format!("{what}: 'ResultPath' must be a string or null"))),
        };
        out.push(Catcher {
            error_equals,
            next,
            result_path,
        });
    }
    check_all_last(f, "Catch", out.iter().map(|c| &c.error_equals))?;
    Ok(out)
}

fn check_all_last<'a>(
    f: &Fields<'_>,
    what: &str,
    lists: impl ExactSizeIterator<Item = &'a Vec<String>>,
) -> Result<(), DefinitionError> {
    let n = lists.len();
    for (i, l) in lists.enumerate() {
        if l.iter().any(|e| e == crate::error::names::ALL) && i + 1 != n {
            return Err(f.err(format!(
                "{what}[{i}]: 'States.ALL' must appear in the last {what} element"
            )));
        }
    }
    Ok(())
}
