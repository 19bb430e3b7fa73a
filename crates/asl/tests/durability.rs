//! Checkpoint durability: unwritable stores, corrupt files, failures
//! during a run.

mod common;

use asl::{
    Engine, EngineError, ExecutionRecord, ExecutionStatus, ExecutionStore, FileStore, HistoryEvent,
    MemoryStore, StoreError, StoredExecution,
};
use common::{Tokens, runtime, token_keeper, wait_for_tokens};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const TOKEN_DEF: &str = r#"{"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
         "Parameters":{"token.$":"$$.Task.Token"},"ResultPath":"$.cb","End":true}}}"#;

#[test]
fn resume_moves_a_corrupt_checkpoint_aside_and_resumes_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ExecutionStore> = Arc::new(FileStore::new(dir.path()).unwrap());
    let rt1 = runtime();
    let arns = rt1.block_on(async {
        let tokens = Tokens::default();
        let e = Engine::builder(token_keeper(tokens.clone()))
            .store(store.clone())
            .build();
        let sm = e.create_state_machine("m", TOKEN_DEF).unwrap();
        let a = e.start_execution(&sm, Some("a"), json!({})).unwrap();
        let b = e.start_execution(&sm, Some("b"), json!({})).unwrap();
        wait_for_tokens(&tokens, 2).await;
        vec![a, b]
    });
    rt1.shutdown_background();
    // A torn write from some other tool, and plain garbage.
    std::fs::write(
        dir.path().join("torn.json"),
        br#"{"executionArn": "arn:x", "na"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("garbage.json"), b"\x00\x01not json").unwrap();

    let rt2 = runtime();
    rt2.block_on(async {
        let e = Engine::builder(token_keeper(Tokens::default()))
            .store(store.clone())
            .build();
        assert_eq!(e.resume().unwrap(), 2);
        for arn in &arns {
            let d = e.describe_execution(arn).unwrap();
            assert_eq!(d.status, ExecutionStatus::Running);
        }
    });
    for name in ["torn", "garbage"] {
        assert!(!dir.path().join(format!("{name}.json")).exists());
        assert!(dir.path().join(format!("{name}.json.corrupt")).exists());
    }
}

#[test]
fn start_execution_fails_when_the_checkpoint_cannot_be_written() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("executions");
    let store: Arc<dyn ExecutionStore> = Arc::new(FileStore::new(&dir).unwrap());
    // A regular file where the directory was: not writable even for root,
    // which permission bits would not stop.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"").unwrap();
    runtime().block_on(async {
        let e = Engine::builder(asl_echo()).store(store.clone()).build();
        let sm = e
            .create_state_machine(
                "m",
                r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
            )
            .unwrap();
        let err = e
            .start_execution(&sm, Some("first"), json!({}))
            .unwrap_err();
        assert!(matches!(err, EngineError::Store(_)), "{err}");
        // Nothing was started: the name is free for the caller's retry.
        let arn = format!("{}:first", sm.replace(":stateMachine:", ":execution:"));
        assert!(matches!(
            e.describe_execution(&arn),
            Err(EngineError::ExecutionDoesNotExist(_))
        ));
        std::fs::remove_file(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        let arn2 = e
            .start_execution(&sm, Some("first"), json!({"n": 1}))
            .unwrap();
        assert_eq!(arn2, arn);
        let d = e.wait_for_execution(&arn).await.unwrap();
        assert_eq!(d.output, Some(json!({"n": 1})));
    });
}

#[cfg(unix)]
#[test]
fn start_execution_fails_in_a_read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ExecutionStore> = Arc::new(FileStore::new(dir.path()).unwrap());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits; only a store that really cannot write
    // is the subject here.
    let enforced = std::fs::File::create(dir.path().join("probe")).is_err();
    runtime().block_on(async {
        let e = Engine::builder(asl_echo()).store(store.clone()).build();
        let sm = e
            .create_state_machine(
                "m",
                r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
            )
            .unwrap();
        let started = e.start_execution(&sm, Some("ro"), json!({}));
        assert_eq!(started.is_err(), enforced, "{started:?}");
    });
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn asl_echo() -> Arc<dyn asl::TaskHandler> {
    Arc::new(asl::EchoHandler)
}

/// A memory store whose writes fail while `failing` is set.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    failing: AtomicBool,
}

impl FlakyStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Other("disk full".into()));
        }
        Ok(())
    }
}

impl ExecutionStore for FlakyStore {
    fn save_definition(&self, id: &str, definition: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_definition(id, definition)
    }

    fn append_history(&self, arn: &str, first_id: u64, lines: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.append_history(arn, first_id, lines)
    }

    fn read_history(&self, arn: &str, len: u64) -> Result<Vec<HistoryEvent>, StoreError> {
        self.inner.read_history(arn, len)
    }

    fn save_record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_record(record)
    }

    fn load_all(&self) -> Result<Vec<StoredExecution>, StoreError> {
        self.inner.load_all()
    }

    fn remove(&self, arn: &str) -> Result<(), StoreError> {
        self.inner.remove(arn)
    }
}

#[tokio::test]
async fn a_later_checkpoint_failure_is_reported_and_the_execution_continues() {
    let store = Arc::new(FlakyStore::default());
    let tokens = Tokens::default();
    let e = Engine::builder(token_keeper(tokens.clone()))
        .store(store.clone())
        .build();
    let sm = e.create_state_machine("m", TOKEN_DEF).unwrap();
    store.failing.store(true, Ordering::SeqCst);
    // The start itself must be durable, so it fails now.
    assert!(e.start_execution(&sm, Some("x"), json!({})).is_err());
    store.failing.store(false, Ordering::SeqCst);
    let arn = e.start_execution(&sm, Some("x"), json!({})).unwrap();
    assert_eq!(e.describe_execution(&arn).unwrap().checkpoint_error, None);
    store.failing.store(true, Ordering::SeqCst);
    let token = wait_for_tokens(&tokens, 1).await.remove(0);
    let d = e.describe_execution(&arn).unwrap();
    assert_eq!(d.status, ExecutionStatus::Running);
    let msg = d.checkpoint_error.expect("the failed write is reported");
    assert!(msg.contains("disk full"), "{msg}");
    // The execution still works in memory; the next good write clears it.
    store.failing.store(false, Ordering::SeqCst);
    e.send_task_success(&token, json!("ok")).unwrap();
    let d = e.wait_for_execution(&arn).await.unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.output, Some(json!({"cb": "ok"})));
    assert_eq!(d.checkpoint_error, None);
    let saved: Vec<Value> = store
        .load_all()
        .unwrap()
        .into_iter()
        .map(|s| json!(s.record.status))
        .collect();
    assert_eq!(saved, vec![json!("SUCCEEDED")]);
}
