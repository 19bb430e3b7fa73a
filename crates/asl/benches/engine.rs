//! Engine throughput: `cargo bench -p asl` (plain program, no harness).
//!
//! Runs, with the memory store and with the file store:
//! * the Pass + Choice loop of `loop.asl.json` at 1,000, 10,000 and 100,000
//!   iterations (cost per transition must stay flat as the history grows);
//! * a Map over 10,000 items;
//! * 100 executions of a 1,000-iteration loop started at once.
//!
//! A transition is one state entered (each loop iteration enters two).

use asl::{Engine, ExecutionStatus, ExecutionStore, FileStore, MemoryStore, RealClock};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOOP_DEF: &str = include_str!("loop.asl.json");

const MAP_DEF: &str = include_str!("map.asl.json");

fn engine(store: Arc<dyn ExecutionStore>) -> Engine {
    Engine::builder(Arc::new(asl::EchoHandler))
        .clock(Arc::new(RealClock::new()))
        .store(store)
        .build()
}

/// Runs one execution to its end; returns the time and the number of
/// states entered.
async fn run_one(e: &Engine, sm: &str, input: Value) -> (Duration, usize) {
    let t = Instant::now();
    let arn = e.start_execution(sm, None, input).expect("start");
    let d = e.wait_for_execution(&arn).await.expect("wait");
    let elapsed = t.elapsed();
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    (elapsed, entered_states(e, &arn))
}

fn entered_states(e: &Engine, arn: &str) -> usize {
    e.get_execution_history(arn)
        .expect("history")
        .iter()
        .filter(|ev| ev.event_type.to_string().ends_with("StateEntered"))
        .count()
}

fn report(what: &str, store: &str, elapsed: Duration, transitions: usize) {
    let secs = elapsed.as_secs_f64();
    println!(
        "{what:<34} {store:<6} {:>10.3} s {:>10} transitions {:>12.0} transitions/s {:>8.2} us/transition",
        secs,
        transitions,
        transitions as f64 / secs,
        secs * 1e6 / transitions as f64
    );
}

async fn bench_loops(store_name: &str, store: Arc<dyn ExecutionStore>) {
    let e = engine(store);
    let sm = e.create_state_machine("loop", LOOP_DEF).expect("loop");
    for n in [1_000u64, 10_000, 100_000] {
        let (t, transitions) = run_one(&e, &sm, json!({"n": n})).await;
        report(
            &format!("Pass+Choice loop x {n}"),
            store_name,
            t,
            transitions,
        );
    }
}

async fn bench_map(store_name: &str, store: Arc<dyn ExecutionStore>) {
    let e = engine(store);
    let sm = e.create_state_machine("map", MAP_DEF).expect("map");
    let items: Vec<Value> = (0..10_000).map(|x| json!({ "x": x })).collect();
    let (t, transitions) = run_one(&e, &sm, json!({ "items": items })).await;
    report("Map over 10000 items", store_name, t, transitions);
}

async fn bench_concurrent(store_name: &str, store: Arc<dyn ExecutionStore>) {
    let e = engine(store);
    let sm = e.create_state_machine("loop", LOOP_DEF).expect("loop");
    let t = Instant::now();
    let arns: Vec<String> = (0..100)
        .map(|_| {
            e.start_execution(&sm, None, json!({"n": 1000}))
                .expect("start")
        })
        .collect();
    let mut transitions = 0;
    for arn in &arns {
        let d = e.wait_for_execution(arn).await.expect("wait");
        assert_eq!(d.status, ExecutionStatus::Succeeded);
    }
    let elapsed = t.elapsed();
    for arn in &arns {
        transitions += entered_states(&e, arn);
    }
    report(
        "100 concurrent loops x 1000",
        store_name,
        elapsed,
        transitions,
    );
}

async fn bench_all(store_name: &str, make: &dyn Fn() -> Arc<dyn ExecutionStore>) {
    bench_loops(store_name, make()).await;
    bench_map(store_name, make()).await;
    bench_concurrent(store_name, make()).await;
}

fn main() {
    // `cargo bench` passes --bench (and filters); nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    rt.block_on(async {
        bench_all("memory", &|| Arc::new(MemoryStore::new())).await;
        // A fresh directory for each store.
        let root = dir.path().to_path_buf();
        bench_all("file", &move || {
            let sub = root.join(uuid::Uuid::new_v4().to_string());
            Arc::new(FileStore::new(sub).expect("file store"))
        })
        .await;
    });
}
