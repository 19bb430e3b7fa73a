//! The store layout: append-only history, one definition per state
//! machine, compact finished records, retention, resumed Waits.

mod common;

use asl::{Engine, EngineError, ExecutionStatus, ExecutionStore, FileStore, MemoryStore};
use common::{Tokens, runtime, t0, token_keeper, wait_for_tokens};

/// The `n`th task token issued (1-based), once the engine has checkpointed it.
async fn next_token(tokens: &Tokens, n: usize) -> String {
    wait_for_tokens(tokens, n).await[n - 1].clone()
}
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LOOP_DEF: &str = r#"{"StartAt":"Init","States":{
    "Init":{"Type":"Pass","Result":0,"ResultPath":"$.i","Next":"Inc"},
    "Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)"},"Next":"Check"},
    "Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericLessThan":5,"Next":"Inc"}],
             "Default":"Call"},
    "Call":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters":{"token.$":"$$.Task.Token"},"ResultPath":"$.cb","End":true}}}"#;

fn files_ending(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn log_ids(path: &std::path::Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn history_is_appended_and_the_definition_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::default();
    let e = Engine::builder(token_keeper(tokens.clone()))
        .store(Arc::new(FileStore::new(dir.path()).unwrap()))
        .build();
    let sm = e.create_state_machine("loop", LOOP_DEF).unwrap();
    let mut arns = Vec::new();
    for (n, name) in ["one", "two"].iter().enumerate() {
        let arn = e.start_execution(&sm, Some(name), json!({})).unwrap();
        let token = next_token(&tokens, n + 1).await;
        let logs = files_ending(dir.path(), ".history.jsonl");
        let log = logs
            .iter()
            .find(|p| p.to_string_lossy().contains(name))
            .unwrap()
            .clone();
        let before = std::fs::read(&log).unwrap();
        e.send_task_success(&token, json!(n)).unwrap();
        e.wait_for_execution(&arn).await.unwrap();
        let after = std::fs::read(&log).unwrap();
        // Appended, not rewritten.
        assert!(after.len() > before.len() && after.starts_with(&before));
        let history = e.get_execution_history(&arn).unwrap();
        let expected: Vec<u64> = (1..=history.len() as u64).collect();
        assert_eq!(log_ids(&log), expected);
        arns.push(arn);
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("definitions"))
            .unwrap()
            .count(),
        1
    );
    // A finished execution's record is its final status only.
    for record in files_ending(dir.path(), ".json") {
        let v: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
        assert_eq!(v["status"], json!("SUCCEEDED"));
        assert_eq!(v["checkpoint"], Value::Null);
        assert!(v.get("history").is_none() && v.get("definition").is_none());
    }
}

#[tokio::test(start_paused = true)]
async fn finished_executions_expire_after_the_retention_period() {
    let store = Arc::new(MemoryStore::new());
    let e = Engine::builder(Arc::new(asl::EchoHandler))
        .clock(Arc::new(asl::TokioClock::starting_at(t0())))
        .store(store.clone())
        .retention(Duration::from_secs(60))
        .build();
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
    let sm = e.create_state_machine("short", def).unwrap();
    let old = e.start_execution(&sm, Some("old"), json!({})).unwrap();
    e.wait_for_execution(&old).await.unwrap();
    tokio::time::advance(Duration::from_secs(30)).await;
    let young = e.start_execution(&sm, Some("young"), json!({})).unwrap();
    e.wait_for_execution(&young).await.unwrap();
    // 30 s old: kept.
    assert_eq!(e.expire_finished(), 0);
    tokio::time::advance(Duration::from_secs(45)).await;
    // `old` stopped 75 s ago, `young` 45 s ago; starting an execution
    // sweeps the expired ones.
    let third = e.start_execution(&sm, Some("third"), json!({})).unwrap();
    e.wait_for_execution(&third).await.unwrap();
    assert!(matches!(
        e.describe_execution(&old),
        Err(EngineError::ExecutionDoesNotExist(_))
    ));
    assert_eq!(
        e.describe_execution(&young).unwrap().status,
        ExecutionStatus::Succeeded
    );
    let stored: Vec<String> = store
        .load_all()
        .unwrap()
        .into_iter()
        .map(|s| s.record.name)
        .collect();
    assert!(!stored.contains(&"old".to_string()), "{stored:?}");
    assert_eq!(stored.len(), 2);

    // A restarted engine drops what expired while it was down.
    tokio::time::advance(Duration::from_secs(3600)).await;
    let e2 = Engine::builder(Arc::new(asl::EchoHandler))
        .clock(Arc::new(asl::TokioClock::starting_at(
            t0() + chrono::Duration::hours(2),
        )))
        .store(store.clone())
        .retention(Duration::from_secs(60))
        .build();
    assert_eq!(e2.resume().unwrap(), 0);
    assert!(e2.describe_execution(&young).is_err());
    assert!(store.load_all().unwrap().is_empty());
}

#[test]
fn resume_ignores_log_lines_written_after_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ExecutionStore> = Arc::new(FileStore::new(dir.path()).unwrap());
    let rt1 = runtime();
    let (arn, token, stored_len) = rt1.block_on(async {
        let tokens = Tokens::default();
        let e = Engine::builder(token_keeper(tokens.clone()))
            .store(store.clone())
            .build();
        let sm = e.create_state_machine("loop", LOOP_DEF).unwrap();
        let arn = e.start_execution(&sm, Some("x"), json!({})).unwrap();
        let token = next_token(&tokens, 1).await;
        let len = e.get_execution_history(&arn).unwrap().len();
        (arn, token, len)
    });
    rt1.shutdown_background();
    // A crash after appending events whose record was never written, the
    // last one torn.
    let log = files_ending(dir.path(), ".history.jsonl").remove(0);
    let mut text = std::fs::read_to_string(&log).unwrap();
    let next = stored_len + 1;
    text.push_str(&format!(
        r#"{{"id":{next},"previousEventId":{},"timestamp":"2024-01-01T00:00:00Z","type":"TaskSucceeded","details":{{}}}}"#,
        next - 1
    ));
    text.push_str("\n{\"id\": 99, \"previ");
    std::fs::write(&log, text).unwrap();

    runtime().block_on(async {
        let e = Engine::builder(token_keeper(Tokens::default()))
            .store(store.clone())
            .build();
        assert_eq!(e.resume().unwrap(), 1);
        assert_eq!(e.get_execution_history(&arn).unwrap().len(), stored_len);
        e.send_task_success(&token, json!("late")).unwrap();
        let d = e.wait_for_execution(&arn).await.unwrap();
        assert_eq!(d.output, Some(json!({"i": 5, "cb": "late"})));
        let n = e.get_execution_history(&arn).unwrap().len() as u64;
        assert_eq!(log_ids(&log), (1..=n).collect::<Vec<_>>());
    });
}

#[test]
fn a_resumed_wait_waits_only_for_what_is_left() {
    let store: Arc<dyn ExecutionStore> = Arc::new(MemoryStore::new());
    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"Next":"P"},
        "P":{"Type":"Pass","End":true}}}"#;
    let paused = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    };
    let rt1 = paused();
    let arn = rt1.block_on(async {
        let e = Engine::builder(Arc::new(asl::EchoHandler))
            .clock(Arc::new(asl::TokioClock::starting_at(t0())))
            .store(store.clone())
            .build();
        let sm = e.create_state_machine("w", def).unwrap();
        let arn = e.start_execution(&sm, None, json!({})).unwrap();
        tokio::time::sleep(Duration::from_secs(40)).await;
        arn
    });
    rt1.shutdown_background();
    paused().block_on(async {
        // The host comes back 40 s after the start.
        let e = Engine::builder(Arc::new(asl::EchoHandler))
            .clock(Arc::new(asl::TokioClock::starting_at(
                t0() + chrono::Duration::seconds(40),
            )))
            .store(store.clone())
            .build();
        assert_eq!(e.resume().unwrap(), 1);
        let d = e.wait_for_execution(&arn).await.unwrap();
        assert_eq!(d.status, ExecutionStatus::Succeeded);
        assert_eq!(d.stop_date, Some(t0() + chrono::Duration::seconds(100)));
    });
}

/// Records the checkpointed state of every record written.
#[derive(Default)]
struct RecordingStore {
    inner: MemoryStore,
    written: Mutex<Vec<Option<String>>>,
}

impl ExecutionStore for RecordingStore {
    fn save_definition(&self, id: &str, definition: &str) -> Result<(), asl::StoreError> {
        self.inner.save_definition(id, definition)
    }

    fn append_history(
        &self,
        arn: &str,
        first_id: u64,
        lines: &[u8],
    ) -> Result<(), asl::StoreError> {
        self.inner.append_history(arn, first_id, lines)
    }

    fn read_history(&self, arn: &str, len: u64) -> Result<Vec<asl::HistoryEvent>, asl::StoreError> {
        self.inner.read_history(arn, len)
    }

    fn save_record(&self, record: &asl::ExecutionRecord) -> Result<(), asl::StoreError> {
        self.written
            .lock()
            .unwrap()
            .push(record.checkpoint.as_ref().map(|c| {
                format!(
                    "{}{}",
                    c.state_name,
                    if c.token_submitted { "+" } else { "" }
                )
            }));
        self.inner.save_record(record)
    }

    fn load_all(&self) -> Result<Vec<asl::StoredExecution>, asl::StoreError> {
        self.inner.load_all()
    }

    fn remove(&self, arn: &str) -> Result<(), asl::StoreError> {
        self.inner.remove(arn)
    }
}

#[tokio::test]
async fn checkpoints_surround_effects_and_skip_pure_states() {
    let store = Arc::new(RecordingStore::default());
    let tokens = Tokens::default();
    let e = Engine::builder(token_keeper(tokens.clone()))
        .store(store.clone())
        .build();
    let def = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","Next":"B"},
        "B":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"T"}],"Default":"T"},
        "T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
             "Parameters":{"token.$":"$$.Task.Token"},"ResultPath":"$.cb","Next":"C"},
        "C":{"Type":"Pass","Next":"D"},
        "D":{"Type":"Pass","End":true}}}"#;
    let sm = e.create_state_machine("policy", def).unwrap();
    let arn = e.start_execution(&sm, None, json!({})).unwrap();
    let token = next_token(&tokens, 1).await;
    e.send_task_success(&token, json!(1)).unwrap();
    e.wait_for_execution(&arn).await.unwrap();
    let written = store.written.lock().unwrap().clone();
    let s = |v: &str| Some(v.to_string());
    // Start; entering T, issuing and submitting its token; C right after
    // the task; the final record. Pass/Choice states A, B and D: nothing.
    assert_eq!(
        written,
        vec![None, s("T"), s("T"), s("T+"), s("C"), None],
        "{written:?}"
    );
}

/// A long run of Pass and Choice states (no checkpoint on the way) hands
/// its events to the store in pieces instead of holding them all; the
/// history read back is complete, from the engine and after a restart.
#[tokio::test]
async fn a_long_history_is_spilled_to_the_store_and_read_back_whole() {
    const BENCH_LOOP: &str = include_str!("../benches/loop.asl.json");
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ExecutionStore> = Arc::new(FileStore::new(dir.path()).unwrap());
    let e = Engine::builder(Arc::new(asl::EchoHandler))
        .store(store.clone())
        .build();
    let sm = e.create_state_machine("loop", BENCH_LOOP).unwrap();
    let n = 6_000u64;
    let arn = e
        .start_execution(&sm, Some("long"), json!({"n": n}))
        .unwrap();
    let d = e.wait_for_execution(&arn).await.unwrap();
    assert_eq!(d.output, Some(json!({"i": n, "n": n})));
    // Started, Init, n x (Inc, Check), Done: entered + exited each, Succeeded.
    let expected = 1 + 2 * (2 + 2 * n) + 1;
    let history = e.get_execution_history(&arn).unwrap();
    let ids: Vec<u64> = history.iter().map(|h| h.id).collect();
    assert_eq!(ids, (1..=expected).collect::<Vec<_>>());
    assert_eq!(
        history[3].details,
        json!({"name": "Inc", "input": {"i": 0, "n": n}})
    );
    let log = files_ending(dir.path(), ".history.jsonl").remove(0);
    assert_eq!(log_ids(&log), ids);

    let e2 = Engine::builder(Arc::new(asl::EchoHandler))
        .store(store)
        .build();
    assert_eq!(e2.resume().unwrap(), 0);
    assert_eq!(e2.get_execution_history(&arn).unwrap(), history);
}

/// Finished records live apart from running ones, so that a restart reads
/// only what it must resume; finished executions are still found, listed
/// and kept unique after it.
#[test]
fn a_restart_reads_running_records_first_and_finds_finished_ones_after() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ExecutionStore> = Arc::new(FileStore::new(dir.path()).unwrap());
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
    let arns: Vec<String> = runtime().block_on(async {
        let e = Engine::builder(Arc::new(asl::EchoHandler))
            .store(store.clone())
            .build();
        let sm = e.create_state_machine("quick", def).unwrap();
        let mut arns = Vec::new();
        for i in 0..3 {
            let arn = e
                .start_execution(&sm, Some(&format!("q{i}")), json!({"i": i}))
                .unwrap();
            e.wait_for_execution(&arn).await.unwrap();
            arns.push(arn);
        }
        arns
    });
    assert!(files_ending(dir.path(), ".json").is_empty());
    assert_eq!(files_ending(&dir.path().join("finished"), ".json").len(), 3);
    // A record of the layout without `finished/` is moved there.
    let moved = files_ending(&dir.path().join("finished"), ".json").remove(0);
    let top = dir.path().join(moved.file_name().unwrap());
    std::fs::rename(&moved, &top).unwrap();

    runtime().block_on(async {
        let e = Engine::builder(Arc::new(asl::EchoHandler))
            .store(store.clone())
            .build();
        let sm = e.create_state_machine("quick", def).unwrap();
        assert_eq!(e.resume().unwrap(), 0);
        assert!(!top.exists());
        let d = e.describe_execution(&arns[2]).unwrap();
        assert_eq!(d.output, Some(json!({"i": 2})));
        assert_eq!(e.list_executions(&sm, None).unwrap().len(), 3);
        assert!(matches!(
            e.start_execution(&sm, Some("q0"), json!({})),
            Err(EngineError::ExecutionAlreadyExists(_))
        ));
        // Started, PassStateEntered, PassStateExited, Succeeded.
        assert_eq!(e.get_execution_history(&arns[0]).unwrap().len(), 4);
    });
}
