//! Loading and validating state machine definitions.
//!
//! Everything that can be checked statically is checked here, so that a
//! definition problem is reported when the definition is loaded (with the
//! state's name) and never in the middle of a run: unknown transition
//! targets, missing or conflicting fields, invalid paths, intrinsic syntax,
//! `States.ALL` placement, unreachable states, and all of this recursively
//! for Parallel branches and Map item processors.

use crate::choice::{self, Choice};
use crate::error::{DefinitionError, EngineError};
use crate::path::Path;
use crate::template::Template;
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// A parsed state machine (top level, a Parallel branch or a Map processor).
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// First state.
    pub start_at: String,
    /// States by name.
    pub states: HashMap<String, State>,
    /// Execution timeout (top level only).
    pub timeout_seconds: Option<u64>,
    /// `Comment`, if any.
    pub comment: Option<String>,
}

/// `InputPath` / `OutputPath`.
#[derive(Debug, Clone)]
pub enum IoPath {
    /// Field absent: `$`, the whole document.
    Whole,
    /// `null`: an empty object.
    Null,
    /// A path.
    Path(Path),
}

/// `ResultPath`.
#[derive(Debug, Clone)]
pub enum ResultPath {
    /// Field absent or `$`: the result replaces the input.
    Replace,
    /// `null`: discard the result, keep the input.
    Discard,
    /// A reference path inside the input.
    Path(Path),
}

/// Where a state goes after it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `Next`.
    Next(String),
    /// `End: true`.
    End,
}

/// A value that is either fixed in the definition or read from a path.
#[derive(Debug, Clone)]
pub enum Dynamic {
    /// A number from the definition.
    Fixed(u64),
    /// A reference path read at run time.
    Path(Path),
}

/// A string that is either fixed or read from a path (Fail's Error/Cause).
#[derive(Debug, Clone)]
pub enum StrSource {
    /// From the definition.
    Fixed(String),
    /// From a path over the state input.
    Path(Path),
}

/// One element of `Retry`.
#[derive(Debug, Clone)]
pub struct Retrier {
    /// Error names this retrier handles.
    pub error_equals: Vec<String>,
    /// Seconds before the first retry (default 1).
    pub interval_seconds: u64,
    /// Maximum number of retries (default 3, 0 = never).
    pub max_attempts: u32,
    /// Multiplier of the interval per attempt (default 2.0).
    pub backoff_rate: f64,
    /// Cap on the delay.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy: FULL`: randomise the delay in [0, delay].
    pub full_jitter: bool,
}

impl Retrier {
    /// Delay before retry number `attempt` (0-based), before jitter.
    pub fn delay_seconds(&self, attempt: u32) -> f64 {
        let d = self.interval_seconds as f64 * self.backoff_rate.powi(attempt as i32);
        match self.max_delay_seconds {
            Some(max) => d.min(max as f64),
            None => d,
        }
    }
}

/// One element of `Catch`.
#[derive(Debug, Clone)]
pub struct Catcher {
    /// Error names this catcher handles.
    pub error_equals: Vec<String>,
    /// State to go to.
    pub next: String,
    /// Where to put the error output in the state input.
    pub result_path: ResultPath,
}

/// `Wait` state timing.
#[derive(Debug, Clone)]
pub enum WaitSpec {
    /// `Seconds`.
    Seconds(u64),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `Timestamp`.
    Timestamp(DateTime<FixedOffset>),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// What kind of state it is, with the type-specific fields.
#[derive(Debug, Clone)]
pub enum StateKind {
    /// Pass state.
    Pass {
        /// `Result`.
        result: Option<Value>,
    },
    /// Task state.
    Task {
        /// `Resource` ARN, including any `.waitForTaskToken` suffix.
        resource: String,
        /// `TimeoutSeconds` / `TimeoutSecondsPath`.
        timeout: Option<Dynamic>,
        /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
        heartbeat: Option<Dynamic>,
    },
    /// Choice state.
    Choice {
        /// `Choices`.
        choices: Vec<Choice>,
        /// `Default`.
        default: Option<String>,
    },
    /// Wait state.
    Wait(WaitSpec),
    /// Succeed state.
    Succeed,
    /// Fail state.
    Fail {
        /// `Error` / `ErrorPath`.
        error: Option<StrSource>,
        /// `Cause` / `CausePath`.
        cause: Option<StrSource>,
    },
    /// Parallel state.
    Parallel {
        /// `Branches`.
        branches: Vec<Arc<StateMachine>>,
    },
    /// Map state (inline).
    Map {
        /// `ItemProcessor` / `Iterator`.
        processor: Arc<StateMachine>,
        /// `ItemsPath` (default `$`).
        items_path: Path,
        /// `ItemSelector` / legacy `Parameters`.
        item_selector: Option<Template>,
        /// `MaxConcurrency` / `MaxConcurrencyPath` (0 = unlimited).
        max_concurrency: Option<Dynamic>,
    },
}

impl StateKind {
    /// The AWS type name (`Task`, `Pass`, ...), used in history events.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task { .. } => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map { .. } => "Map",
        }
    }
}

/// A state with its common input/output processing fields.
#[derive(Debug, Clone)]
pub struct State {
    /// Its name.
    pub name: String,
    /// Type-specific part.
    pub kind: StateKind,
    /// `InputPath`.
    pub input_path: IoPath,
    /// `OutputPath`.
    pub output_path: IoPath,
    /// `ResultPath`.
    pub result_path: ResultPath,
    /// `Parameters` (not for Map, where it means ItemSelector).
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `Next`/`End`; `None` for Choice, Succeed and Fail.
    pub transition: Option<Transition>,
}

/// Replaces `${Name}` placeholders (DefinitionSubstitutions) in a definition.
/// An undefined name is an error; `$` not followed by `{` is left alone.
pub fn substitute(def: &str, subs: &HashMap<String, String>) -> Result<String, EngineError> {
    let mut out = String::with_capacity(def.len());
    let mut rest = def;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[pos..]);
            return Ok(out);
        };
        let name = &after[..end];
        match subs.get(name) {
            Some(v) => out.push_str(v),
            None => return Err(EngineError::UndefinedSubstitution(name.to_string())),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses and validates a definition (JSON text).
pub fn parse(text: &str) -> Result<StateMachine, DefinitionError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| DefinitionError::top(format!("definition is not valid JSON: {e}")))?;
    parse_value(&v)
}

/// Parses and validates a definition already parsed as JSON.
pub fn parse_value(v: &Value) -> Result<StateMachine, DefinitionError> {
    parse_machine(v, true, "")
}

fn parse_machine(v: &Value, top: bool, prefix: &str) -> Result<StateMachine, DefinitionError> {
    let scope = |msg: String| {
        if prefix.is_empty() {
            DefinitionError::top(msg)
        } else {
            DefinitionError::at(prefix, msg)
        }
    };
    let Value::Object(m) = v else {
        return Err(scope("a state machine must be a JSON object".into()));
    };
    let mut allowed = vec!["StartAt", "States", "Comment", "Version", "QueryLanguage"];
    if top {
        allowed.push("TimeoutSeconds");
    } else {
        allowed.push("ProcessorConfig");
    }
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(scope(format!("unsupported field '{k}'")));
        }
    }
    check_query_language(m).map_err(scope)?;
    if let Some(pc) = m.get("ProcessorConfig") {
        let mode = pc.get("Mode").and_then(Value::as_str).unwrap_or("INLINE");
        if mode != "INLINE" {
            return Err(scope(format!(
                "ProcessorConfig Mode '{mode}' is not supported (only INLINE)"
            )));
        }
    }
    let start_at = match m.get("StartAt") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(scope("'StartAt' must be a string".into())),
        None => return Err(scope("missing required field 'StartAt'".into())),
    };
    let states_v = match m.get("States") {
        Some(Value::Object(s)) if !s.is_empty() => s,
        Some(_) => return Err(scope("'States' must be a non-empty object".into())),
        None => return Err(scope("missing required field 'States'".into())),
    };
    let timeout_seconds = match m.get("TimeoutSeconds") {
        None => None,
        Some(v) => Some(
            positive_int(v)
                .ok_or_else(|| scope("'TimeoutSeconds' must be a positive integer".into()))?,
        ),
    };
    let comment = m.get("Comment").and_then(Value::as_str).map(str::to_string);
    let mut states = HashMap::new();
    for (name, sv) in states_v {
        if name.is_empty() || name.chars().count() > 80 {
            return Err(DefinitionError::at(
                name,
                "state names must be 1 to 80 characters long",
            ));
        }
        let full = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let st = parse_state(name, &full, sv)?;
        states.insert(name.clone(), st);
    }
    if !states.contains_key(&start_at) {
        return Err(scope(format!(
            "'StartAt' refers to a state that does not exist: '{start_at}'"
        )));
    }
    // Every transition target must exist.
    for (name, st) in &states {
        let full = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        for (what, target) in targets(st) {
            if !states.contains_key(target) {
                return Err(DefinitionError::at(
                    &full,
                    format!("'{what}' refers to a state that does not exist: '{target}'"),
                ));
            }
        }
    }
    // AWS rejects unreachable states; so do we (it is usually a typo).
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue = VecDeque::from([start_at.as_str()]);
    while let Some(n) = queue.pop_front() {
        if !seen.insert(n) {
            continue;
        }
        if let Some(st) = states.get(n) {
            for (_, t) in targets(st) {
                queue.push_back(t);
            }
        }
    }
    let mut unreachable: Vec<&String> = states
        .keys()
        .filter(|k| !seen.contains(k.as_str()))
        .collect();
    unreachable.sort();
    if let Some(n) = unreachable.first() {
        let full = if prefix.is_empty() {
            (*n).clone()
        } else {
            format!("{prefix}/{n}")
        };
        return Err(DefinitionError::at(
            &full,
            "state is not reachable from StartAt",
        ));
    }
    Ok(StateMachine {
        start_at,
        states,
        timeout_seconds,
        comment,
    })
}

fn targets(st: &State) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    if let Some(Transition::Next(n)) = &st.transition {
        out.push(("Next", n.as_str()));
    }
    if let StateKind::Choice { choices, default } = &st.kind {
        for c in choices {
            out.push(("Next", c.next.as_str()));
        }
        if let Some(d) = default {
            out.push(("Default", d.as_str()));
        }
    }
    for c in &st.catch {
        out.push(("Catch.Next", c.next.as_str()));
    }
    out
}

fn check_query_language(m: &Map<String, Value>) -> Result<(), String> {
    match m.get("QueryLanguage") {
        None => Ok(()),
        Some(Value::String(s)) if s == "JSONPath" => Ok(()),
        Some(other) => Err(format!(
            "QueryLanguage {other} is not supported (only JSONPath; JSONata is out of scope)"
        )),
    }
}

fn positive_int(v: &Value) -> Option<u64> {
    non_negative_int(v).filter(|n| *n > 0)
}

fn non_negative_int(v: &Value) -> Option<u64> {
    let n = v.as_number()?;
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    let f = n.as_f64()?;
    (f >= 0.0 && f.fract() == 0.0 && f < 9.0e15).then_some(f as u64)
}

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

/// Field access with errors that name the state.
struct Fields<'a> {
    m: &'a Map<String, Value>,
    state: &'a str,
}

impl Fields<'_> {
    fn err(&self, msg: impl Into<String>) -> DefinitionError {
        DefinitionError::at(self.state, msg)
    }

    fn string(&self, key: &str) -> Result<Option<String>, DefinitionError> {
        match self.m.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(format!("'{key}' must be a string"))),
        }
    }

    fn path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        self.string(key)?
            .map(|s| Path::parse(&s).map_err(|e| self.err(format!("invalid '{key}': {e}"))))
            .transpose()
    }

    fn ref_path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        self.string(key)?
            .map(|s| {
                Path::parse_reference(&s).map_err(|e| self.err(format!("invalid '{key}': {e}")))
            })
            .transpose()
    }

    fn io_path(&self, key: &str) -> Result<IoPath, DefinitionError> {
        match self.m.get(key) {
            None => Ok(IoPath::Whole),
            Some(Value::Null) => Ok(IoPath::Null),
            Some(_) => Ok(self.path(key)?.map_or(IoPath::Whole, IoPath::Path)),
        }
    }

    fn template(&self, key: &str) -> Result<Option<Template>, DefinitionError> {
        self.m
            .get(key)
            .map(|v| Template::compile(v).map_err(|e| self.err(format!("invalid '{key}': {e}"))))
            .transpose()
    }

    fn pos_int(&self, key: &str) -> Result<Option<u64>, DefinitionError> {
        self.m
            .get(key)
            .map(|v| {
                positive_int(v)
                    .ok_or_else(|| self.err(format!("'{key}' must be a positive integer")))
            })
            .transpose()
    }

    fn dynamic(&self, key: &str, path_key: &str) -> Result<Option<Dynamic>, DefinitionError> {
        match (self.pos_int(key)?, self.ref_path(path_key)?) {
            (Some(_), Some(_)) => {
                Err(self.err(format!("'{key}' and '{path_key}' cannot both be specified")))
            }
            (Some(n), None) => Ok(Some(Dynamic::Fixed(n))),
            (None, Some(p)) => Ok(Some(Dynamic::Path(p))),
            (None, None) => Ok(None),
        }
    }
}

fn parse_state(name: &str, full: &str, v: &Value) -> Result<State, DefinitionError> {
    let Value::Object(m) = v else {
        return Err(DefinitionError::at(full, "a state must be a JSON object"));
    };
    let f = Fields { m, state: full };
    let ty = f
        .string("Type")?
        .ok_or_else(|| f.err("missing required field 'Type'"))?;
    let specific: &[&str] = match ty.as_str() {
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
        other => return Err(f.err(format!("unknown state type '{other}'"))),
    };
    for k in m.keys() {
        if COMMON.contains(&k.as_str()) || specific.contains(&k.as_str()) {
            continue;
        }
        if let Some((_, why)) = UNSUPPORTED.iter().find(|(u, _)| u == k) {
            return Err(f.err(*why));
        }
        return Err(f.err(format!("field '{k}' is not supported in a {ty} state")));
    }
    check_query_language(m).map_err(|e| f.err(e))?;

    // Next / End.
    let has_transition = specific.contains(&"Next");
    let transition = if has_transition {
        let next = f.string("Next")?;
        let end = match m.get("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(f.err("'End' must be a boolean")),
        };
        match (next, end) {
            (Some(_), true) => return Err(f.err("'Next' and 'End' cannot both be specified")),
            (Some(n), false) => Some(Transition::Next(n)),
            (None, true) => Some(Transition::End),
            (None, false) => return Err(f.err("one of 'Next' or 'End: true' is required")),
        }
    } else {
        None
    };

    let result_path = match m.get("ResultPath") {
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
    };
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

    let kind = match ty.as_str() {
        "Pass" => StateKind::Pass {
            result: m.get("Result").cloned(),
        },
        "Task" => {
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
            StateKind::Task {
                resource,
                timeout,
                heartbeat,
            }
        }
        "Choice" => {
            let choices = match m.get("Choices") {
                Some(Value::Array(a)) if !a.is_empty() => a
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        choice::parse_choice(c).map_err(|e| f.err(format!("Choices[{i}]: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(f.err("'Choices' must be a non-empty array")),
            };
            StateKind::Choice {
                choices,
                default: f.string("Default")?,
            }
        }
        "Wait" => {
            let mut specs = Vec::new();
            if let Some(v) = m.get("Seconds") {
                specs.push(WaitSpec::Seconds(non_negative_int(v).ok_or_else(|| {
                    f.err("'Seconds' must be a non-negative integer")
                })?));
            }
            if let Some(p) = f.ref_path("SecondsPath")? {
                specs.push(WaitSpec::SecondsPath(p));
            }
            if let Some(s) = f.string("Timestamp")? {
                specs.push(WaitSpec::Timestamp(
                    choice::parse_timestamp(&s).ok_or_else(|| {
                        f.err(format!("'Timestamp' is not an RFC 3339 timestamp: '{s}'"))
                    })?,
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
            StateKind::Wait(specs.remove(0))
        }
        "Succeed" => StateKind::Succeed,
        "Fail" => {
            let src = |lit: &str, path: &str| -> Result<Option<StrSource>, DefinitionError> {
                match (f.string(lit)?, f.path(path)?) {
                    (Some(_), Some(_)) => {
                        Err(f.err(format!("'{lit}' and '{path}' cannot both be specified")))
                    }
                    (Some(s), None) => Ok(Some(StrSource::Fixed(s))),
                    (None, Some(p)) => Ok(Some(StrSource::Path(p))),
                    (None, None) => Ok(None),
                }
            };
            StateKind::Fail {
                error: src("Error", "ErrorPath")?,
                cause: src("Cause", "CausePath")?,
            }
        }
        "Parallel" => {
            let branches = match m.get("Branches") {
                Some(Value::Array(a)) if !a.is_empty() => a
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        parse_machine(b, false, &format!("{full}/Branches[{i}]")).map(Arc::new)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(f.err("'Branches' must be a non-empty array")),
            };
            StateKind::Parallel { branches }
        }
        "Map" => {
            let proc_v = match (m.get("ItemProcessor"), m.get("Iterator")) {
                (Some(_), Some(_)) => {
                    return Err(f.err("'ItemProcessor' and 'Iterator' cannot both be specified"));
                }
                (Some(p), None) | (None, Some(p)) => p,
                (None, None) => return Err(f.err("missing required field 'ItemProcessor'")),
            };
            let processor = Arc::new(parse_machine(proc_v, false, full)?);
            let item_selector = match (m.contains_key("ItemSelector"), parameters.take()) {
                (true, Some(_)) => {
                    return Err(f.err("'ItemSelector' and 'Parameters' cannot both be specified"));
                }
                (true, None) => f.template("ItemSelector")?,
                (false, p) => p,
            };
            let max_concurrency = match (m.get("MaxConcurrency"), f.ref_path("MaxConcurrencyPath")?)
            {
                (Some(_), Some(_)) => {
                    return Err(f.err(
                        "'MaxConcurrency' and 'MaxConcurrencyPath' cannot both be specified",
                    ));
                }
                (Some(v), None) => {
                    Some(Dynamic::Fixed(non_negative_int(v).ok_or_else(|| {
                        f.err("'MaxConcurrency' must be a non-negative integer")
                    })?))
                }
                (None, Some(p)) => Some(Dynamic::Path(p)),
                (None, None) => None,
            };
            StateKind::Map {
                processor,
                items_path: match f.ref_path("ItemsPath")? {
                    Some(p) => p,
                    None => Path::parse_reference("$").map_err(|e| f.err(e))?,
                },
                item_selector,
                max_concurrency,
            }
        }
        other => return Err(f.err(format!("unknown state type '{other}'"))),
    };
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
    })
}

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

fn parse_retry(f: &Fields<'_>, v: &Value) -> Result<Vec<Retrier>, DefinitionError> {
    let Value::Array(items) = v else {
        return Err(f.err("'Retry' must be an array"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let what = format!("Retry[{i}]");
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
        let error_equals = error_equals(f, &what, m)?;
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
        out.push(Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            full_jitter,
        });
    }
    check_all_last(f, "Retry", out.iter().map(|r| &r.error_equals))?;
    Ok(out)
}

fn parse_catch(f: &Fields<'_>, v: &Value) -> Result<Vec<Catcher>, DefinitionError> {
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
