//! Restarting executions from the store after the host restarted.

use super::context::Ctx;
use super::run::run_execution;
use super::{Engine, Exec, ExecRecord, MachineEntry, TokenSlot, lock};
use crate::definition::{self, StateMachine};
use crate::error::EngineError;
use crate::store::{ExecutionStatus, StoredExecution};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

impl Engine {
    /// Restarts the RUNNING executions of the store by re-entering their
    /// current top-level state (so a Task in it may run again: at-least-once
    /// semantics, as in AWS; a Map or Parallel state restarts as a whole).
    /// A `.waitForTaskToken` task keeps its token, so callbacks sent after
    /// the restart still work. Executions already known are skipped.
    /// Returns the number of executions restarted.
    ///
    /// Finished executions become queryable again too, but are loaded on a
    /// blocking thread after this returns, so that a store holding many
    /// does not delay the restart; a call that needs them before that
    /// (an unknown ARN, a list, a new execution, expiry) waits for them.
    pub fn resume(&self) -> Result<usize, EngineError> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|e| EngineError::NoRuntime(e.to_string()))?;
        let mut pending = lock(&self.inner.finished_pending);
        let stored = self.inner.store.load_running()?;
        let mut restarted = 0;
        // Each definition is parsed once, however many executions run it.
        let mut parsed = HashMap::new();
        for s in stored {
            // One execution that cannot be restored (e.g. its definition no
            // longer parses) must not keep the others from resuming.
            let exec = match self.restore(&s, &mut parsed) {
                Ok(Some(exec)) => exec,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(execution = %s.record.execution_arn, error = %e, "cannot resume execution; skipped");
                    continue;
                }
            };
            let ctx = Ctx {
                inner: self.inner.clone(),
                exec: exec.clone(),
            };
            let handle = rt.spawn(run_execution(ctx, s.record.checkpoint.clone()));
            *lock(&exec.abort) = Some(handle.abort_handle());
            restarted += 1;
        }
        *pending = true;
        drop(pending);
        let engine = self.clone();
        rt.spawn_blocking(move || engine.load_finished());
        Ok(restarted)
    }

    /// Registers the finished executions of the store, if [`Engine::resume`]
    /// left them there (waits while another thread does it).
    pub(super) fn load_finished(&self) {
        let mut pending = lock(&self.inner.finished_pending);
        if !*pending {
            return;
        }
        let stored = match self.inner.store.load_finished() {
            Ok(s) => s,
            Err(e) => {
                // Not retried by every later lookup: one error, logged.
                tracing::error!(error = %e, "cannot load finished executions");
                *pending = false;
                return;
            }
        };
        let now = self.inner.clock.now();
        let mut parsed = HashMap::new();
        for s in stored {
            if self.is_expired(s.record.stop_date, now) {
                self.forget_expired(&s.record.execution_arn);
            } else if let Err(e) = self.restore(&s, &mut parsed) {
                tracing::error!(execution = %s.record.execution_arn, error = %e, "cannot load a finished execution; skipped");
            }
        }
        *pending = false;
    }

    /// Registers one saved execution (and its state machine if unknown).
    /// Returns it when it is RUNNING and must be restarted.
    fn restore(
        &self,
        stored: &StoredExecution,
        parsed: &mut HashMap<String, Arc<StateMachine>>,
    ) -> Result<Option<Arc<Exec>>, EngineError> {
        let s = &stored.record;
        let machine = match parsed.get(&s.definition_id) {
            Some(m) => m.clone(),
            None => {
                let m = Arc::new(definition::parse(&stored.definition)?);
                parsed.insert(s.definition_id.clone(), m.clone());
                m
            }
        };
        let mut reg = lock(&self.inner.reg);
        if reg.executions.contains_key(&s.execution_arn) {
            return Ok(None);
        }
        reg.machines
            .entry(s.state_machine_arn.clone())
            .or_insert_with(|| {
                Arc::new(MachineEntry {
                    arn: s.state_machine_arn.clone(),
                    name: s.state_machine_name.clone(),
                    definition: stored.definition.to_string(),
                    definition_id: s.definition_id.clone(),
                    machine: machine.clone(),
                    created: s.start_date,
                })
            });
        let running = s.status == ExecutionStatus::Running;
        let exec = Arc::new(Exec {
            arn: s.execution_arn.clone(),
            name: s.name.clone(),
            sm_arn: s.state_machine_arn.clone(),
            sm_name: s.state_machine_name.clone(),
            definition_id: s.definition_id.clone(),
            machine,
            input: s.input.clone(),
            start: s.start_date,
            rec: Mutex::new(ExecRecord {
                status: s.status,
                output: s.output.clone(),
                error: s.error.clone(),
                cause: s.cause.clone(),
                stop: s.stop_date,
                events: s.history_len,
                stored_events: s.history_len,
                tail: Vec::new(),
                checkpoint: s.checkpoint.clone(),
                tokens: if running {
                    s.task_tokens.clone()
                } else {
                    Vec::new()
                },
                store_error: None,
            }),
            done: watch::channel(!running).0,
            abort: Mutex::new(None),
            store_writes: Mutex::new(()),
        });
        reg.executions.insert(s.execution_arn.clone(), exec.clone());
        if !running {
            return Ok(None);
        }
        // Accept callbacks for the checkpointed token right away.
        if let Some(tok) = s.checkpoint.as_ref().and_then(|c| c.task_token.clone()) {
            let (tx, rx) = mpsc::unbounded_channel();
            reg.done_tokens.remove(&tok);
            reg.tokens.insert(
                tok,
                TokenSlot {
                    tx,
                    pending_rx: Some(rx),
                    completed: false,
                },
            );
        }
        Ok(Some(exec))
    }

    fn forget_expired(&self, arn: &str) {
        match self.inner.store.remove(arn) {
            Ok(()) => tracing::info!(execution = %arn, "expired execution deleted"),
            Err(e) => {
                tracing::warn!(execution = %arn, error = %e, "cannot delete an expired execution")
            }
        }
    }
}
