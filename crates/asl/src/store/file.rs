//! [`FileStore`]: executions in a directory.
//!
//! Layout: `<stem>.json` is a RUNNING execution's record (replaced durably
//! on each write), `finished/<stem>.json` a finished one's (moved there by
//! its final write, so that a restart reads only the running ones before
//! it resumes them), `<stem>.history.jsonl` its history (one event per
//! line, only ever appended to), and `definitions/<id>.asl.json` each
//! definition text, written once.

use super::{ExecutionRecord, ExecutionStatus, ExecutionStore, StoredExecution, definition_id};
use crate::error::StoreError;
use crate::history::{HistoryEvent, decode_events, event_lines};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

/// Executions as files in a directory (layout in the module docs).
///
/// Every write is durable: a record goes to a temporary file in the same
/// directory, which is fsynced, renamed over the target, and then the
/// directory is fsynced; history lines are appended and the log fsynced.
/// Loading sets aside what it cannot read (renamed to `*.corrupt`, logged),
/// so one bad file does not stop the other executions from resuming.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    /// Logs whose last append failed and may end in a partial line.
    torn_logs: Mutex<HashSet<String>>,
}

impl FileStore {
    /// Uses (and creates) `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(dir.join("definitions"))?;
        std::fs::create_dir_all(dir.join(FINISHED))?;
        Ok(FileStore {
            dir,
            torn_logs: Mutex::new(HashSet::new()),
        })
    }

    fn record_path(&self, arn: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_stem(arn)))
    }

    fn finished_path(&self, arn: &str) -> PathBuf {
        self.dir
            .join(FINISHED)
            .join(format!("{}.json", file_stem(arn)))
    }

    /// Loads every record file in `dir` (set aside what cannot be read).
    fn load_dir(&self, dir: &Path) -> Result<Vec<StoredExecution>, StoreError> {
        let mut out = Vec::new();
        let mut definitions = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let p = entry.path();
            if p.extension().and_then(|e| e.to_str()) != Some("json")
                || !entry.file_type()?.is_file()
            {
                continue;
            }
            match self.load_one(&p, &mut definitions) {
                Ok(e) => out.push(e),
                Err(e) => quarantine(&p, &e),
            }
        }
        Ok(out)
    }

    /// Moves a finished record found among the running ones (a layout
    /// older than `finished/`, or a crash between writing the finished
    /// record and removing the running one) to where it belongs.
    fn file_finished(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        let running = self.record_path(&record.execution_arn);
        let finished = self.finished_path(&record.execution_arn);
        if finished.exists() {
            match std::fs::remove_file(&running) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        } else {
            std::fs::rename(&running, &finished)?;
            sync_dir(&self.dir.join(FINISHED))?;
        }
        sync_dir(&self.dir)
    }

    fn history_path(&self, arn: &str) -> PathBuf {
        self.dir.join(format!("{}.history.jsonl", file_stem(arn)))
    }

    fn definition_path(&self, id: &str) -> PathBuf {
        self.dir.join("definitions").join(format!("{id}.asl.json"))
    }

    fn torn_logs(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.torn_logs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads one record file with its definition (read once per load for
    /// all the executions that share it); cuts a RUNNING execution's log
    /// back to the events its record counts.
    fn load_one(
        &self,
        record_path: &Path,
        definitions: &mut HashMap<String, Arc<str>>,
    ) -> Result<StoredExecution, StoreError> {
        let bytes = std::fs::read(record_path)?;
        let record: ExecutionRecord = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            // Files written before the record/log split hold everything.
            Err(e) => match serde_json::from_slice::<LegacySnapshot>(&bytes) {
                Ok(legacy) => return self.migrate(legacy),
                Err(_) => return Err(e.into()),
            },
        };
        let definition = match definitions.get(&record.definition_id) {
            Some(d) => d.clone(),
            None => {
                let text: Arc<str> =
                    std::fs::read_to_string(self.definition_path(&record.definition_id))?.into();
                definitions.insert(record.definition_id.clone(), text.clone());
                text
            }
        };
        if record.status == ExecutionStatus::Running {
            self.repair_history(&record)?;
        }
        Ok(StoredExecution { record, definition })
    }

    /// The log's lines for events 1..=len (a repeated append's later copy
    /// wins), and whether the log holds exactly those lines in order.
    fn history_prefix(&self, arn: &str, len: u64) -> Result<(Vec<u8>, bool), StoreError> {
        let path = self.history_path(arn);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && len == 0 => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let mut by_id: Vec<Option<&[u8]>> = vec![None; len as usize];
        let mut in_order = true;
        for (i, line) in event_lines(&text).enumerate() {
            // A torn line can only be one whose record was never written.
            let Ok(EventId { id }) = serde_json::from_slice::<EventId>(line) else {
                in_order = false;
                continue;
            };
            in_order &= id == i as u64 + 1;
            if let Some(slot) = id.checked_sub(1).and_then(|i| by_id.get_mut(i as usize)) {
                *slot = Some(line);
            } else {
                in_order = false;
            }
        }
        let mut out = Vec::with_capacity(text.len());
        for line in by_id {
            let line = line.ok_or_else(|| {
                StoreError::Other(format!(
                    "{} lacks events of the first {len}",
                    path.display()
                ))
            })?;
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        Ok((out, in_order))
    }

    /// Rewrites a log that holds anything besides its record's events, so
    /// that later appends follow them.
    fn repair_history(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        let (lines, exact) = self.history_prefix(&record.execution_arn, record.history_len)?;
        if !exact {
            write_durably(&self.history_path(&record.execution_arn), &lines)?;
        }
        Ok(())
    }

    /// Converts a file of the old single-snapshot format to the current
    /// layout.
    fn migrate(&self, legacy: LegacySnapshot) -> Result<StoredExecution, StoreError> {
        let id = definition_id(&legacy.definition);
        self.save_definition(&id, &legacy.definition)?;
        let record = legacy.record(id);
        write_durably(
            &self.history_path(&record.execution_arn),
            &history_lines(&legacy.history)?,
        )?;
        self.save_record(&record)?;
        tracing::info!(execution = %record.execution_arn, "checkpoint converted to the record/log layout");
        Ok(StoredExecution {
            record,
            definition: legacy.definition.into(),
        })
    }
}

impl ExecutionStore for FileStore {
    fn save_definition(&self, id: &str, definition: &str) -> Result<(), StoreError> {
        let path = self.definition_path(id);
        if path.exists() {
            return Ok(());
        }
        // Recreated if someone removed it since `new`.
        std::fs::create_dir_all(self.dir.join("definitions"))?;
        write_durably(&path, definition.as_bytes())
    }

    fn append_history(
        &self,
        execution_arn: &str,
        _first_id: u64,
        lines: &[u8],
    ) -> Result<(), StoreError> {
        let torn = self.torn_logs().contains(execution_arn);
        // After a failed append, end the partial line it may have left.
        let bytes: std::borrow::Cow<'_, [u8]> = if torn {
            [&b"\n"[..], lines].concat().into()
        } else {
            lines.into()
        };
        let path = self.history_path(execution_arn);
        let appended = (|| -> Result<bool, StoreError> {
            let existed = path.exists();
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            f.write_all(&bytes)?;
            f.sync_data()?;
            Ok(existed)
        })();
        match appended {
            Ok(existed) => {
                self.torn_logs().remove(execution_arn);
                if !existed {
                    sync_dir(&self.dir)?;
                }
                Ok(())
            }
            Err(e) => {
                self.torn_logs().insert(execution_arn.to_string());
                Err(e)
            }
        }
    }

    fn read_history(&self, execution_arn: &str, len: u64) -> Result<Vec<HistoryEvent>, StoreError> {
        let (lines, _) = self.history_prefix(execution_arn, len)?;
        Ok(decode_events(&lines)?)
    }

    fn save_record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record)?;
        if record.status == ExecutionStatus::Running {
            return write_durably(&self.record_path(&record.execution_arn), &bytes);
        }
        // The finished record first: a crash in between leaves both, and
        // loading then keeps the finished one.
        write_durably(&self.finished_path(&record.execution_arn), &bytes)?;
        match std::fs::remove_file(self.record_path(&record.execution_arn)) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn load_all(&self) -> Result<Vec<StoredExecution>, StoreError> {
        let mut all = self.load_running()?;
        all.extend(self.load_finished()?);
        Ok(all)
    }

    fn load_running(&self) -> Result<Vec<StoredExecution>, StoreError> {
        let mut running = Vec::new();
        for e in self.load_dir(&self.dir)? {
            if e.record.status == ExecutionStatus::Running
                && !self.finished_path(&e.record.execution_arn).exists()
            {
                running.push(e);
            } else if let Err(err) = self.file_finished(&e.record) {
                tracing::warn!(execution = %e.record.execution_arn, error = %err, "cannot move a finished record");
            }
        }
        Ok(running)
    }

    fn load_finished(&self) -> Result<Vec<StoredExecution>, StoreError> {
        self.load_dir(&self.dir.join(FINISHED))
    }

    fn remove(&self, execution_arn: &str) -> Result<(), StoreError> {
        for path in [
            self.record_path(execution_arn),
            self.finished_path(execution_arn),
            self.history_path(execution_arn),
        ] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        sync_dir(&self.dir)
    }
}

/// One JSON document per line.
fn history_lines(events: &[HistoryEvent]) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    for e in events {
        serde_json::to_writer(&mut bytes, e)?;
        bytes.push(b'\n');
    }
    Ok(bytes)
}

/// The directory of finished executions' records.
const FINISHED: &str = "finished";

/// The id of an encoded event (the rest of the line is not parsed).
#[derive(Deserialize)]
struct EventId {
    id: u64,
}

/// The single-file format used before records and logs were split.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
struct LegacySnapshot {
    execution_arn: String,
    name: String,
    state_machine_arn: String,
    state_machine_name: String,
    definition: String,
    status: super::ExecutionStatus,
    input: serde_json::Value,
    output: Option<serde_json::Value>,
    error: Option<String>,
    cause: Option<String>,
    start_date: chrono::DateTime<chrono::Utc>,
    stop_date: Option<chrono::DateTime<chrono::Utc>>,
    checkpoint: Option<super::Checkpoint>,
    task_tokens: Vec<String>,
    history: Vec<HistoryEvent>,
}

impl LegacySnapshot {
    fn record(&self, definition_id: String) -> ExecutionRecord {
        ExecutionRecord {
            execution_arn: self.execution_arn.clone(),
            name: self.name.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            state_machine_name: self.state_machine_name.clone(),
            definition_id,
            status: self.status,
            input: self.input.clone(),
            output: self.output.clone(),
            error: self.error.clone(),
            cause: self.cause.clone(),
            start_date: self.start_date,
            stop_date: self.stop_date,
            checkpoint: self.checkpoint.clone(),
            task_tokens: self.task_tokens.clone(),
            history_len: self.history.len() as u64,
        }
    }
}

/// A file name for an ARN: its safe characters plus a hash of the whole
/// ARN, since different ARNs could sanitise to the same name.
fn file_stem(arn: &str) -> String {
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
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
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
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Renames an unreadable file to `<name>.corrupt` so that it is kept for
/// inspection but no longer loaded, and logs it.
fn quarantine(path: &Path, why: &dyn std::fmt::Display) {
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
