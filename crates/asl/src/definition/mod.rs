//! Loading and validating state machine definitions.
//!
//! Everything that can be checked statically is checked here, so that a
//! definition problem is reported when the definition is loaded (with the
//! state's name) and never in the middle of a run: unknown transition
//! targets, missing or conflicting fields, invalid paths, intrinsic syntax,
//! `States.ALL` placement, unreachable states, and all of this recursively
//! for Parallel branches and Map item processors.

use crate::choice::Choice;
use crate::error::{DefinitionError, EngineError};
use crate::path::Path;
use crate::template::Template;
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

mod fields;
mod kinds;
mod retry;
mod state;

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
    /// Whether the state's definition mentions the context object (`$$`)
    /// anywhere; if not, the engine does not build one for it.
    pub uses_context: bool,
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
    check_machine_fields(m, top).map_err(scope)?;
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
    let states = parse_states(states_v, prefix)?;
    if !states.contains_key(&start_at) {
        return Err(scope(format!(
            "'StartAt' refers to a state that does not exist: '{start_at}'"
        )));
    }
    check_targets(&states, prefix)?;
    check_reachable(&states, &start_at, prefix)?;
    Ok(StateMachine {
        start_at,
        states,
        timeout_seconds,
        comment,
    })
}

/// The machine-level fields allowed at the top level or in a
/// branch/processor, and the processor mode.
fn check_machine_fields(m: &Map<String, Value>, top: bool) -> Result<(), String> {
    let mut allowed = vec!["StartAt", "States", "Comment", "Version", "QueryLanguage"];
    if top {
        allowed.push("TimeoutSeconds");
    } else {
        allowed.push("ProcessorConfig");
    }
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("unsupported field '{k}'"));
        }
    }
    check_query_language(m)?;
    if let Some(pc) = m.get("ProcessorConfig") {
        let mode = pc.get("Mode").and_then(Value::as_str).unwrap_or("INLINE");
        if mode != "INLINE" {
            return Err(format!(
                "ProcessorConfig Mode '{mode}' is not supported (only INLINE)"
            ));
        }
    }
    Ok(())
}

/// A state's name as shown in errors: nested states are prefixed with
/// their enclosing state and branch.
fn full_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

fn parse_states(
    states_v: &Map<String, Value>,
    prefix: &str,
) -> Result<HashMap<String, State>, DefinitionError> {
    let mut states = HashMap::new();
    for (name, sv) in states_v {
        if name.is_empty() || name.chars().count() > 80 {
            return Err(DefinitionError::at(
                name,
                "state names must be 1 to 80 characters long",
            ));
        }
        let st = state::parse_state(name, &full_name(prefix, name), sv)?;
        states.insert(name.clone(), st);
    }
    Ok(states)
}

/// Every transition target must exist.
fn check_targets(states: &HashMap<String, State>, prefix: &str) -> Result<(), DefinitionError> {
    for (name, st) in states {
        for (what, target) in targets(st) {
            if !states.contains_key(target) {
                return Err(DefinitionError::at(
                    &full_name(prefix, name),
                    format!("'{what}' refers to a state that does not exist: '{target}'"),
                ));
            }
        }
    }
    Ok(())
}

/// AWS rejects unreachable states; so do we (it is usually a typo).
fn check_reachable(
    states: &HashMap<String, State>,
    start_at: &str,
    prefix: &str,
) -> Result<(), DefinitionError> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue = VecDeque::from([start_at]);
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
    match unreachable.first() {
        Some(n) => Err(DefinitionError::at(
            &full_name(prefix, n),
            "state is not reachable from StartAt",
        )),
        None => Ok(()),
    }
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
