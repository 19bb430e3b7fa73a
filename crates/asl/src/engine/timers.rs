//! Everything that waits on the clock: Wait states, task timeouts and
//! heartbeats.

use super::TokenMsg;
use super::context::Ctx;
use super::io::resolve_seconds;
use crate::choice;
use crate::definition::{Dynamic, WaitSpec};
use crate::error::{StateError, names};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a Wait state waits from now.
pub(super) fn wait_duration(
    ctx: &Ctx,
    spec: &WaitSpec,
    eff: &Value,
    sctx: &Value,
) -> Result<Duration, StateError> {
    Ok(match spec {
        WaitSpec::Seconds(s) => Duration::from_secs(*s),
        WaitSpec::SecondsPath(p) => Duration::from_secs(resolve_seconds(
            &Dynamic::Path(p.clone()),
            eff,
            sctx,
            "SecondsPath",
        )?),
        WaitSpec::Timestamp(t) => until(ctx, t.with_timezone(&Utc)),
        WaitSpec::TimestampPath(p) => {
            let v = p.select(eff, sctx).ok_or_else(|| {
                StateError::runtime(format!("TimestampPath '{}' selects nothing", p.as_str()))
            })?;
            let t = v
                .as_str()
                .and_then(choice::parse_timestamp)
                .ok_or_else(|| {
                    StateError::runtime(format!(
                        "TimestampPath '{}' must select an RFC 3339 timestamp, got {v}",
                        p.as_str()
                    ))
                })?;
            until(ctx, t.with_timezone(&Utc))
        }
    })
}

pub(super) fn until(ctx: &Ctx, t: DateTime<Utc>) -> Duration {
    (t - ctx.now()).to_std().unwrap_or(Duration::ZERO)
}

/// Runs `work`, failing with `States.Timeout` after `timeout` seconds.
pub(super) async fn with_timeout<F>(
    ctx: &Ctx,
    timeout: Option<u64>,
    work: F,
) -> Result<Value, StateError>
where
    F: Future<Output = Result<Value, StateError>>,
{
    match timeout {
        Some(t) => tokio::select! {
            r = work => r,
            _ = ctx.sleep(Duration::from_secs(t)) => Err(StateError::new(
                names::TIMEOUT,
                format!("The task did not complete within {t} seconds"),
            )),
        },
        None => work.await,
    }
}

/// Waits for a task token's success or failure; each heartbeat restarts the
/// `heartbeat` timer.
pub(super) async fn wait_for_callback(
    ctx: &Ctx,
    rx: &mut mpsc::UnboundedReceiver<TokenMsg>,
    heartbeat: Option<u64>,
) -> Result<Value, StateError> {
    loop {
        let msg = match heartbeat {
            Some(h) => tokio::select! {
                m = rx.recv() => m,
                _ = ctx.sleep(Duration::from_secs(h)) => {
                    return Err(StateError::new(
                        names::HEARTBEAT_TIMEOUT,
                        format!("No heartbeat received within {h} seconds"),
                    ));
                }
            },
            None => rx.recv().await,
        };
        match msg {
            Some(TokenMsg::Success(v)) => return Ok(v),
            Some(TokenMsg::Failure(e, c)) => return Err(StateError::new(e, c)),
            Some(TokenMsg::Heartbeat) => continue,
            None => return Err(StateError::runtime("task token channel closed")),
        }
    }
}
