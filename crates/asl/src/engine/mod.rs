//! The execution engine: state machines, executions, task tokens,
//! checkpointing and the state interpreter itself.
//!
//! * `api`: the public [`Engine`] methods for state machines and executions;
//! * `callbacks`: task tokens (`send_task_*`) and their registry;
//! * `resume`: restarting executions from the store;
//! * `context`: the per-execution handle (history, checkpoints, finishing);
//! * `run`: the run loop and the simple states; `retry`, `task`, `timers`,
//!   `parallel`, `map`: the states that do work; `io`: input/output paths.

use crate::clock::Clock;
use crate::definition::StateMachine;
use crate::store::{Checkpoint, ExecutionStatus, ExecutionStore};
use crate::task::TaskHandler;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

mod api;
mod callbacks;
mod context;
mod io;
mod map;
mod parallel;
mod persist;
mod resume;
mod retry;
mod run;
mod task;
mod timers;

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock must not take the whole engine down.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Public view of an execution (like AWS `DescribeExecution`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionDescription {
    /// Execution ARN.
    pub execution_arn: String,
    /// State machine ARN.
    pub state_machine_arn: String,
    /// Execution name.
    pub name: String,
    /// Status.
    pub status: ExecutionStatus,
    /// Input.
    pub input: Value,
    /// Output (SUCCEEDED only).
    pub output: Option<Value>,
    /// Error name (FAILED, TIMED_OUT, ABORTED).
    pub error: Option<String>,
    /// Cause (FAILED, TIMED_OUT, ABORTED).
    pub cause: Option<String>,
    /// Start time.
    pub start_date: DateTime<Utc>,
    /// Stop time.
    pub stop_date: Option<DateTime<Utc>>,
    /// Set while the execution's latest progress is not in the store: the
    /// last checkpoint write failed (the message says why) and none has
    /// succeeded since. The execution keeps running in memory, but a crash
    /// now would resume it from an older checkpoint.
    pub checkpoint_error: Option<String>,
}

/// Public view of a state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineDescription {
    /// ARN.
    pub state_machine_arn: String,
    /// Name.
    pub name: String,
    /// Definition text.
    pub definition: String,
    /// Creation time.
    pub creation_date: DateTime<Utc>,
}

struct MachineEntry {
    arn: String,
    name: String,
    definition: String,
    /// Content hash under which the store keeps the definition.
    definition_id: String,
    machine: Arc<StateMachine>,
    created: DateTime<Utc>,
}

enum TokenMsg {
    Success(Value),
    Failure(String, String),
    Heartbeat,
}

struct TokenSlot {
    tx: mpsc::UnboundedSender<TokenMsg>,
    /// Receiver kept here between `resume` and the moment the resumed task
    /// state picks it up, so that callbacks are accepted right away.
    pending_rx: Option<mpsc::UnboundedReceiver<TokenMsg>>,
    /// A final callback (success/failure) was delivered already.
    completed: bool,
}

#[derive(Default)]
struct Registry {
    machines: HashMap<String, Arc<MachineEntry>>,
    executions: HashMap<String, Arc<Exec>>,
    tokens: HashMap<String, TokenSlot>,
    done_tokens: HashSet<String>,
}

struct ExecRecord {
    status: ExecutionStatus,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    stop: Option<DateTime<Utc>>,
    /// How many history events the execution has.
    events: u64,
    /// How many of them the store has (the first ones).
    stored_events: u64,
    /// The others, encoded as the store's log lines: the engine keeps no
    /// copy of what the store has.
    tail: Vec<u8>,
    checkpoint: Option<Checkpoint>,
    tokens: Vec<String>,
    /// The last checkpoint write error, cleared by the next successful one.
    store_error: Option<String>,
}

struct Exec {
    arn: String,
    name: String,
    sm_arn: String,
    sm_name: String,
    definition_id: String,
    machine: Arc<StateMachine>,
    input: Value,
    start: DateTime<Utc>,
    rec: Mutex<ExecRecord>,
    done: watch::Sender<bool>,
    abort: Mutex<Option<tokio::task::AbortHandle>>,
    /// Held while writing to the store, so that writes of one execution
    /// (the run loop and `stop_execution`) reach it in order.
    store_writes: Mutex<()>,
}

struct Inner {
    handler: Arc<dyn TaskHandler>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn ExecutionStore>,
    region: String,
    account: String,
    retention: Duration,
    reg: Mutex<Registry>,
    /// When finished executions were last checked for expiry.
    last_expiry: Mutex<Option<DateTime<Utc>>>,
    /// True while the finished executions of a resumed store are still
    /// only in the store (see [`Engine::resume`]). Held while loading them.
    finished_pending: Mutex<bool>,
}

/// Builder for [`Engine`].
pub struct EngineBuilder {
    handler: Arc<dyn TaskHandler>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn ExecutionStore>,
    region: String,
    account: String,
    retention: Duration,
}

/// How long finished executions are kept by default: 90 days, as in AWS.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

impl EngineBuilder {
    /// Sets the clock (default: [`RealClock`](crate::RealClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the checkpoint store (default: [`MemoryStore`](crate::MemoryStore)).
    pub fn store(mut self, store: Arc<dyn ExecutionStore>) -> Self {
        self.store = store;
        self
    }

    /// Sets the region used in ARNs (default `local`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Sets the account id used in ARNs (default `000000000000`).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// Sets how long finished executions stay queryable (and stored) after
    /// they stop (default [`DEFAULT_RETENTION`], 90 days).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Builds the engine.
    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                handler: self.handler,
                clock: self.clock,
                store: self.store,
                region: self.region,
                account: self.account,
                retention: self.retention,
                reg: Mutex::new(Registry::default()),
                last_expiry: Mutex::new(None),
                finished_pending: Mutex::new(false),
            }),
        }
    }
}

/// An ASL interpreter hosting state machines and their executions.
///
/// Cheap to clone (shared state). Executions run as Tokio tasks, so the
/// methods that start executions must be called inside a Tokio runtime.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 80
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

fn describe(e: &Exec) -> ExecutionDescription {
    let r = lock(&e.rec);
    ExecutionDescription {
        execution_arn: e.arn.clone(),
        state_machine_arn: e.sm_arn.clone(),
        name: e.name.clone(),
        status: r.status,
        input: e.input.clone(),
        output: r.output.clone(),
        error: r.error.clone(),
        cause: r.cause.clone(),
        start_date: e.start,
        stop_date: r.stop,
        checkpoint_error: r.store_error.clone(),
    }
}
