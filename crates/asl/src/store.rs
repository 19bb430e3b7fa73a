//! Checkpoint storage, so a host can resume executions after a restart.
//!
//! The engine saves a snapshot of an execution at every top-level state
//! transition (and on retries, task-token submission and completion).
//! [`crate::Engine::resume`] loads all snapshots and restarts the RUNNING
//! ones by re-entering their current state.

use crate::error::StoreError;
use crate::history::HistoryEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

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
}

/// Everything needed to describe an execution and resume it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSnapshot {
    /// Execution ARN.
    pub execution_arn: String,
    /// Execution name.
    pub name: String,
    /// State machine ARN.
    pub state_machine_arn: String,
    /// State machine name.
    pub state_machine_name: String,
    /// Definition text the execution runs (after substitutions).
    pub definition: String,
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
    /// History so far.
    pub history: Vec<HistoryEvent>,
}

/// Where snapshots are kept. Calls are synchronous and made from the
/// engine's tasks, so implementations should be quick.
pub trait ExecutionStore: Send + Sync {
    /// Saves (replaces) the snapshot of one execution.
    fn save(&self, snapshot: &ExecutionSnapshot) -> Result<(), StoreError>;
    /// Loads all saved snapshots.
    fn load_all(&self) -> Result<Vec<ExecutionSnapshot>, StoreError>;
}

/// In-memory store (the default). Sharing one `Arc<MemoryStore>` between
/// two engines simulates a restart in tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    snapshots: Mutex<HashMap<String, ExecutionSnapshot>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ExecutionStore for MemoryStore {
    fn save(&self, snapshot: &ExecutionSnapshot) -> Result<(), StoreError> {
        let mut m = self
            .snapshots
            .lock()
            .map_err(|_| StoreError::Other("store lock poisoned".into()))?;
        m.insert(snapshot.execution_arn.clone(), snapshot.clone());
        Ok(())
    }

    fn load_all(&self) -> Result<Vec<ExecutionSnapshot>, StoreError> {
        let m = self
            .snapshots
            .lock()
            .map_err(|_| StoreError::Other("store lock poisoned".into()))?;
        Ok(m.values().cloned().collect())
    }
}

/// One JSON file per execution in a directory. Files are written to a
/// temporary name and renamed, so a crash never leaves a half-written
/// snapshot.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// Uses (and creates) `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(FileStore { dir })
    }

    fn file_for(&self, arn: &str) -> PathBuf {
        let safe: String = arn
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // Different ARNs could sanitise to the same name; a short hash of
        // the real ARN keeps them apart.
        let h = arn.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        self.dir.join(format!("{safe}-{h:016x}.json"))
    }
}

impl ExecutionStore for FileStore {
    fn save(&self, snapshot: &ExecutionSnapshot) -> Result<(), StoreError> {
        let path = self.file_for(&snapshot.execution_arn);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(snapshot)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    fn load_all(&self) -> Result<Vec<ExecutionSnapshot>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let p = entry?.path();
            if p.extension().and_then(|e| e.to_str()) == Some("json") {
                let bytes = std::fs::read(&p)?;
                out.push(serde_json::from_slice(&bytes)?);
            }
        }
        Ok(out)
    }
}
