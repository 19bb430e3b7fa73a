#![allow(dead_code)]
use asl::{
    BoxFuture, Engine, EventType, ExecutionDescription, TaskCall, TaskError, TaskHandler,
    TokioClock,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::sync::Arc;

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
