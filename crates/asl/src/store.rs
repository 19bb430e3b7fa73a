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
use std::path::{Path, PathBuf};
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
/// engine's tasks, so implementations should be quick. A `save` that
/// returns `Ok` must be durable (survive a crash of the host).
pub trait ExecutionStore: Send + Sync {
    /// Saves (replaces) the snapshot of one execution.
    fn save(&self, snapshot: &ExecutionSnapshot) -> Result<(), StoreError>;
    /// Loads all saved snapshots. A snapshot that cannot be read is set
    /// aside (and logged) rather than failing the whole load.
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

/// One JSON file per execution in a directory.
///
/// Writes are durable: each snapshot goes to a temporary file in the same
/// directory, which is fsynced, renamed over the target, and then the
/// directory itself is fsynced (so the rename survives a power loss).
/// Loading skips files it cannot read or parse: they are renamed to
/// `*.corrupt` and logged, so one bad file does not stop the others from
/// being resumed.
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
        self.dir.join(format!("{}.json", file_stem(arn)))
    }
}

/// A file name for an ARN: its safe characters plus a hash of the whole
/// ARN, since different ARNs could sanitise to the same name.
pub(crate) fn file_stem(arn: &str) -> String {
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
    let h = arn.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{safe}-{h:016x}")
}

/// Replaces `path` with `bytes` so that after a crash the file holds
/// either the old or the new content, never a mix: temp file in the same
/// directory, fsync, rename, fsync of the directory.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Other(format!("{} has no directory", path.display())))?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Makes renames and new files in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Renames an unreadable file to `<name>.corrupt` so that it is kept for
/// inspection but no longer loaded, and logs it.
pub(crate) fn quarantine(path: &Path, why: &dyn std::fmt::Display) {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".corrupt");
    match std::fs::rename(path, &aside) {
        Ok(()) => tracing::warn!(
            file = %path.display(),
            moved_to = %Path::new(&aside).display(),
            error = %why,
            "unreadable checkpoint moved aside"
        ),
        Err(e) => tracing::error!(
            file = %path.display(),
            error = %why,
            rename_error = %e,
            "unreadable checkpoint skipped (could not move it aside)"
        ),
    }
}

impl ExecutionStore for FileStore {
    fn save(&self, snapshot: &ExecutionSnapshot) -> Result<(), StoreError> {
        write_durably(
            &self.file_for(&snapshot.execution_arn),
            &serde_json::to_vec(snapshot)?,
        )
    }

    fn load_all(&self) -> Result<Vec<ExecutionSnapshot>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let p = entry?.path();
            if p.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let parsed = std::fs::read(&p)
                .map_err(StoreError::from)
                .and_then(|bytes| Ok(serde_json::from_slice(&bytes)?));
            match parsed {
                Ok(snapshot) => out.push(snapshot),
                Err(e) => quarantine(&p, &e),
            }
        }
        Ok(out)
    }
}
