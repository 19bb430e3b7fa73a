//! Task states: calling the host's handler, and `.waitForTaskToken`
//! callbacks.

use super::callbacks::{TokenGuard, register_token};
use super::context::Ctx;
use super::io::{finish_result, input_path, resolve_seconds};
use super::timers::{wait_for_callback, with_timeout};
use crate::definition::{State, StateKind};
use crate::error::{StateError, names};
use crate::history::EventType;
use crate::store::Checkpoint;
use crate::task::{TaskCall, TaskError};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// One attempt of a Task state (the first run or a retry).
pub(super) struct Attempt<'a> {
    /// The state's raw input.
    pub(super) raw: &'a Value,
    /// When the state was entered.
    pub(super) entered: &'a DateTime<Utc>,
    /// Retries so far, all retriers together (`$$.State.RetryCount`).
    pub(super) retry_count: u32,
    /// Retries so far per retrier, for checkpoints.
    pub(super) counts: &'a [u32],
    /// Whether the state is a top-level one (only those are checkpointed).
    pub(super) top: bool,
}

pub(super) async fn run_task(
    ctx: &Ctx,
    state: &State,
    at: &Attempt<'_>,
    resume_token: Option<(String, bool)>,
) -> Result<Value, StateError> {
    let StateKind::Task {
        resource,
        timeout,
        heartbeat,
    } = &state.kind
    else {
        return Err(StateError::runtime("not a Task state"));
    };
    let is_token = resource.ends_with(".waitForTaskToken");
    let (token, already_submitted) = match (is_token, resume_token) {
        (false, _) => (None, false),
        (true, Some((t, s))) => (Some(t), s),
        (true, None) => (Some(uuid::Uuid::new_v4().to_string()), false),
    };
    let sctx = ctx.context_object(state, at.entered, at.retry_count, token.as_deref());
    let eff = input_path(&state.input_path, at.raw, &sctx)?;
    let params = match &state.parameters {
        Some(t) => t.evaluate(&eff, &sctx)?,
        None => eff.as_ref().clone(),
    };
    let timeout = timeout
        .as_ref()
        .map(|d| resolve_seconds(d, &eff, &sctx, "TimeoutSecondsPath"))
        .transpose()?;
    let heartbeat = heartbeat
        .as_ref()
        .map(|d| resolve_seconds(d, &eff, &sctx, "HeartbeatSecondsPath"))
        .transpose()?;
    ctx.event(
        EventType::TaskScheduled,
        json!({
            "name": state.name,
            "resource": resource,
            "parameters": params,
            "timeoutInSeconds": timeout,
            "heartbeatInSeconds": heartbeat,
        }),
    );
    ctx.event(
        EventType::TaskStarted,
        json!({"name": state.name, "resource": resource}),
    );
    let call = TaskCall {
        resource: resource.clone(),
        input: params,
        task_token: token.clone(),
        execution_arn: ctx.exec.arn.clone(),
        state_name: state.name.clone(),
        retry_count: at.retry_count,
    };
    let work = async {
        match token {
            None => ctx.inner.handler.invoke(call).await.map_err(task_error),
            Some(tok) => token_task(ctx, state, at, call, tok, already_submitted, heartbeat).await,
        }
    };
    let res = with_timeout(ctx, timeout, work).await;
    record_result(ctx, state, resource, &res);
    finish_result(state, at.raw.clone(), res?, &sctx)
}

/// A `.waitForTaskToken` task: hands the token to the handler (unless that
/// already happened before a restart) and waits for the callback.
async fn token_task(
    ctx: &Ctx,
    state: &State,
    at: &Attempt<'_>,
    call: TaskCall,
    tok: String,
    already_submitted: bool,
    heartbeat: Option<u64>,
) -> Result<Value, StateError> {
    let mut rx = register_token(ctx, &tok);
    let _guard = TokenGuard {
        ctx: ctx.clone(),
        token: tok.clone(),
    };
    let cp = |submitted: bool| {
        if at.top {
            ctx.checkpoint(
                Checkpoint {
                    state_name: state.name.clone(),
                    input: at.raw.clone(),
                    retry_counts: at.counts.to_vec(),
                    task_token: Some(tok.clone()),
                    token_submitted: submitted,
                    wait_until: None,
                },
                true,
            );
        }
    };
    if !already_submitted {
        cp(false);
        let resource = call.resource.clone();
        let ack = ctx.inner.handler.invoke(call).await.map_err(task_error)?;
        ctx.event(
            EventType::TaskSubmitted,
            json!({"name": state.name, "resource": resource, "output": ack}),
        );
        cp(true);
    }
    wait_for_callback(ctx, &mut rx, heartbeat).await
}

fn record_result(ctx: &Ctx, state: &State, resource: &str, res: &Result<Value, StateError>) {
    match res {
        Ok(v) => ctx.event(
            EventType::TaskSucceeded,
            json!({"name": state.name, "resource": resource, "output": v}),
        ),
        Err(e) if e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT => ctx.event(
            EventType::TaskTimedOut,
            json!({"name": state.name, "resource": resource, "error": e.error, "cause": e.cause}),
        ),
        Err(e) => ctx.event(
            EventType::TaskFailed,
            json!({"name": state.name, "resource": resource, "error": e.error, "cause": e.cause}),
        ),
    }
}

fn task_error(e: TaskError) -> StateError {
    let error = if e.error.is_empty() {
        names::TASK_FAILED.to_string()
    } else {
        e.error
    };
    StateError::new(error, e.cause)
}
