//! Map states (inline): one iteration of the item processor per item.

use super::context::Ctx;
use super::io::{finish_result, input_path, resolve_seconds};
use super::run::run_machine;
use crate::definition::{State, StateKind, StateMachine};
use crate::error::StateError;
use crate::history::EventType;
use crate::path::Path;
use crate::template::Template;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub(super) async fn run_map(
    ctx: &Ctx,
    state: &State,
    raw: &Value,
    entered: &DateTime<Utc>,
    retry_count: u32,
) -> Result<Value, StateError> {
    let StateKind::Map {
        processor,
        items_path,
        item_selector,
        max_concurrency,
    } = &state.kind
    else {
        return Err(StateError::runtime("not a Map state"));
    };
    let sctx = ctx.context_object(state, entered, retry_count, None);
    let eff = input_path(&state.input_path, raw, &sctx)?;
    let items = select_items(items_path, &eff, &sctx)?;
    let max = match max_concurrency {
        Some(d) => resolve_seconds(d, &eff, &sctx, "MaxConcurrencyPath")?,
        None => 0,
    };
    // Build every iteration's input first, so a bad ItemSelector fails the
    // state before anything runs.
    let inputs = iteration_inputs(&items, item_selector.as_ref(), &eff, &sctx)?;
    ctx.event(
        EventType::MapStateStarted,
        json!({"name": state.name, "length": inputs.len()}),
    );
    let results = run_iterations(ctx, state, processor, inputs, max).await?;
    ctx.event(EventType::MapStateSucceeded, json!({"name": state.name}));
    finish_result(state, raw.clone(), Value::Array(results), &sctx)
}

fn select_items(items_path: &Path, eff: &Value, sctx: &Value) -> Result<Vec<Value>, StateError> {
    match items_path.select(eff, sctx) {
        Some(Value::Array(a)) => Ok(a),
        other => Err(StateError::runtime(format!(
            "ItemsPath '{}' must select an array, got {}",
            items_path.as_str(),
            other.map_or("nothing".to_string(), |v| v.to_string())
        ))),
    }
}

fn iteration_inputs(
    items: &[Value],
    item_selector: Option<&Template>,
    eff: &Value,
    sctx: &Value,
) -> Result<Vec<Value>, StateError> {
    let mut inputs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        inputs.push(match item_selector {
            Some(t) => {
                let mut c = sctx.clone();
                if let Value::Object(m) = &mut c {
                    m.insert("Map".into(), json!({"Item": {"Index": i, "Value": item}}));
                }
                t.evaluate(eff, &c)?
            }
            None => item.clone(),
        });
    }
    Ok(inputs)
}

/// Runs the iterations, at most `max` at a time (0 = no limit), and
/// returns their outputs in item order; the first failure fails the state.
async fn run_iterations(
    ctx: &Ctx,
    state: &State,
    processor: &Arc<StateMachine>,
    inputs: Vec<Value>,
    max: u64,
) -> Result<Vec<Value>, StateError> {
    let permits = if max == 0 {
        inputs.len().max(1)
    } else {
        usize::try_from(max)
            .unwrap_or(usize::MAX)
            .min(inputs.len().max(1))
    };
    let sem = Arc::new(Semaphore::new(permits));
    let mut set = JoinSet::new();
    let n = inputs.len();
    for (i, input) in inputs.into_iter().enumerate() {
        let c = ctx.clone();
        let p = processor.clone();
        let sem = sem.clone();
        let name = state.name.clone();
        set.spawn(async move {
            // The semaphore is never closed, so acquire cannot fail.
            let _permit = sem.acquire_owned().await.ok();
            c.event(
                EventType::MapIterationStarted,
                json!({"name": name, "index": i}),
            );
            let r = run_machine(c.clone(), p, input, false, None).await;
            match &r {
                Ok(_) => c.event(
                    EventType::MapIterationSucceeded,
                    json!({"name": name, "index": i}),
                ),
                Err(e) => c.event(
                    EventType::MapIterationFailed,
                    json!({"name": name, "index": i, "error": e.error, "cause": e.cause}),
                ),
            }
            (i, r)
        });
    }
    let mut results = vec![Value::Null; n];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, Ok(v))) => results[i] = v,
            Ok((_, Err(e))) => {
                ctx.event(
                    EventType::MapStateFailed,
                    json!({"name": state.name, "error": e.error, "cause": e.cause}),
                );
                return Err(e);
            }
            Err(j) => return Err(StateError::runtime(format!("iteration crashed: {j}"))),
        }
    }
    Ok(results)
}
