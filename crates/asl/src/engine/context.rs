//! The per-execution handle passed through the interpreter: history,
//! checkpoints, the final status and the context object (`$$`).

use super::{Exec, ExecRecord, Inner, lock, ts};
use crate::clock::BoxFuture;
use crate::definition::State;

use crate::history::{EventType, encode_event};
use crate::store::ExecutionStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

impl ExecRecord {
    /// Encodes the next event onto the tail.
    pub(super) fn push_event(
        &mut self,
        now: &DateTime<Utc>,
        event_type: EventType,
        details: &(impl Serialize + ?Sized),
    ) {
        match encode_event(&mut self.tail, self.events + 1, now, event_type, details) {
            Ok(()) => self.events += 1,
            // Only a map with non-string keys could fail, which a JSON
            // value cannot hold.
            Err(e) => tracing::error!(error = %e, "history event not encodable; skipped"),
        }
    }
}

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
    /// e.g. a branch still unwinding after `stop_execution`). The event is
    /// encoded right away; the encoded events not yet in the store are
    /// handed to it at the next checkpoint, or as soon as they exceed
    /// [`super::persist::SPILL_BYTES`].
    pub(super) fn event(&self, event_type: EventType, details: impl Serialize) {
        let now = self.now();
        let spill = {
            let mut r = lock(&self.exec.rec);
            if r.status != ExecutionStatus::Running {
                return;
            }
            r.push_event(&now, event_type, &details);
            r.tail.len() > super::persist::SPILL_BYTES
        };
        if spill {
            self.spill();
        }
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
                    json!({"output": output.as_ref().unwrap_or(&Value::Null)}),
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
            r.push_event(&now, ty, &details);
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
