//! One state: its allowed fields, transition and common input/output
//! fields; the type-specific part is in `kinds`.

use super::fields::Fields;
use super::retry::{parse_catch, parse_retry};
use super::{ResultPath, State, Transition, check_query_language, kinds};
use crate::error::DefinitionError;
use serde_json::Value;

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const UNSUPPORTED: &[(&str, &str)] = &[
    ("Assign", "Variables/Assign are not supported"),
    ("Output", "JSONata 'Output' is not supported"),
    ("Arguments", "JSONata 'Arguments' is not supported"),
    (
        "ItemReader",
        "ItemReader (distributed Map) is not supported",
    ),
    (
        "ItemBatcher",
        "ItemBatcher (distributed Map) is not supported",
    ),
    (
        "ResultWriter",
        "ResultWriter (distributed Map) is not supported",
    ),
    (
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentage (distributed Map) is not supported",
    ),
    (
        "ToleratedFailureCount",
        "ToleratedFailureCount (distributed Map) is not supported",
    ),
    (
        "ToleratedFailurePercentagePath",
        "ToleratedFailurePercentagePath (distributed Map) is not supported",
    ),
    (
        "ToleratedFailureCountPath",
        "ToleratedFailureCountPath (distributed Map) is not supported",
    ),
    ("Label", "Label (distributed Map) is not supported"),
];

/// The fields a state type accepts besides the common ones; `None` for an
/// unknown type.
fn specific_fields(ty: &str) -> Option<&'static [&'static str]> {
    Some(match ty {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &["Choices", "Default", "InputPath", "OutputPath"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ItemSelector",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemsPath",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "Iterator",
            "ItemProcessor",
        ],
        _ => return None,
    })
}

pub(super) fn parse_state(name: &str, full: &str, v: &Value) -> Result<State, DefinitionError> {
    let Value::Object(m) = v else {
        return Err(DefinitionError::at(full, "a state must be a JSON object"));
    };
    let f = Fields { m, state: full };
    let ty = f
        .string("Type")?
        .ok_or_else(|| f.err("missing required field 'Type'"))?;
    let specific =
        specific_fields(&ty).ok_or_else(|| f.err(format!("unknown state type '{ty}'")))?;
    check_fields(&f, &ty, specific)?;
    check_query_language(m).map_err(|e| f.err(e))?;
    let transition = if specific.contains(&"Next") {
        Some(parse_transition(&f)?)
    } else {
        None
    };
    let result_path = parse_result_path(&f)?;
    let retry = match m.get("Retry") {
        None => Vec::new(),
        Some(v) => parse_retry(&f, v)?,
    };
    let catch = match m.get("Catch") {
        None => Vec::new(),
        Some(v) => parse_catch(&f, v)?,
    };
    let mut parameters = f.template("Parameters")?;
    let result_selector = f.template("ResultSelector")?;
    let kind = kinds::parse_kind(&f, &ty, &mut parameters)?;
    Ok(State {
        name: name.to_string(),
        kind,
        input_path: f.io_path("InputPath")?,
        output_path: f.io_path("OutputPath")?,
        result_path,
        parameters,
        result_selector,
        retry,
        catch,
        transition,
        // Every reference to the context object is a path starting with
        // `$$`, so a state whose text has none never reads it.
        uses_context: v.to_string().contains("$$"),
    })
}

fn check_fields(f: &Fields<'_>, ty: &str, specific: &[&str]) -> Result<(), DefinitionError> {
    for k in f.m.keys() {
        if COMMON.contains(&k.as_str()) || specific.contains(&k.as_str()) {
            continue;
        }
        if let Some((_, why)) = UNSUPPORTED.iter().find(|(u, _)| u == k) {
            return Err(f.err(*why));
        }
        return Err(f.err(format!("field '{k}' is not supported in a {ty} state")));
    }
    Ok(())
}

/// `Next` / `End` of a state type that has them.
fn parse_transition(f: &Fields<'_>) -> Result<Transition, DefinitionError> {
    let next = f.string("Next")?;
    let end = match f.m.get("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(f.err("'End' must be a boolean")),
    };
    match (next, end) {
        (Some(_), true) => Err(f.err("'Next' and 'End' cannot both be specified")),
        (Some(n), false) => Ok(Transition::Next(n)),
        (None, true) => Ok(Transition::End),
        (None, false) => Err(f.err("one of 'Next' or 'End: true' is required")),
    }
}

fn parse_result_path(f: &Fields<'_>) -> Result<ResultPath, DefinitionError> {
    Ok(match f.m.get("ResultPath") {
        None => ResultPath::Replace,
        Some(Value::Null) => ResultPath::Discard,
        Some(_) => match f.ref_path("ResultPath")? {
            Some(p) if p.is_context() => {
                return Err(f.err("'ResultPath' cannot refer to the context object"));
            }
            Some(p) if p.segments().is_some_and(<[_]>::is_empty) => ResultPath::Replace,
            Some(p) => ResultPath::Path(p),
            None => ResultPath::Replace,
        },
    })
}
