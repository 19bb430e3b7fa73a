//! Parallel states: every branch runs concurrently on the same input.

use super::context::Ctx;
use super::io::{finish_result, input_path};
use super::run::run_machine;
use crate::definition::{State, StateKind};
use crate::error::StateError;
use crate::history::EventType;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::task::JoinSet;

pub(super) async fn run_parallel(
    ctx: &Ctx,
    state: &State,
    raw: &Value,
    entered: &DateTime<Utc>,
    retry_count: u32,
) -> Result<Value, StateError> {
    let StateKind::Parallel { branches } = &state.kind else {
        return Err(StateError::runtime("not a Parallel state"));
    };
    let sctx = ctx.context_object(state, entered, retry_count, None);
    let eff = input_path(&state.input_path, raw, &sctx)?;
    let params = match &state.parameters {
        Some(t) => t.evaluate(&eff, &sctx)?,
        None => eff.into_owned(),
    };
    ctx.event(EventType::ParallelStateStarted, json!({"name": state.name}));
    let mut set = JoinSet::new();
    for (i, b) in branches.iter().enumerate() {
        let fut = run_machine(ctx.clone(), b.clone(), params.clone(), false, None);
        set.spawn(async move { (i, fut.await) });
    }
    let mut results = vec![Value::Null; branches.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, Ok(v))) => results[i] = v,
            Ok((_, Err(e))) => {
                // Dropping the JoinSet aborts the other branches.
                ctx.event(
                    EventType::ParallelStateFailed,
                    json!({"name": state.name, "error": e.error, "cause": e.cause}),
                );
                return Err(e);
            }
            Err(j) => return Err(StateError::runtime(format!("branch crashed: {j}"))),
        }
    }
    ctx.event(
        EventType::ParallelStateSucceeded,
        json!({"name": state.name}),
    );
    finish_result(state, raw.clone(), Value::Array(results), &sctx)
}
