//! Input and output processing: InputPath, ResultSelector, ResultPath,
//! OutputPath, error matching and `...Path` numbers.

use crate::definition::{Dynamic, IoPath, ResultPath, State};
use crate::error::{StateError, names};
use crate::path;
use serde_json::{Value, json};
use std::borrow::Cow;

/// The effective input, borrowed from `input` when InputPath is `$`.
pub(super) fn input_path<'a>(
    p: &IoPath,
    input: &'a Value,
    sctx: &'a Value,
) -> Result<Cow<'a, Value>, StateError> {
    select_io(p, input, sctx, "InputPath")
}

/// InputPath applied to an input the caller gives up (moved through when
/// InputPath is `$`).
pub(super) fn input_owned(p: &IoPath, input: Value, sctx: &Value) -> Result<Value, StateError> {
    match p {
        IoPath::Whole => Ok(input),
        _ => select_io(p, &input, sctx, "InputPath").map(Cow::into_owned),
    }
}

/// OutputPath applied to an output the caller gives up (moved through
/// when OutputPath is `$`, the usual case).
pub(super) fn output_path(p: &IoPath, output: Value, sctx: &Value) -> Result<Value, StateError> {
    match p {
        IoPath::Whole => Ok(output),
        _ => select_io(p, &output, sctx, "OutputPath").map(Cow::into_owned),
    }
}

fn select_io<'a>(
    p: &IoPath,
    v: &'a Value,
    sctx: &'a Value,
    what: &str,
) -> Result<Cow<'a, Value>, StateError> {
    match p {
        IoPath::Whole => Ok(Cow::Borrowed(v)),
        IoPath::Null => Ok(Cow::Owned(json!({}))),
        IoPath::Path(p) => p.select_cow(v, sctx).ok_or_else(|| {
            StateError::runtime(format!(
                "Invalid path '{}' in {what}: the path selects nothing in {v}",
                p.as_str()
            ))
        }),
    }
}

pub(super) fn result_path(
    rp: &ResultPath,
    raw_input: Value,
    result: Value,
) -> Result<Value, StateError> {
    match rp {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw_input),
        ResultPath::Path(p) => match p.segments() {
            Some(segs) => path::write_at(raw_input, segs, result).map_err(|e| {
                StateError::new(
                    names::RESULT_PATH_MATCH_FAILURE,
                    format!("Unable to apply ResultPath '{}': {e}", p.as_str()),
                )
            }),
            None => Err(StateError::runtime("ResultPath is not a reference path")),
        },
    }
}

/// Does an `ErrorEquals` list match an error name?
pub(super) fn error_matches(list: &[String], error: &str) -> bool {
    if error == names::RUNTIME {
        // States.Runtime is terminal: never retried, never caught.
        return false;
    }
    list.iter().any(|n| {
        n == error
            || n == names::ALL
            || (n == names::TASK_FAILED
                && error != names::TIMEOUT
                && error != names::HEARTBEAT_TIMEOUT)
            || (n == names::TIMEOUT && error == names::HEARTBEAT_TIMEOUT)
    })
}

pub(super) fn resolve_seconds(
    d: &Dynamic,
    input: &Value,
    sctx: &Value,
    what: &str,
) -> Result<u64, StateError> {
    match d {
        Dynamic::Fixed(n) => Ok(*n),
        Dynamic::Path(p) => {
            let v = p.select(input, sctx).ok_or_else(|| {
                StateError::runtime(format!("{what} path '{}' selects nothing", p.as_str()))
            })?;
            v.as_u64().ok_or_else(|| {
                StateError::runtime(format!(
                    "{what} path '{}' must select a non-negative integer, got {v}",
                    p.as_str()
                ))
            })
        }
    }
}

/// Applies ResultSelector, ResultPath and OutputPath to a state result.
pub(super) fn finish_result(
    state: &State,
    raw: Value,
    result: Value,
    sctx: &Value,
) -> Result<Value, StateError> {
    let result = match &state.result_selector {
        Some(t) => t.evaluate(&result, sctx)?,
        None => result,
    };
    let out = result_path(&state.result_path, raw, result)?;
    output_path(&state.output_path, out, sctx)
}
