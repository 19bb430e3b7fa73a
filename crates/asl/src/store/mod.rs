//! Checkpoint storage, so a host can resume executions after a restart.
//!
//! What is stored, and why each piece is small or written once:
//!
//! * the definition, once per distinct definition text
//!   ([`ExecutionStore::save_definition`], keyed by a content hash);
//! * per execution, an append-only history log
//!   ([`ExecutionStore::append_history`]: only the events not stored yet,
//!   already encoded as JSON lines by the engine, so the store copies bytes
//!   and the engine keeps no copy once they are stored);
//! * per execution, a small [`ExecutionRecord`]: metadata, status and, while
//!   RUNNING, the [`Checkpoint`] a resume needs (current top-level state, its
//!   input, retry counters, task token, Wait deadline). Once the execution
//!   has finished the record is reduced to its final status.
//!
//! The engine writes at the points where a crash would otherwise lose work
//! or repeat a side effect (see the crate README, "Checkpoints"), and every
//! write that returns `Ok` must be durable. [`crate::Engine::resume`] loads
//! the records (not the histories: [`ExecutionStore::read_history`] reads one
//! when asked) and restarts the RUNNING executions from their checkpoint.

use crate::error::StoreError;
use crate::history::{HistoryEvent, event_lines};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

mod file;

pub use file::FileStore;

/// Execution status, as in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an unhandled error.
    Failed,
    /// Exceeded the state machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped by `stop_execution`.
    Aborted,
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        })
    }
}

/// Where a running execution is: the top-level state it is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Name of the current top-level state.
    pub state_name: String,
    /// The state's input (raw, before InputPath).
    pub input: Value,
    /// Retry counters of the state's retriers (one per `Retry` element).
    pub retry_counts: Vec<u32>,
    /// The task token of a `.waitForTaskToken` task in this state, kept so
    /// that a callback sent after a restart still works.
    pub task_token: Option<String>,
    /// True once the handler accepted the token task (`TaskSubmitted`): on
    /// resume the engine then only waits for the callback and does not
    /// invoke the handler again.
    pub token_submitted: bool,
    /// When a Wait state in this state ends: a resume waits only for what
    /// is left.
    #[serde(default)]
    pub wait_until: Option<DateTime<Utc>>,
}

/// An execution's metadata, status and (while RUNNING) checkpoint: what a
/// resume needs besides the definition and the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// Execution ARN.
    pub execution_arn: String,
    /// Execution name.
    pub name: String,
    /// State machine ARN.
    pub state_machine_arn: String,
    /// State machine name.
    pub state_machine_name: String,
    /// Content hash of the definition the execution runs (see
    /// [`definition_id`]).
    pub definition_id: String,
    /// Current status.
    pub status: ExecutionStatus,
    /// Execution input.
    pub input: Value,
    /// Output when SUCCEEDED.
    pub output: Option<Value>,
    /// Error name when FAILED/TIMED_OUT/ABORTED.
    pub error: Option<String>,
    /// Cause when FAILED/TIMED_OUT/ABORTED.
    pub cause: Option<String>,
    /// Start time.
    pub start_date: DateTime<Utc>,
    /// Stop time when finished.
    pub stop_date: Option<DateTime<Utc>>,
    /// Current position when RUNNING.
    pub checkpoint: Option<Checkpoint>,
    /// Task tokens currently outstanding.
    pub task_tokens: Vec<String>,
    /// How many history events belong to this record. The log may hold
    /// more (appended before a crash, without their record): they are
    /// dropped on load, since the resumed run produces them again.
    pub history_len: u64,
}

/// An execution as loaded from a store (its history stays there: see
/// [`ExecutionStore::read_history`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExecution {
    /// Metadata, status and checkpoint.
    pub record: ExecutionRecord,
    /// The definition text (after substitutions), shared by the executions
    /// that run it.
    pub definition: std::sync::Arc<str>,
}

/// The id under which a definition text is stored: a hash of its content,
/// so each distinct definition is stored once however many executions use
/// it.
pub fn definition_id(definition: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(definition.as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Where executions are kept. Calls are synchronous and made from the
/// engine's tasks, so implementations should be quick. A call that returns
/// `Ok` must be durable (survive a crash of the host).
pub trait ExecutionStore: Send + Sync {
    /// Stores a definition text under its [`definition_id`] (a no-op if it
    /// is stored already).
    fn save_definition(&self, id: &str, definition: &str) -> Result<(), StoreError>;
    /// Appends events `first_id`, `first_id + 1`, ... to an execution's
    /// history: `lines` holds them encoded by
    /// [`encode_event`](crate::history::encode_event), one per line. Events
    /// carry their ids, so an append retried after a failure may repeat some
    /// (the later copy wins).
    fn append_history(
        &self,
        execution_arn: &str,
        first_id: u64,
        lines: &[u8],
    ) -> Result<(), StoreError>;
    /// The first `len` events of an execution's history.
    fn read_history(&self, execution_arn: &str, len: u64) -> Result<Vec<HistoryEvent>, StoreError>;
    /// Replaces an execution's record.
    fn save_record(&self, record: &ExecutionRecord) -> Result<(), StoreError>;
    /// Loads every execution's record and definition. One that cannot be
    /// read is set aside (and logged) rather than failing the whole load.
    /// The log of a RUNNING execution is cut back to its record's
    /// `history_len` events, so that the resumed run appends after them.
    fn load_all(&self) -> Result<Vec<StoredExecution>, StoreError>;
    /// The RUNNING executions only (what a restart must resume at once;
    /// logs cut back as in [`ExecutionStore::load_all`]).
    fn load_running(&self) -> Result<Vec<StoredExecution>, StoreError> {
        let mut all = self.load_all()?;
        all.retain(|e| e.record.status == ExecutionStatus::Running);
        Ok(all)
    }
    /// The finished executions only (loaded after the running ones have
    /// resumed).
    fn load_finished(&self) -> Result<Vec<StoredExecution>, StoreError> {
        let mut all = self.load_all()?;
        all.retain(|e| e.record.status != ExecutionStatus::Running);
        Ok(all)
    }
    /// Deletes an execution (record and history), e.g. after its retention
    /// period.
    fn remove(&self, execution_arn: &str) -> Result<(), StoreError>;
}

/// In-memory store (the default). Sharing one `Arc<MemoryStore>` between
/// two engines simulates a restart in tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    /// See [`MemoryStore::records_only`].
    discard_history: bool,
}

#[derive(Debug, Default)]
struct MemoryState {
    definitions: HashMap<String, std::sync::Arc<str>>,
    records: HashMap<String, ExecutionRecord>,
    histories: HashMap<String, EncodedLog>,
}

/// A history as the encoded chunks the engine appended (kept as chunks,
/// so a long history is not copied again each time its buffer grows).
#[derive(Debug, Default)]
struct EncodedLog {
    chunks: Vec<Vec<u8>>,
    events: usize,
}

impl EncodedLog {
    fn append(&mut self, first_id: u64, lines: &[u8]) {
        // Ids are 1-based and contiguous; a repeated append overwrites.
        self.truncate((first_id as usize).saturating_sub(1));
        let mut chunk = lines.to_vec();
        if !chunk.is_empty() && !chunk.ends_with(b"\n") {
            chunk.push(b'\n');
        }
        // The engine writes one event per line, no blank lines.
        self.events += chunk.iter().filter(|b| **b == b'\n').count();
        self.chunks.push(chunk);
    }

    /// Keeps the first `n` events.
    fn truncate(&mut self, n: usize) {
        if n < self.events {
            let kept: Vec<u8> = self.lines().take(n).flat_map(with_newline).collect();
            self.chunks = vec![kept];
            self.events = n;
        }
    }

    fn lines(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks.iter().flat_map(|c| event_lines(c))
    }
}

fn with_newline(line: &[u8]) -> impl Iterator<Item = u8> + '_ {
    line.iter().copied().chain(std::iter::once(b'\n'))
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that keeps records and definitions but drops the history
    /// events handed to it, for hosts that never read a history (the `asl`
    /// CLI prints only the output): memory then stays flat however long an
    /// execution runs. [`crate::Engine::get_execution_history`] returns
    /// only the events not handed to the store yet.
    pub fn records_only() -> Self {
        MemoryStore {
            discard_history: true,
            ..Self::default()
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, MemoryState>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Other("store lock poisoned".into()))
    }
}

impl ExecutionStore for MemoryStore {
    fn save_definition(&self, id: &str, definition: &str) -> Result<(), StoreError> {
        self.state()?
            .definitions
            .entry(id.to_string())
            .or_insert_with(|| definition.into());
        Ok(())
    }

    fn append_history(
        &self,
        execution_arn: &str,
        first_id: u64,
        lines: &[u8],
    ) -> Result<(), StoreError> {
        if self.discard_history {
            return Ok(());
        }
        self.state()?
            .histories
            .entry(execution_arn.to_string())
            .or_default()
            .append(first_id, lines);
        Ok(())
    }

    fn read_history(&self, execution_arn: &str, len: u64) -> Result<Vec<HistoryEvent>, StoreError> {
        let s = self.state()?;
        let Some(log) = s.histories.get(execution_arn) else {
            return Ok(Vec::new());
        };
        let events = log.lines().take(len as usize).map(serde_json::from_slice);
        Ok(events.collect::<Result<_, _>>()?)
    }

    fn save_record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        self.state()?
            .records
            .insert(record.execution_arn.clone(), record.clone());
        Ok(())
    }

    fn load_all(&self) -> Result<Vec<StoredExecution>, StoreError> {
        let mut guard = self.state()?;
        let s = &mut *guard;
        let mut out = Vec::new();
        for record in s.records.values() {
            let Some(definition) = s.definitions.get(&record.definition_id) else {
                tracing::error!(execution = %record.execution_arn, "definition missing; skipped");
                continue;
            };
            if record.status == ExecutionStatus::Running
                && let Some(log) = s.histories.get_mut(&record.execution_arn)
            {
                log.truncate(record.history_len as usize);
            }
            out.push(StoredExecution {
                record: record.clone(),
                definition: definition.clone(),
            });
        }
        Ok(out)
    }

    fn remove(&self, execution_arn: &str) -> Result<(), StoreError> {
        let mut s = self.state()?;
        s.records.remove(execution_arn);
        s.histories.remove(execution_arn);
        Ok(())
    }
}
