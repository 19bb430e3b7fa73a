//! The type-specific part of each state kind.

use super::fields::Fields;
use super::{Dynamic, StateKind, StrSource, WaitSpec, non_negative_int, parse_machine};
use crate::choice;
use crate::error::DefinitionError;
use crate::path::Path;
use crate::template::Template;
use serde_json::Value;
use std::sync::Arc;

/// Parses the fields specific to `ty`. A Map takes `parameters` over as its
/// legacy ItemSelector, so it is passed mutably.
pub(super) fn parse_kind(
    f: &Fields<'_>,
    ty: &str,
    parameters: &mut Option<Template>,
) -> Result<StateKind, DefinitionError> {
    Ok(match ty {
        "Pass" => StateKind::Pass {
            result: f.m.get("Result").cloned(),
        },
        "Task" => task(f)?,
        "Choice" => choice(f)?,
        "Wait" => StateKind::Wait(wait(f)?),
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail {
            error: str_source(f, "Error", "ErrorPath")?,
            cause: str_source(f, "Cause", "CausePath")?,
        },
        "Parallel" => parallel(f)?,
        "Map" => map(f, parameters)?,
        other => return Err(f.err(format!("unknown state type '{other}'"))),
    })
}

fn task(f: &Fields<'_>) -> Result<StateKind, DefinitionError> {
    let resource = f
        .string("Resource")?
        .ok_or_else(|| f.err("missing required field 'Resource'"))?;
    if resource.ends_with(".sync") || resource.contains(".sync:") {
        return Err(f.err("the '.sync' integration pattern is not supported"));
    }
    let timeout = f.dynamic("TimeoutSeconds", "TimeoutSecondsPath")?;
    let heartbeat = f.dynamic("HeartbeatSeconds", "HeartbeatSecondsPath")?;
    if let (Some(Dynamic::Fixed(t)), Some(Dynamic::Fixed(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        return Err(f.err("'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'"));
    }
    Ok(StateKind::Task {
        resource,
        timeout,
        heartbeat,
    })
}

fn choice(f: &Fields<'_>) -> Result<StateKind, DefinitionError> {
    let choices = match f.m.get("Choices") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .enumerate()
            .map(|(i, c)| choice::parse_choice(c).map_err(|e| f.err(format!("Choices[{i}]: {e}"))))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(f.err("'Choices' must be a non-empty array")),
    };
    Ok(StateKind::Choice {
        choices,
        default: f.string("Default")?,
    })
}

fn wait(f: &Fields<'_>) -> Result<WaitSpec, DefinitionError> {
    let mut specs = Vec::new();
    if let Some(v) = f.m.get("Seconds") {
        specs.push(WaitSpec::Seconds(non_negative_int(v).ok_or_else(|| {
            f.err("'Seconds' must be a non-negative integer")
        })?));
    }
    if let Some(p) = f.ref_path("SecondsPath")? {
        specs.push(WaitSpec::SecondsPath(p));
    }
    if let Some(s) = f.string("Timestamp")? {
        specs.push(WaitSpec::Timestamp(
            choice::parse_timestamp(&s)
                .ok_or_else(|| f.err(format!("'Timestamp' is not an RFC 3339 timestamp: '{s}'")))?,
        ));
    }
    if let Some(p) = f.ref_path("TimestampPath")? {
        specs.push(WaitSpec::TimestampPath(p));
    }
    if specs.len() != 1 {
        return Err(f.err(
            "exactly one of 'Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath' is required",
        ));
    }
    Ok(specs.remove(0))
}

/// Fail's `Error`/`ErrorPath` and `Cause`/`CausePath`.
fn str_source(f: &Fields<'_>, lit: &str, path: &str) -> Result<Option<StrSource>, DefinitionError> {
    match (f.string(lit)?, f.path(path)?) {
        (Some(_), Some(_)) => Err(f.err(format!("'{lit}' and '{path}' cannot both be specified"))),
        (Some(s), None) => Ok(Some(StrSource::Fixed(s))),
        (None, Some(p)) => Ok(Some(StrSource::Path(p))),
        (None, None) => Ok(None),
    }
}

fn parallel(f: &Fields<'_>) -> Result<StateKind, DefinitionError> {
    let full = f.state;
    let branches = match f.m.get("Branches") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .enumerate()
            .map(|(i, b)| parse_machine(b, false, &format!("{full}/Branches[{i}]")).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(f.err("'Branches' must be a non-empty array")),
    };
    Ok(StateKind::Parallel { branches })
}

fn map(f: &Fields<'_>, parameters: &mut Option<Template>) -> Result<StateKind, DefinitionError> {
    let proc_v = match (f.m.get("ItemProcessor"), f.m.get("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(f.err("'ItemProcessor' and 'Iterator' cannot both be specified"));
        }
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => return Err(f.err("missing required field 'ItemProcessor'")),
    };
    let processor = Arc::new(parse_machine(proc_v, false, f.state)?);
    let item_selector = match (f.m.contains_key("ItemSelector"), parameters.take()) {
        (true, Some(_)) => {
            return Err(f.err("'ItemSelector' and 'Parameters' cannot both be specified"));
        }
        (true, None) => f.template("ItemSelector")?,
        (false, p) => p,
    };
    let max_concurrency = match (f.m.get("MaxConcurrency"), f.ref_path("MaxConcurrencyPath")?) {
        (Some(_), Some(_)) => {
            return Err(f.err("'MaxConcurrency' and 'MaxConcurrencyPath' cannot both be specified"));
        }
        (Some(v), None) => {
            Some(Dynamic::Fixed(non_negative_int(v).ok_or_else(|| {
                f.err("'MaxConcurrency' must be a non-negative integer")
            })?))
        }
        (None, Some(p)) => Some(Dynamic::Path(p)),
        (None, None) => None,
    };
    Ok(StateKind::Map {
        processor,
        items_path: match f.ref_path("ItemsPath")? {
            Some(p) => p,
            None => Path::parse_reference("$").map_err(|e| f.err(e))?,
        },
        item_selector,
        max_concurrency,
    })
}
