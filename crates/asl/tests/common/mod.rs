#![allow(dead_code)]
use asl::{
    BoxFuture, Engine, EventType, ExecutionDescription, TaskCall, TaskError, TaskHandler,
    TokioClock,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

pub fn handler<F>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(&TaskCall) -> Result<Value, TaskError> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    Arc::new(
        move |call: TaskCall| -> BoxFuture<'static, Result<Value, TaskError>> {
            let r = f(&call);
            Box::pin(async move { r })
        },
    )
}

pub fn echo() -> Arc<dyn TaskHandler> {
    Arc::new(asl::EchoHandler)
}

pub fn engine(h: Arc<dyn TaskHandler>) -> Engine {
    Engine::builder(h)
        .clock(Arc::new(TokioClock::starting_at(t0())))
        .build()
}

pub async fn run_with(engine: &Engine, def: &str, input: Value) -> ExecutionDescription {
    let sm = engine
        .create_state_machine(&format!("sm-{}", uuid::Uuid::new_v4()), def)
        .unwrap();
    let arn = engine.start_execution(&sm, None, input).unwrap();
    engine.wait_for_execution(&arn).await.unwrap()
}

pub async fn run(def: &str, input: Value, h: Arc<dyn TaskHandler>) -> ExecutionDescription {
    run_with(&engine(h), def, input).await
}

pub fn event_types(engine: &Engine, arn: &str) -> Vec<EventType> {
    engine
        .get_execution_history(arn)
        .unwrap()
        .iter()
        .map(|e| e.event_type)
        .collect()
}

/// Task tokens a [`token_keeper`] has been handed, in order.
pub type Tokens = Arc<Mutex<Vec<String>>>;

/// A handler that accepts every token task and records its token.
pub fn token_keeper(tokens: Tokens) -> Arc<dyn TaskHandler> {
    handler(move |call| {
        tokens
            .lock()
            .unwrap()
            .push(call.task_token.clone().unwrap_or_default());
        Ok(json!({"accepted": true}))
    })
}

/// The first `n` tokens issued, once there are that many and the engine has had a moment to
/// checkpoint their submission.
pub async fn wait_for_tokens(tokens: &Tokens, n: usize) -> Vec<String> {
    for _ in 0..1000 {
        let t = tokens.lock().unwrap().clone();
        if t.len() >= n {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return t;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("fewer than {n} task tokens issued");
}

/// A current-thread runtime for tests that start and drop engines by hand (resume).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}
