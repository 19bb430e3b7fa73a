//! The run loop of an execution (and of Parallel branches and Map
//! iterations) and the states that do no work of their own: Pass, Choice,
//! Wait, Succeed and Fail.

use super::context::Ctx;
use super::io::{input_owned, input_path, output_path, result_path};
use super::retry::run_with_retry;
use super::timers::{until, wait_duration};
use crate::choice;
use crate::clock::BoxFuture;
use crate::definition::{
    ResultPath, State, StateKind, StateMachine, StrSource, Transition, WaitSpec,
};
use crate::error::{StateError, names};
use crate::history::{EventType, StateIo};
use crate::store::{Checkpoint, ExecutionStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

pub(super) async fn run_execution(ctx: Ctx, resume: Option<Checkpoint>) {
    let machine = ctx.exec.machine.clone();
    let input = ctx.exec.input.clone();
    let run = run_machine(ctx.clone(), machine.clone(), input, true, resume);
    let result = match machine.timeout_seconds {
        Some(t) => {
            // Measured from the execution start, also across a resume.
            let elapsed = (ctx.now() - ctx.exec.start).to_std().unwrap_or_default();
            let remaining = Duration::from_secs(t).saturating_sub(elapsed);
            tokio::select! {
                r = run => Some(r),
                _ = ctx.sleep(remaining) => None,
            }
        }
        None => Some(run.await),
    };
    match result {
        Some(Ok(out)) => ctx.finish(ExecutionStatus::Succeeded, Some(out), None, None),
        Some(Err(e)) => ctx.finish(ExecutionStatus::Failed, None, Some(e.error), Some(e.cause)),
        None => ctx.finish(
            ExecutionStatus::TimedOut,
            None,
            Some(names::TIMEOUT.to_string()),
            Some("The execution exceeded the state machine's TimeoutSeconds".to_string()),
        ),
    };
}

pub(super) enum Outcome {
    Next(String, Value),
    End(Value),
}

/// Runs a (sub-)machine from its start (or a checkpoint) to the end.
pub(super) fn run_machine(
    ctx: Ctx,
    machine: Arc<StateMachine>,
    input: Value,
    top: bool,
    resume: Option<Checkpoint>,
) -> BoxFuture<'static, Result<Value, StateError>> {
    Box::pin(async move {
        let (mut current, mut input, mut resume) = match resume {
            Some(cp) => (cp.state_name.clone(), cp.input.clone(), Some(cp)),
            None => (machine.start_at.clone(), input, None),
        };
        // Whether the previous state had effects or waited: the first state
        // after it gets a durable checkpoint, so that a resume does not go
        // back into a finished task (whose callback would never come again).
        let mut after_effects = false;
        loop {
            // Pass and Choice states never wait: without this a long loop
            // of them would hold its worker thread until it ends.
            tokio::task::consume_budget().await;
            let Some(state) = machine.states.get(&current) else {
                return Err(StateError::runtime(format!("unknown state '{current}'")));
            };
            let r = resume.take();
            let effects = has_effects(state);
            // A Wait makes its own durable checkpoint once it knows its
            // deadline; Pass/Choice between effects need none (see `persist`).
            let durable = after_effects || (effects && !matches!(state.kind, StateKind::Wait(_)));
            if top && r.is_none() && durable {
                let cp = Checkpoint {
                    state_name: current.clone(),
                    input: input.clone(),
                    retry_counts: vec![0; state.retry.len()],
                    task_token: None,
                    token_submitted: false,
                    wait_until: None,
                };
                ctx.checkpoint(cp, true);
            }
            after_effects = effects;
            match run_state(&ctx, state, input, top, r).await? {
                Outcome::Next(n, out) => {
                    current = n;
                    input = out;
                }
                Outcome::End(out) => return Ok(out),
            }
        }
    })
}

/// States that act outside the engine or wait: a crash must not make the
/// engine repeat or lose them, so checkpoints surround them.
fn has_effects(state: &State) -> bool {
    matches!(
        state.kind,
        StateKind::Task { .. }
            | StateKind::Parallel { .. }
            | StateKind::Map { .. }
            | StateKind::Wait(_)
    )
}

pub(super) fn exited(ctx: &Ctx, state: &State, output: &Value) {
    if let Some(t) = EventType::exited(state.kind.type_name()) {
        let details = StateIo {
            name: &state.name,
            input: None,
            output: Some(output),
        };
        ctx.event(t, details);
    }
}

pub(super) fn transition(state: &State, output: Value) -> Outcome {
    match &state.transition {
        Some(Transition::Next(n)) => Outcome::Next(n.clone(), output),
        _ => Outcome::End(output),
    }
}

async fn run_state(
    ctx: &Ctx,
    state: &State,
    raw: Value,
    top: bool,
    resume: Option<Checkpoint>,
) -> Result<Outcome, StateError> {
    let ty = state.kind.type_name();
    let details = StateIo {
        name: &state.name,
        input: Some(&raw),
        output: None,
    };
    ctx.event(EventType::entered(ty), details);
    let entered = ctx.now();
    match &state.kind {
        StateKind::Pass { result } => pass(ctx, state, raw, &entered, result.as_ref()),
        StateKind::Choice { choices, default } => {
            choose(ctx, state, raw, &entered, choices, default.as_ref())
        }
        StateKind::Wait(spec) => {
            let deadline = resume.and_then(|c| c.wait_until);
            wait(ctx, state, raw, &entered, spec, top, deadline).await
        }
        StateKind::Succeed => {
            let sctx = ctx.context_object(state, &entered, 0, None);
            let eff = input_owned(&state.input_path, raw, &sctx)?;
            let out = output_path(&state.output_path, eff, &sctx)?;
            exited(ctx, state, &out);
            Ok(Outcome::End(out))
        }
        StateKind::Fail { error, cause } => {
            let sctx = ctx.context_object(state, &entered, 0, None);
            let error = fail_field(error.as_ref(), &raw, &sctx, "ErrorPath")?;
            let cause = fail_field(cause.as_ref(), &raw, &sctx, "CausePath")?;
            Err(StateError::new(error, cause))
        }
        StateKind::Task { .. } | StateKind::Parallel { .. } | StateKind::Map { .. } => {
            run_with_retry(ctx, state, raw, entered, top, resume).await
        }
    }
}

fn pass(
    ctx: &Ctx,
    state: &State,
    raw: Value,
    entered: &DateTime<Utc>,
    result: Option<&Value>,
) -> Result<Outcome, StateError> {
    let sctx = ctx.context_object(state, entered, 0, None);
    let plain = result.is_none()
        && state.parameters.is_none()
        && matches!(state.result_path, ResultPath::Replace);
    let out = if plain {
        // The output is the effective input: no copy.
        input_owned(&state.input_path, raw, &sctx)?
    } else {
        let eff = input_path(&state.input_path, &raw, &sctx)?;
        let eff = match &state.parameters {
            Some(t) => Cow::Owned(t.evaluate(&eff, &sctx)?),
            None => eff,
        };
        let res = match result {
            Some(r) => {
                drop(eff);
                r.clone()
            }
            None => eff.into_owned(),
        };
        result_path(&state.result_path, raw, res)?
    };
    let out = output_path(&state.output_path, out, &sctx)?;
    exited(ctx, state, &out);
    Ok(transition(state, out))
}

fn choose(
    ctx: &Ctx,
    state: &State,
    raw: Value,
    entered: &DateTime<Utc>,
    choices: &[choice::Choice],
    default: Option<&String>,
) -> Result<Outcome, StateError> {
    let sctx = ctx.context_object(state, entered, 0, None);
    let eff = input_owned(&state.input_path, raw, &sctx)?;
    let mut next = None;
    for c in choices {
        if choice::evaluate(&c.rule, &eff, &sctx)? {
            next = Some(c.next.clone());
            break;
        }
    }
    let Some(next) = next.or_else(|| default.cloned()) else {
        return Err(StateError::new(
            names::NO_CHOICE_MATCHED,
            format!(
                "No Choice Rule matched and no Default in state '{}'",
                state.name
            ),
        ));
    };
    let out = output_path(&state.output_path, eff, &sctx)?;
    exited(ctx, state, &out);
    Ok(Outcome::Next(next, out))
}

async fn wait(
    ctx: &Ctx,
    state: &State,
    raw: Value,
    entered: &DateTime<Utc>,
    spec: &WaitSpec,
    top: bool,
    resumed_deadline: Option<DateTime<Utc>>,
) -> Result<Outcome, StateError> {
    let sctx = ctx.context_object(state, entered, 0, None);
    let eff = input_path(&state.input_path, &raw, &sctx)?.into_owned();
    let dur = match resumed_deadline {
        // Resumed: only what is left of the original wait.
        Some(t) => until(ctx, t),
        None => {
            let dur = wait_duration(ctx, spec, &eff, &sctx)?;
            if top {
                let deadline = chrono::Duration::from_std(dur)
                    .ok()
                    .and_then(|d| ctx.now().checked_add_signed(d));
                let cp = Checkpoint {
                    state_name: state.name.clone(),
                    input: raw.clone(),
                    retry_counts: Vec::new(),
                    task_token: None,
                    token_submitted: false,
                    wait_until: deadline,
                };
                ctx.checkpoint(cp, true);
            }
            dur
        }
    };
    if !dur.is_zero() {
        ctx.sleep(dur).await;
    }
    let out = output_path(&state.output_path, eff, &sctx)?;
    exited(ctx, state, &out);
    Ok(transition(state, out))
}

/// A Fail state's Error or Cause: fixed, or a string read from the input.
fn fail_field(
    source: Option<&StrSource>,
    raw: &Value,
    sctx: &Value,
    what: &str,
) -> Result<String, StateError> {
    match source {
        None => Ok(String::new()),
        Some(StrSource::Fixed(s)) => Ok(s.clone()),
        Some(StrSource::Path(p)) => match p.select(raw, sctx) {
            Some(Value::String(s)) => Ok(s),
            other => Err(StateError::runtime(format!(
                "{what} '{}' must select a string, got {}",
                p.as_str(),
                other.map_or("nothing".to_string(), |v| v.to_string())
            ))),
        },
    }
}
