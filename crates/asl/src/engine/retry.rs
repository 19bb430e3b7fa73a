//! Retry and Catch around the states that do work (Task, Parallel, Map).

use super::context::Ctx;
use super::io::{error_matches, result_path};
use super::map::run_map;
use super::parallel::run_parallel;
use super::run::{Outcome, exited, transition};
use super::task::{Attempt, run_task};
use crate::definition::{State, StateKind};
use crate::error::{StateError, names};
use crate::store::Checkpoint;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// Runs a Task/Parallel/Map state applying its Retry and Catch rules.
pub(super) async fn run_with_retry(
    ctx: &Ctx,
    state: &State,
    raw: Value,
    entered: DateTime<Utc>,
    top: bool,
    resume: Option<Checkpoint>,
) -> Result<Outcome, StateError> {
    let mut counts = resume
        .as_ref()
        .map(|c| c.retry_counts.clone())
        .filter(|c| c.len() == state.retry.len())
        .unwrap_or_else(|| vec![0; state.retry.len()]);
    // Only a Task state's checkpoint carries a token.
    let mut resume_token = resume
        .as_ref()
        .and_then(|c| c.task_token.clone().map(|t| (t, c.token_submitted)));
    loop {
        let at = Attempt {
            raw: &raw,
            entered: &entered,
            retry_count: counts.iter().sum(),
            counts: &counts,
            top,
        };
        let attempt = match &state.kind {
            StateKind::Task { .. } => run_task(ctx, state, &at, resume_token.take()).await,
            StateKind::Parallel { .. } => {
                run_parallel(ctx, state, &raw, &entered, at.retry_count).await
            }
            _ => run_map(ctx, state, &raw, &entered, at.retry_count).await,
        };
        let err = match attempt {
            Ok(out) => {
                exited(ctx, state, &out);
                return Ok(transition(state, out));
            }
            Err(e) => e,
        };
        if err.error == names::RUNTIME {
            return Err(err);
        }
        if let Some(delay) = next_retry(state, &err, &mut counts) {
            if top {
                ctx.checkpoint(
                    Checkpoint {
                        state_name: state.name.clone(),
                        input: raw.clone(),
                        retry_counts: counts.clone(),
                        task_token: None,
                        token_submitted: false,
                        wait_until: None,
                    },
                    true,
                );
            }
            ctx.sleep(delay).await;
            continue;
        }
        if let Some(c) = state
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &err.error))
        {
            let out = result_path(&c.result_path, raw, err.to_json())?;
            exited(ctx, state, &out);
            return Ok(Outcome::Next(c.next.clone(), out));
        }
        return Err(err);
    }
}

/// The delay before the next retry, counting it in `counts`; `None` when no
/// retrier applies or the matching one is exhausted. The first retrier whose
/// ErrorEquals matches decides; if it is exhausted we go on to Catch (later
/// retriers are not consulted).
fn next_retry(state: &State, err: &StateError, counts: &mut [u32]) -> Option<Duration> {
    let i = state
        .retry
        .iter()
        .position(|r| error_matches(&r.error_equals, &err.error))?;
    let r = &state.retry[i];
    if counts[i] >= r.max_attempts {
        return None;
    }
    let mut delay = r.delay_seconds(counts[i]);
    if r.full_jitter {
        use rand::RngExt;
        delay = rand::rng().random_range(0.0..=delay);
    }
    counts[i] += 1;
    Some(Duration::from_secs_f64(delay.max(0.0)))
}
