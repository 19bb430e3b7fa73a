//! The per-execution handle passed through the interpreter: history,
//! checkpoints, the final status and the context object (`$$`).

use super::{Exec, Inner, lock, ts};
use crate::clock::BoxFuture;
use crate::definition::State;

use crate::history::{EventType, HistoryEvent};
use crate::store::ExecutionStatus;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Per-execution handle passed through the interpreter.
#[derive(Clone)]
pub(super) struct Ctx {
    pub(super) inner: Arc<Inner>,
    pub(super) exec: Arc<Exec>,
}

impl Ctx {
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(super) fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.inner.clock.sleep(d)
    }

    /// Appends a history event (ignored once the execution has finished,
    /// e.g. a branch still unwinding after `stop_execution`).
    pub(super) fn event(&self, event_type: EventType, details: Value) {
        let now = self.now();
        let mut r = lock(&self.exec.rec);
        if r.status != ExecutionStatus::Running {
            return;
        }
        let id = r.history.len() as u64 + 1;
        r.history.push(HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp: now,
            event_type,
            details,
        });
    }

    /// Moves the execution to a final status; false if it already was final.
    pub(super) fn finish(
        &self,
        status: ExecutionStatus,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
    ) -> bool {
        let now = self.now();
        let tokens = {
            let mut r = lock(&self.exec.rec);
            if r.status != ExecutionStatus::Running {
                return false;
            }
            r.status = status;
            r.stop = Some(now);
            r.checkpoint = None;
            let (ty, details) = match status {
                ExecutionStatus::Succeeded => (
                    EventType::ExecutionSucceeded,
                    json!({"output": output.clone().unwrap_or(Value::Null)}),
                ),
                ExecutionStatus::TimedOut => (
                    EventType::ExecutionTimedOut,
                    json!({"error": error, "cause": cause}),
                ),
                ExecutionStatus::Aborted => (
                    EventType::ExecutionAborted,
                    json!({"error": error, "cause": cause}),
                ),
                _ => (
                    EventType::ExecutionFailed,
                    json!({"error": error, "cause": cause}),
                ),
            };
            r.output = output;
            r.error = error;
            r.cause = cause;
            let id = r.history.len() as u64 + 1;
            r.history.push(HistoryEvent {
                id,
                previous_event_id: id - 1,
                timestamp: now,
                event_type: ty,
                details,
            });
            std::mem::take(&mut r.tokens)
        };
        {
            let mut reg = lock(&self.inner.reg);
            for t in tokens {
                reg.tokens.remove(&t);
                reg.done_tokens.insert(t);
            }
        }
        self.persist();
        self.exec.done.send_replace(true);
        true
    }

    /// The context object (`$$`) for a state, or `null` for a state that
    /// never reads it: building it copies the execution input, which for a
    /// large input would dominate the cost of a Pass or Choice state.
    pub(super) fn context_object(
        &self,
        state: &State,
        entered: &DateTime<Utc>,
        retry_count: u32,
        token: Option<&str>,
    ) -> Value {
        if !state.uses_context {
            return Value::Null;
        }
        let e = &self.exec;
        let mut c = json!({
            "Execution": {
                "Id": e.arn,
                "Name": e.name,
                "Input": e.input,
                "StartTime": ts(&e.start),
                "RoleArn": format!("arn:aws:iam::{}:role/asl-local", self.inner.account),
            },
            "State": {
                "EnteredTime": ts(entered),
                "Name": state.name,
                "RetryCount": retry_count,
            },
            "StateMachine": {"Id": e.sm_arn, "Name": e.sm_name},
        });
        if let (Some(t), Value::Object(m)) = (token, &mut c) {
            m.insert("Task".into(), json!({"Token": t}));
        }
        c
    }
}
