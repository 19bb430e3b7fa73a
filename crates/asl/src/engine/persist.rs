//! Writing executions to the store, and expiring finished ones.
//!
//! The store is written at *durable points* only: when an execution starts,
//! when it enters a state that has effects outside the engine (Task,
//! Parallel, Map) and the state after one of these or a Wait, when a Wait
//! knows its deadline, when a retry or a task token is recorded, and when
//! it finishes. Each write appends the history events not stored
//! yet and replaces the small execution record, so its cost does not grow
//! with the history. Pass, Choice, Succeed and Fail only change memory: a
//! crash re-runs them from the last durable point, which gives the same
//! result (they have no effects), so fsyncing them would buy nothing.

use super::context::Ctx;
use super::{Engine, lock};
use crate::error::StoreError;
use crate::store::{Checkpoint, ExecutionRecord, ExecutionStatus};
use chrono::{DateTime, Utc};

/// How many bytes of encoded history events an execution keeps in memory
/// before handing them to the store between checkpoints (a long loop of
/// Pass and Choice states would otherwise hold its whole history).
pub(super) const SPILL_BYTES: usize = 1 << 20;

impl Ctx {
    /// Appends the new history events and writes the record.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        let e = &self.exec;
        let _order = lock(&e.store_writes);
        let (record, first_id, tail) = {
            let mut r = lock(&e.rec);
            let record = ExecutionRecord {
                execution_arn: e.arn.clone(),
                name: e.name.clone(),
                state_machine_arn: e.sm_arn.clone(),
                state_machine_name: e.sm_name.clone(),
                definition_id: e.definition_id.clone(),
                status: r.status,
                input: e.input.clone(),
                output: r.output.clone(),
                error: r.error.clone(),
                cause: r.cause.clone(),
                start_date: e.start,
                stop_date: r.stop,
                checkpoint: r.checkpoint.clone(),
                task_tokens: r.tokens.clone(),
                history_len: r.events,
            };
            (record, r.stored_events + 1, std::mem::take(&mut r.tail))
        };
        self.append_tail(first_id, tail, record.history_len)?;
        self.inner.store.save_record(&record)
    }

    /// Hands the encoded events to the store without a record (they count
    /// once a later record does). Failures are left to the next flush.
    pub(super) fn spill(&self) {
        let e = &self.exec;
        let _order = lock(&e.store_writes);
        let (first_id, tail, events) = {
            let mut r = lock(&e.rec);
            (r.stored_events + 1, std::mem::take(&mut r.tail), r.events)
        };
        if let Err(err) = self.append_tail(first_id, tail, events) {
            tracing::debug!(execution = %e.arn, error = %err, "history spill failed; kept in memory");
        }
    }

    /// Appends `tail` (events `first_id..=last_id`, taken from the record
    /// by the caller, who holds `store_writes`); on failure puts it back in
    /// front of what was added since.
    fn append_tail(&self, first_id: u64, tail: Vec<u8>, last_id: u64) -> Result<(), StoreError> {
        let e = &self.exec;
        if tail.is_empty() {
            return Ok(());
        }
        match self.inner.store.append_history(&e.arn, first_id, &tail) {
            Ok(()) => {
                lock(&e.rec).stored_events = last_id;
                Ok(())
            }
            Err(err) => {
                let mut r = lock(&e.rec);
                let mut tail = tail;
                tail.extend_from_slice(&r.tail);
                r.tail = tail;
                Err(err)
            }
        }
    }

    /// Flushes a running (or just finished) execution. There is no caller
    /// to hand a failure to, so the execution carries on in memory
    /// (stopping it would turn a disk problem into a failed order); the
    /// failure is logged once per failing stretch and shown in
    /// `checkpoint_error` until a later write succeeds.
    pub(super) fn persist(&self) {
        let result = self.flush();
        let mut r = lock(&self.exec.rec);
        match (result, r.store_error.is_some()) {
            (Ok(()), false) => {}
            (Ok(()), true) => {
                r.store_error = None;
                tracing::info!(execution = %self.exec.arn, "checkpoint writes recovered");
            }
            (Err(e), was_failing) => {
                if !was_failing {
                    tracing::error!(
                        execution = %self.exec.arn,
                        error = %e,
                        "checkpoint write failed; the execution continues in memory"
                    );
                }
                r.store_error = Some(e.to_string());
            }
        }
    }

    /// Records where the execution is; `durable` also writes it to the
    /// store (see the module docs for when that is needed).
    pub(super) fn checkpoint(&self, cp: Checkpoint, durable: bool) {
        {
            let mut r = lock(&self.exec.rec);
            if r.status != ExecutionStatus::Running {
                return;
            }
            r.checkpoint = Some(cp);
        }
        if durable {
            self.persist();
        }
    }
}

impl Engine {
    /// Runs [`Engine::expire_finished`] if the last run was at least an
    /// hour ago (or a retention period, if shorter), so that starting
    /// executions stays cheap.
    pub(super) fn expire_if_due(&self) {
        let now = self.inner.clock.now();
        let every = chrono::Duration::from_std(self.inner.retention)
            .unwrap_or(chrono::Duration::MAX)
            .min(chrono::Duration::hours(1));
        {
            let mut last = lock(&self.inner.last_expiry);
            if last.is_some_and(|t| now - t < every) {
                return;
            }
            *last = Some(now);
        }
        self.expire_finished();
    }

    /// Forgets (and deletes from the store) the executions that finished
    /// more than the retention period ago. Returns how many.
    pub fn expire_finished(&self) -> usize {
        self.load_finished();
        let now = self.inner.clock.now();
        let expired: Vec<String> = {
            let mut reg = lock(&self.inner.reg);
            let arns: Vec<String> = reg
                .executions
                .values()
                .filter(|e| self.is_expired(lock(&e.rec).stop, now))
                .map(|e| e.arn.clone())
                .collect();
            for a in &arns {
                reg.executions.remove(a);
            }
            arns
        };
        for arn in &expired {
            if let Err(e) = self.inner.store.remove(arn) {
                tracing::warn!(execution = %arn, error = %e, "cannot delete an expired execution");
            }
        }
        expired.len()
    }

    /// Whether an execution that stopped at `stop` (None: still running)
    /// is past its retention at `now`.
    pub(super) fn is_expired(&self, stop: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        stop.is_some_and(|t| {
            (now - t)
                .to_std()
                .is_ok_and(|age| age > self.inner.retention)
        })
    }
}
