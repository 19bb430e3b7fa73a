//! The execution engine: state machines, executions, task tokens,
//! checkpointing and the state interpreter itself.

use crate::choice;
use crate::clock::{BoxFuture, Clock, RealClock};
use crate::definition::{
    self, Dynamic, IoPath, ResultPath, State, StateKind, StateMachine, StrSource, Transition,
    WaitSpec,
};
use crate::error::{EngineError, StateError, names};
use crate::history::{EventType, HistoryEvent};
use crate::path;
use crate::store::{Checkpoint, ExecutionSnapshot, ExecutionStatus, ExecutionStore, MemoryStore};
use crate::task::{TaskCall, TaskError, TaskHandler};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock must not take the whole engine down.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn ts(t: &DateTime<Utc>) -> String {
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
    history: Vec<HistoryEvent>,
    checkpoint: Option<Checkpoint>,
    tokens: Vec<String>,
}

struct Exec {
    arn: String,
    name: String,
    sm_arn: String,
    sm_name: String,
    definition: String,
    machine: Arc<StateMachine>,
    input: Value,
    start: DateTime<Utc>,
    rec: Mutex<ExecRecord>,
    done: watch::Sender<bool>,
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

struct Inner {
    handler: Arc<dyn TaskHandler>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn ExecutionStore>,
    region: String,
    account: String,
    reg: Mutex<Registry>,
}

/// Builder for [`Engine`].
pub struct EngineBuilder {
    handler: Arc<dyn TaskHandler>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn ExecutionStore>,
    region: String,
    account: String,
}

impl EngineBuilder {
    /// Sets the clock (default: [`RealClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the checkpoint store (default: [`MemoryStore`]).
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

    /// Builds the engine.
    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                handler: self.handler,
                clock: self.clock,
                store: self.store,
                region: self.region,
                account: self.account,
                reg: Mutex::new(Registry::default()),
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

impl Engine {
    /// An engine with a real clock and an in-memory store.
    pub fn new(handler: Arc<dyn TaskHandler>) -> Engine {
        Self::builder(handler).build()
    }

    /// Starts configuring an engine.
    pub fn builder(handler: Arc<dyn TaskHandler>) -> EngineBuilder {
        EngineBuilder {
            handler,
            clock: Arc::new(RealClock::new()),
            store: Arc::new(MemoryStore::new()),
            region: "local".into(),
            account: "000000000000".into(),
        }
    }

    /// The ARN a state machine called `name` gets.
    pub fn state_machine_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.inner.region, self.inner.account
        )
    }

    /// Registers a state machine; the definition is fully validated here.
    /// Creating the same name again with the same definition returns the
    /// existing ARN; with a different one it fails with
    /// [`EngineError::StateMachineAlreadyExists`].
    pub fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
    ) -> Result<String, EngineError> {
        if !valid_name(name) {
            return Err(EngineError::InvalidName(name.to_string()));
        }
        let machine = Arc::new(definition::parse(definition)?);
        let arn = self.state_machine_arn(name);
        let mut reg = lock(&self.inner.reg);
        if let Some(existing) = reg.machines.get(&arn) {
            if existing.definition == definition {
                return Ok(arn);
            }
            return Err(EngineError::StateMachineAlreadyExists(arn));
        }
        reg.machines.insert(
            arn.clone(),
            Arc::new(MachineEntry {
                arn: arn.clone(),
                name: name.to_string(),
                definition: definition.to_string(),
                machine,
                created: self.inner.clock.now(),
            }),
        );
        Ok(arn)
    }

    /// Replaces a state machine's definition (running executions keep the
    /// definition they started with).
    pub fn update_state_machine(&self, arn: &str, definition: &str) -> Result<(), EngineError> {
        let machine = Arc::new(definition::parse(definition)?);
        let mut reg = lock(&self.inner.reg);
        let Some(old) = reg.machines.get(arn).cloned() else {
            return Err(EngineError::StateMachineDoesNotExist(arn.to_string()));
        };
        reg.machines.insert(
            arn.to_string(),
            Arc::new(MachineEntry {
                arn: old.arn.clone(),
                name: old.name.clone(),
                definition: definition.to_string(),
                machine,
                created: old.created,
            }),
        );
        Ok(())
    }

    /// Removes a state machine (its executions stay queryable).
    pub fn delete_state_machine(&self, arn: &str) -> Result<(), EngineError> {
        lock(&self.inner.reg)
            .machines
            .remove(arn)
            .map(|_| ())
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(arn.to_string()))
    }

    /// Describes a state machine.
    pub fn describe_state_machine(
        &self,
        arn: &str,
    ) -> Result<StateMachineDescription, EngineError> {
        let reg = lock(&self.inner.reg);
        let m = reg
            .machines
            .get(arn)
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(arn.to_string()))?;
        Ok(StateMachineDescription {
            state_machine_arn: m.arn.clone(),
            name: m.name.clone(),
            definition: m.definition.clone(),
            creation_date: m.created,
        })
    }

    /// Lists state machines, sorted by name.
    pub fn list_state_machines(&self) -> Vec<StateMachineDescription> {
        let reg = lock(&self.inner.reg);
        let mut v: Vec<_> = reg
            .machines
            .values()
            .map(|m| StateMachineDescription {
                state_machine_arn: m.arn.clone(),
                name: m.name.clone(),
                definition: m.definition.clone(),
                creation_date: m.created,
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Starts an execution and returns its ARN. `name` defaults to a UUID;
    /// a name already used for this state machine (running or finished) is
    /// refused with [`EngineError::ExecutionAlreadyExists`].
    pub fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Value,
    ) -> Result<String, EngineError> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|e| EngineError::NoRuntime(e.to_string()))?;
        let name = match name {
            Some(n) => n.to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        if !valid_name(&name) {
            return Err(EngineError::InvalidName(name));
        }
        let exec = {
            let mut reg = lock(&self.inner.reg);
            let sm = reg
                .machines
                .get(state_machine_arn)
                .cloned()
                .ok_or_else(|| EngineError::StateMachineDoesNotExist(state_machine_arn.into()))?;
            let arn = format!(
                "arn:aws:states:{}:{}:execution:{}:{name}",
                self.inner.region, self.inner.account, sm.name
            );
            if reg.executions.contains_key(&arn) {
                return Err(EngineError::ExecutionAlreadyExists(arn));
            }
            let start = self.inner.clock.now();
            let exec = Arc::new(Exec {
                arn: arn.clone(),
                name,
                sm_arn: sm.arn.clone(),
                sm_name: sm.name.clone(),
                definition: sm.definition.clone(),
                machine: sm.machine.clone(),
                input: input.clone(),
                start,
                rec: Mutex::new(ExecRecord {
                    status: ExecutionStatus::Running,
                    output: None,
                    error: None,
                    cause: None,
                    stop: None,
                    history: vec![HistoryEvent {
                        id: 1,
                        previous_event_id: 0,
                        timestamp: start,
                        event_type: EventType::ExecutionStarted,
                        details: json!({"input": input, "stateMachineArn": sm.arn}),
                    }],
                    checkpoint: None,
                    tokens: Vec::new(),
                }),
                done: watch::channel(false).0,
                abort: Mutex::new(None),
            });
            reg.executions.insert(arn, exec.clone());
            exec
        };
        let ctx = Ctx {
            inner: self.inner.clone(),
            exec: exec.clone(),
        };
        ctx.save();
        let handle = rt.spawn(run_execution(ctx, None));
        *lock(&exec.abort) = Some(handle.abort_handle());
        Ok(exec.arn.clone())
    }

    fn exec(&self, arn: &str) -> Result<Arc<Exec>, EngineError> {
        lock(&self.inner.reg)
            .executions
            .get(arn)
            .cloned()
            .ok_or_else(|| EngineError::ExecutionDoesNotExist(arn.to_string()))
    }

    /// Describes an execution.
    pub fn describe_execution(&self, arn: &str) -> Result<ExecutionDescription, EngineError> {
        let e = self.exec(arn)?;
        Ok(describe(&e))
    }

    /// Waits until the execution is no longer RUNNING and describes it.
    pub async fn wait_for_execution(&self, arn: &str) -> Result<ExecutionDescription, EngineError> {
        let exec = self.exec(arn)?;
        let mut rx = exec.done.subscribe();
        loop {
            if *rx.borrow_and_update() || lock(&exec.rec).status != ExecutionStatus::Running {
                break;
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
        Ok(describe(&exec))
    }

    /// Lists a state machine's executions, newest first, optionally only
    /// those with a given status.
    pub fn list_executions(
        &self,
        state_machine_arn: &str,
        status_filter: Option<ExecutionStatus>,
    ) -> Result<Vec<ExecutionDescription>, EngineError> {
        let reg = lock(&self.inner.reg);
        let mut out: Vec<ExecutionDescription> = reg
            .executions
            .values()
            .filter(|e| e.sm_arn == state_machine_arn)
            .map(|e| describe(e))
            .filter(|d| status_filter.is_none_or(|s| d.status == s))
            .collect();
        if out.is_empty() && !reg.machines.contains_key(state_machine_arn) {
            return Err(EngineError::StateMachineDoesNotExist(
                state_machine_arn.to_string(),
            ));
        }
        out.sort_by(|a, b| b.start_date.cmp(&a.start_date).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Stops a running execution (status ABORTED). Stopping an execution
    /// that already finished does nothing.
    pub fn stop_execution(
        &self,
        arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), EngineError> {
        let exec = self.exec(arn)?;
        let ctx = Ctx {
            inner: self.inner.clone(),
            exec: exec.clone(),
        };
        let stopped = ctx.finish(
            ExecutionStatus::Aborted,
            None,
            error.map(str::to_string),
            cause.map(str::to_string),
        );
        if stopped && let Some(h) = lock(&exec.abort).take() {
            h.abort();
        }
        Ok(())
    }

    /// The execution's history events, oldest first.
    pub fn get_execution_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, EngineError> {
        Ok(lock(&self.exec(arn)?.rec).history.clone())
    }

    fn token_send(&self, token: &str, msg: TokenMsg, finish: bool) -> Result<(), EngineError> {
        let mut reg = lock(&self.inner.reg);
        let Some(slot) = reg.tokens.get_mut(token) else {
            return Err(if reg.done_tokens.contains(token) {
                EngineError::TaskDoesNotExist(token.to_string())
            } else {
                EngineError::InvalidToken(token.to_string())
            });
        };
        if slot.completed {
            return Err(EngineError::TaskDoesNotExist(token.to_string()));
        }
        // The receiver may already be gone (task aborted): treat as done.
        let sent = slot.tx.send(msg).is_ok();
        if sent && finish && slot.pending_rx.is_some() {
            // Resumed task not waiting yet: keep the slot (and the queued
            // message) for it, but accept no further callbacks.
            slot.completed = true;
        } else if finish || !sent {
            reg.tokens.remove(token);
            reg.done_tokens.insert(token.to_string());
        }
        if sent {
            Ok(())
        } else {
            Err(EngineError::TaskDoesNotExist(token.to_string()))
        }
    }

    /// Completes a `.waitForTaskToken` task with `output` as its result.
    pub fn send_task_success(&self, task_token: &str, output: Value) -> Result<(), EngineError> {
        self.token_send(task_token, TokenMsg::Success(output), true)
    }

    /// Fails a `.waitForTaskToken` task (default error `States.TaskFailed`).
    pub fn send_task_failure(
        &self,
        task_token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), EngineError> {
        self.token_send(
            task_token,
            TokenMsg::Failure(
                error.unwrap_or(names::TASK_FAILED).to_string(),
                cause.unwrap_or("").to_string(),
            ),
            true,
        )
    }

    /// Records a heartbeat: restarts the task's `HeartbeatSeconds` timer.
    pub fn send_task_heartbeat(&self, task_token: &str) -> Result<(), EngineError> {
        self.token_send(task_token, TokenMsg::Heartbeat, false)
    }

    /// Loads every snapshot from the store: finished executions become
    /// queryable again and RUNNING ones are restarted by re-entering their
    /// current top-level state (so a Task in it may run again: at-least-once
    /// semantics, as in AWS; a Map or Parallel state restarts as a whole).
    /// A `.waitForTaskToken` task keeps its token, so callbacks sent after
    /// the restart still work. Executions already known are skipped.
    /// Returns the number of executions restarted.
    pub fn resume(&self) -> Result<usize, EngineError> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|e| EngineError::NoRuntime(e.to_string()))?;
        let snapshots = self.inner.store.load_all()?;
        let mut restarted = 0;
        for s in snapshots {
            let machine = Arc::new(definition::parse(&s.definition)?);
            let exec = {
                let mut reg = lock(&self.inner.reg);
                if reg.executions.contains_key(&s.execution_arn) {
                    continue;
                }
                reg.machines
                    .entry(s.state_machine_arn.clone())
                    .or_insert_with(|| {
                        Arc::new(MachineEntry {
                            arn: s.state_machine_arn.clone(),
                            name: s.state_machine_name.clone(),
                            definition: s.definition.clone(),
                            machine: machine.clone(),
                            created: s.start_date,
                        })
                    });
                let running = s.status == ExecutionStatus::Running;
                let exec = Arc::new(Exec {
                    arn: s.execution_arn.clone(),
                    name: s.name.clone(),
                    sm_arn: s.state_machine_arn.clone(),
                    sm_name: s.state_machine_name.clone(),
                    definition: s.definition.clone(),
                    machine,
                    input: s.input.clone(),
                    start: s.start_date,
                    rec: Mutex::new(ExecRecord {
                        status: s.status,
                        output: s.output.clone(),
                        error: s.error.clone(),
                        cause: s.cause.clone(),
                        stop: s.stop_date,
                        history: s.history.clone(),
                        checkpoint: s.checkpoint.clone(),
                        tokens: if running {
                            s.task_tokens.clone()
                        } else {
                            Vec::new()
                        },
                    }),
                    done: watch::channel(!running).0,
                    abort: Mutex::new(None),
                });
                reg.executions.insert(s.execution_arn.clone(), exec.clone());
                if !running {
                    continue;
                }
                // Accept callbacks for the checkpointed token right away.
                if let Some(tok) = s.checkpoint.as_ref().and_then(|c| c.task_token.clone()) {
                    let (tx, rx) = mpsc::unbounded_channel();
                    reg.done_tokens.remove(&tok);
                    reg.tokens.insert(
                        tok,
                        TokenSlot {
                            tx,
                            pending_rx: Some(rx),
                            completed: false,
                        },
                    );
                }
                exec
            };
            let ctx = Ctx {
                inner: self.inner.clone(),
                exec: exec.clone(),
            };
            let handle = rt.spawn(run_execution(ctx, s.checkpoint.clone()));
            *lock(&exec.abort) = Some(handle.abort_handle());
            restarted += 1;
        }
        Ok(restarted)
    }
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
    }
}

/// Per-execution handle passed through the interpreter.
#[derive(Clone)]
struct Ctx {
    inner: Arc<Inner>,
    exec: Arc<Exec>,
}

/// Removes a task token from the registry however the task ends
/// (success, failure, timeout, or the task being aborted).
struct TokenGuard {
    ctx: Ctx,
    token: String,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        {
            let mut reg = lock(&self.ctx.inner.reg);
            reg.tokens.remove(&self.token);
            reg.done_tokens.insert(self.token.clone());
        }
        lock(&self.ctx.exec.rec).tokens.retain(|t| t != &self.token);
    }
}

impl Ctx {
    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.inner.clock.sleep(d)
    }

    /// Appends a history event (ignored once the execution has finished,
    /// e.g. a branch still unwinding after `stop_execution`).
    fn event(&self, event_type: EventType, details: Value) {
        let now = self.now();
        let mut r = lock(&self.exec.rec);
        if r.status != ExecutionStatus::Running {
            return;
        }
        let id = r.history.len() as u64 + 1;
        r.history.push(HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp: now,
            event_type,
            details,
        });
    }

    fn snapshot(&self) -> ExecutionSnapshot {
        let e = &self.exec;
        let r = lock(&e.rec);
        ExecutionSnapshot {
            execution_arn: e.arn.clone(),
            name: e.name.clone(),
            state_machine_arn: e.sm_arn.clone(),
            state_machine_name: e.sm_name.clone(),
            definition: e.definition.clone(),
            status: r.status,
            input: e.input.clone(),
            output: r.output.clone(),
            error: r.error.clone(),
            cause: r.cause.clone(),
            start_date: e.start,
            stop_date: r.stop,
            checkpoint: r.checkpoint.clone(),
            task_tokens: r.tokens.clone(),
            history: r.history.clone(),
        }
    }

    /// Persists the execution. A store failure cannot be reported to anyone
    /// at this point; the execution carries on (the next save may succeed).
    fn save(&self) {
        let snap = self.snapshot();
        let _ = self.inner.store.save(&snap);
    }

    fn checkpoint(&self, cp: Checkpoint) {
        {
            let mut r = lock(&self.exec.rec);
            if r.status != ExecutionStatus::Running {
                return;
            }
            r.checkpoint = Some(cp);
        }
        self.save();
    }

    /// Moves the execution to a final status; false if it already was final.
    fn finish(
        &self,
        status: ExecutionStatus,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
    ) -> bool {
        let now = self.now();
        let tokens = {
            let mut r = lock(&self.exec.rec);
            if r.status != ExecutionStatus::Running {
                return false;
            }
            r.status = status;
            r.stop = Some(now);
            r.checkpoint = None;
            let (ty, details) = match status {
                ExecutionStatus::Succeeded => (
                    EventType::ExecutionSucceeded,
                    json!({"output": output.clone().unwrap_or(Value::Null)}),
                ),
                ExecutionStatus::TimedOut => (
                    EventType::ExecutionTimedOut,
                    json!({"error": error, "cause": cause}),
                ),
                ExecutionStatus::Aborted => (
                    EventType::ExecutionAborted,
                    json!({"error": error, "cause": cause}),
                ),
                _ => (
                    EventType::ExecutionFailed,
                    json!({"error": error, "cause": cause}),
                ),
            };
            r.output = output;
            r.error = error;
            r.cause = cause;
            let id = r.history.len() as u64 + 1;
            r.history.push(HistoryEvent {
                id,
                previous_event_id: id - 1,
                timestamp: now,
                event_type: ty,
                details,
            });
            std::mem::take(&mut r.tokens)
        };
        {
            let mut reg = lock(&self.inner.reg);
            for t in tokens {
                reg.tokens.remove(&t);
                reg.done_tokens.insert(t);
            }
        }
        self.save();
        self.exec.done.send_replace(true);
        true
    }

    /// The context object (`$$`) for a state.
    fn context_object(
        &self,
        state: &str,
        entered: &DateTime<Utc>,
        retry_count: u32,
        token: Option<&str>,
    ) -> Value {
        let e = &self.exec;
        let mut c = json!({
            "Execution": {
                "Id": e.arn,
                "Name": e.name,
                "Input": e.input,
                "StartTime": ts(&e.start),
                "RoleArn": format!("arn:aws:iam::{}:role/asl-local", self.inner.account),
            },
            "State": {
                "EnteredTime": ts(entered),
                "Name": state,
                "RetryCount": retry_count,
            },
            "StateMachine": {"Id": e.sm_arn, "Name": e.sm_name},
        });
        if let (Some(t), Value::Object(m)) = (token, &mut c) {
            m.insert("Task".into(), json!({"Token": t}));
        }
        c
    }
}

async fn run_execution(ctx: Ctx, resume: Option<Checkpoint>) {
    let machine = ctx.exec.machine.clone();
    let input = ctx.exec.input.clone();
    let run = run_machine(ctx.clone(), machine.clone(), input, true, resume);
    let result = match machine.timeout_seconds {
        Some(t) => {
            // Measured from the execution start, also across a resume.
            let elapsed = (ctx.now() - ctx.exec.start).to_std().unwrap_or_default();
            let remaining = Duration::from_secs(t).saturating_sub(elapsed);
            tokio::select! {
                r = run => Some(r),
                _ = ctx.sleep(remaining) => None,
            }
        }
        None => Some(run.await),
    };
    match result {
        Some(Ok(out)) => ctx.finish(ExecutionStatus::Succeeded, Some(out), None, None),
        Some(Err(e)) => ctx.finish(ExecutionStatus::Failed, None, Some(e.error), Some(e.cause)),
        None => ctx.finish(
            ExecutionStatus::TimedOut,
            None,
            Some(names::TIMEOUT.to_string()),
            Some("The execution exceeded the state machine's TimeoutSeconds".to_string()),
        ),
    };
}

enum Outcome {
    Next(String, Value),
    End(Value),
}

/// Runs a (sub-)machine from its start (or a checkpoint) to the end.
fn run_machine(
    ctx: Ctx,
    machine: Arc<StateMachine>,
    input: Value,
    top: bool,
    resume: Option<Checkpoint>,
) -> BoxFuture<'static, Result<Value, StateError>> {
    Box::pin(async move {
        let (mut current, mut input, mut resume) = match resume {
            Some(cp) => (cp.state_name.clone(), cp.input.clone(), Some(cp)),
            None => (machine.start_at.clone(), input, None),
        };
        loop {
            let Some(state) = machine.states.get(&current) else {
                return Err(StateError::runtime(format!("unknown state '{current}'")));
            };
            let r = resume.take();
            if top && r.is_none() {
                ctx.checkpoint(Checkpoint {
                    state_name: current.clone(),
                    input: input.clone(),
                    retry_counts: vec![0; state.retry.len()],
                    task_token: None,
                    token_submitted: false,
                });
            }
            match run_state(&ctx, state, input, top, r).await? {
                Outcome::Next(n, out) => {
                    current = n;
                    input = out;
                }
                Outcome::End(out) => return Ok(out),
            }
        }
    })
}

fn input_path(p: &IoPath, input: &Value, sctx: &Value) -> Result<Value, StateError> {
    select_io(p, input, sctx, "InputPath")
}

fn output_path(p: &IoPath, output: &Value, sctx: &Value) -> Result<Value, StateError> {
    select_io(p, output, sctx, "OutputPath")
}

fn select_io(p: &IoPath, v: &Value, sctx: &Value, what: &str) -> Result<Value, StateError> {
    match p {
        IoPath::Whole => Ok(v.clone()),
        IoPath::Null => Ok(json!({})),
        IoPath::Path(p) => p.select(v, sctx).ok_or_else(|| {
            StateError::runtime(format!(
                "Invalid path '{}' in {what}: the path selects nothing in {v}",
                p.as_str()
            ))
        }),
    }
}

fn result_path(rp: &ResultPath, raw_input: Value, result: Value) -> Result<Value, StateError> {
    match rp {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw_input),
        ResultPath::Path(p) => match p.segments() {
            Some(segs) => path::write_at(raw_input, segs, result).map_err(|e| {
                StateError::new(
                    names::RESULT_PATH_MATCH_FAILURE,
                    format!("Unable to apply ResultPath '{}': {e}", p.as_str()),
                )
            }),
            None => Err(StateError::runtime("ResultPath is not a reference path")),
        },
    }
}

/// Does an `ErrorEquals` list match an error name?
pub(crate) fn error_matches(list: &[String], error: &str) -> bool {
    if error == names::RUNTIME {
        // States.Runtime is terminal: never retried, never caught.
        return false;
    }
    list.iter().any(|n| {
        n == error
            || n == names::ALL
            || (n == names::TASK_FAILED
                && error != names::TIMEOUT
                && error != names::HEARTBEAT_TIMEOUT)
            || (n == names::TIMEOUT && error == names::HEARTBEAT_TIMEOUT)
    })
}

fn resolve_seconds(
    d: &Dynamic,
    input: &Value,
    sctx: &Value,
    what: &str,
) -> Result<u64, StateError> {
    match d {
        Dynamic::Fixed(n) => Ok(*n),
        Dynamic::Path(p) => {
            let v = p.select(input, sctx).ok_or_else(|| {
                StateError::runtime(format!("{what} path '{}' selects nothing", p.as_str()))
            })?;
            v.as_u64().ok_or_else(|| {
                StateError::runtime(format!(
                    "{what} path '{}' must select a non-negative integer, got {v}",
                    p.as_str()
                ))
            })
        }
    }
}

fn exited(ctx: &Ctx, state: &State, output: &Value) {
    if let Some(t) = EventType::exited(state.kind.type_name()) {
        ctx.event(t, json!({"name": state.name, "output": output}));
    }
}

fn transition(state: &State, output: Value) -> Outcome {
    match &state.transition {
        Some(Transition::Next(n)) => Outcome::Next(n.clone(), output),
        _ => Outcome::End(output),
    }
}

async fn run_state(
    ctx: &Ctx,
    state: &State,
    raw: Value,
    top: bool,
    resume: Option<Checkpoint>,
) -> Result<Outcome, StateError> {
    let ty = state.kind.type_name();
    ctx.event(
        EventType::entered(ty),
        json!({"name": state.name, "input": raw}),
    );
    let entered = ctx.now();
    match &state.kind {
        StateKind::Pass { result } => {
            let sctx = ctx.context_object(&state.name, &entered, 0, None);
            let eff = input_path(&state.input_path, &raw, &sctx)?;
            let eff = match &state.parameters {
                Some(t) => t.evaluate(&eff, &sctx)?,
                None => eff,
            };
            let res = result.clone().unwrap_or(eff);
            let out = result_path(&state.result_path, raw, res)?;
            let out = output_path(&state.output_path, &out, &sctx)?;
            exited(ctx, state, &out);
            Ok(transition(state, out))
        }
        StateKind::Choice { choices, default } => {
            let sctx = ctx.context_object(&state.name, &entered, 0, None);
            let eff = input_path(&state.input_path, &raw, &sctx)?;
            let mut next = None;
            for c in choices {
                if choice::evaluate(&c.rule, &eff, &sctx)? {
                    next = Some(c.next.clone());
                    break;
                }
            }
            let Some(next) = next.or_else(|| default.clone()) else {
                return Err(StateError::new(
                    names::NO_CHOICE_MATCHED,
                    format!(
                        "No Choice Rule matched and no Default in state '{}'",
                        state.name
                    ),
                ));
            };
            let out = output_path(&state.output_path, &eff, &sctx)?;
            exited(ctx, state, &out);
            Ok(Outcome::Next(next, out))
        }
        StateKind::Wait(spec) => {
            let sctx = ctx.context_object(&state.name, &entered, 0, None);
            let eff = input_path(&state.input_path, &raw, &sctx)?;
            let dur = match spec {
                WaitSpec::Seconds(s) => Duration::from_secs(*s),
                WaitSpec::SecondsPath(p) => Duration::from_secs(resolve_seconds(
                    &Dynamic::Path(p.clone()),
                    &eff,
                    &sctx,
                    "SecondsPath",
                )?),
                WaitSpec::Timestamp(t) => until(ctx, t.with_timezone(&Utc)),
                WaitSpec::TimestampPath(p) => {
                    let v = p.select(&eff, &sctx).ok_or_else(|| {
                        StateError::runtime(format!(
                            "TimestampPath '{}' selects nothing",
                            p.as_str()
                        ))
                    })?;
                    let t = v
                        .as_str()
                        .and_then(choice::parse_timestamp)
                        .ok_or_else(|| {
                            StateError::runtime(format!(
                                "TimestampPath '{}' must select an RFC 3339 timestamp, got {v}",
                                p.as_str()
                            ))
                        })?;
                    until(ctx, t.with_timezone(&Utc))
                }
            };
            if !dur.is_zero() {
                ctx.sleep(dur).await;
            }
            let out = output_path(&state.output_path, &eff, &sctx)?;
            exited(ctx, state, &out);
            Ok(transition(state, out))
        }
        StateKind::Succeed => {
            let sctx = ctx.context_object(&state.name, &entered, 0, None);
            let eff = input_path(&state.input_path, &raw, &sctx)?;
            let out = output_path(&state.output_path, &eff, &sctx)?;
            exited(ctx, state, &out);
            Ok(Outcome::End(out))
        }
        StateKind::Fail { error, cause } => {
            let sctx = ctx.context_object(&state.name, &entered, 0, None);
            let get = |s: &Option<StrSource>, what: &str| -> Result<String, StateError> {
                match s {
                    None => Ok(String::new()),
                    Some(StrSource::Fixed(s)) => Ok(s.clone()),
                    Some(StrSource::Path(p)) => match p.select(&raw, &sctx) {
                        Some(Value::String(s)) => Ok(s),
                        other => Err(StateError::runtime(format!(
                            "{what} '{}' must select a string, got {}",
                            p.as_str(),
                            other.map_or("nothing".to_string(), |v| v.to_string())
                        ))),
                    },
                }
            };
            let e = StateError::new(get(error, "ErrorPath")?, get(cause, "CausePath")?);
            Err(e)
        }
        StateKind::Task { .. } | StateKind::Parallel { .. } | StateKind::Map { .. } => {
            run_with_retry(ctx, state, raw, entered, top, resume).await
        }
    }
}

fn until(ctx: &Ctx, t: DateTime<Utc>) -> Duration {
    (t - ctx.now()).to_std().unwrap_or(Duration::ZERO)
}

/// Runs a Task/Parallel/Map state applying its Retry and Catch rules.
async fn run_with_retry(
    ctx: &Ctx,
    state: &State,
    raw: Value,
    entered: DateTime<Utc>,
    top: bool,
    resume: Option<Checkpoint>,
) -> Result<Outcome, StateError> {
    let mut counts = resume
        .as_ref()
        .map(|c| c.retry_counts.clone())
        .filter(|c| c.len() == state.retry.len())
        .unwrap_or_else(|| vec![0; state.retry.len()]);
    let mut resume_token = resume
        .as_ref()
        .and_then(|c| c.task_token.clone().map(|t| (t, c.token_submitted)));
    loop {
        let retry_count: u32 = counts.iter().sum();
        let attempt = match &state.kind {
            StateKind::Task { .. } => {
                let tok = resume_token.take();
                run_task(ctx, state, &raw, &entered, retry_count, tok, top, &counts).await
            }
            StateKind::Parallel { .. } => {
                run_parallel(ctx, state, &raw, &entered, retry_count).await
            }
            _ => run_map(ctx, state, &raw, &entered, retry_count).await,
        };
        let err = match attempt {
            Ok(out) => {
                exited(ctx, state, &out);
                return Ok(transition(state, out));
            }
            Err(e) => e,
        };
        if err.error == names::RUNTIME {
            return Err(err);
        }
        // The first retrier whose ErrorEquals matches decides; if it is
        // exhausted we go on to Catch (later retriers are not consulted).
        if let Some(i) = state
            .retry
            .iter()
            .position(|r| error_matches(&r.error_equals, &err.error))
        {
            let r = &state.retry[i];
            if counts[i] < r.max_attempts {
                let mut delay = r.delay_seconds(counts[i]);
                if r.full_jitter {
                    use rand::RngExt;
                    delay = rand::rng().random_range(0.0..=delay);
                }
                counts[i] += 1;
                if top {
                    ctx.checkpoint(Checkpoint {
                        state_name: state.name.clone(),
                        input: raw.clone(),
                        retry_counts: counts.clone(),
                        task_token: None,
                        token_submitted: false,
                    });
                }
                ctx.sleep(Duration::from_secs_f64(delay.max(0.0))).await;
                continue;
            }
        }
        if let Some(c) = state
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &err.error))
        {
            let out = result_path(&c.result_path, raw, err.to_json())?;
            exited(ctx, state, &out);
            return Ok(Outcome::Next(c.next.clone(), out));
        }
        return Err(err);
    }
}

/// Applies ResultSelector, ResultPath and OutputPath to a state result.
fn finish_result(
    state: &State,
    raw: Value,
    result: Value,
    sctx: &Value,
) -> Result<Value, StateError> {
    let result = match &state.result_selector {
        Some(t) => t.evaluate(&result, sctx)?,
        None => result,
    };
    let out = result_path(&state.result_path, raw, result)?;
    output_path(&state.output_path, &out, sctx)
}

#[allow(clippy::too_many_arguments)]
async fn run_task(
    ctx: &Ctx,
    state: &State,
    raw: &Value,
    entered: &DateTime<Utc>,
    retry_count: u32,
    resume_token: Option<(String, bool)>,
    top: bool,
    counts: &[u32],
) -> Result<Value, StateError> {
    let StateKind::Task {
        resource,
        timeout,
        heartbeat,
    } = &state.kind
    else {
        return Err(StateError::runtime("not a Task state"));
    };
    let is_token = resource.ends_with(".waitForTaskToken");
    let (token, already_submitted) = match (is_token, resume_token) {
        (false, _) => (None, false),
        (true, Some((t, s))) => (Some(t), s),
        (true, None) => (Some(uuid::Uuid::new_v4().to_string()), false),
    };
    let sctx = ctx.context_object(&state.name, entered, retry_count, token.as_deref());
    let eff = input_path(&state.input_path, raw, &sctx)?;
    let params = match &state.parameters {
        Some(t) => t.evaluate(&eff, &sctx)?,
        None => eff.clone(),
    };
    let timeout = timeout
        .as_ref()
        .map(|d| resolve_seconds(d, &eff, &sctx, "TimeoutSecondsPath"))
        .transpose()?;
    let heartbeat = heartbeat
        .as_ref()
        .map(|d| resolve_seconds(d, &eff, &sctx, "HeartbeatSecondsPath"))
        .transpose()?;
    ctx.event(
        EventType::TaskScheduled,
        json!({
            "name": state.name,
            "resource": resource,
            "parameters": params,
            "timeoutInSeconds": timeout,
            "heartbeatInSeconds": heartbeat,
        }),
    );
    ctx.event(
        EventType::TaskStarted,
        json!({"name": state.name, "resource": resource}),
    );
    let call = TaskCall {
        resource: resource.clone(),
        input: params,
        task_token: token.clone(),
        execution_arn: ctx.exec.arn.clone(),
        state_name: state.name.clone(),
        retry_count,
    };
    let work = async {
        let Some(tok) = token.clone() else {
            return ctx.inner.handler.invoke(call).await.map_err(task_error);
        };
        let mut rx = register_token(ctx, &tok);
        let _guard = TokenGuard {
            ctx: ctx.clone(),
            token: tok.clone(),
        };
        let cp = |submitted: bool| {
            if top {
                ctx.checkpoint(Checkpoint {
                    state_name: state.name.clone(),
                    input: raw.clone(),
                    retry_counts: counts.to_vec(),
                    task_token: Some(tok.clone()),
                    token_submitted: submitted,
                });
            }
        };
        if !already_submitted {
            cp(false);
            let ack = ctx.inner.handler.invoke(call).await.map_err(task_error)?;
            ctx.event(
                EventType::TaskSubmitted,
                json!({"name": state.name, "resource": resource, "output": ack}),
            );
            cp(true);
        }
        loop {
            let msg = match heartbeat {
                Some(h) => tokio::select! {
                    m = rx.recv() => m,
                    _ = ctx.sleep(Duration::from_secs(h)) => {
                        return Err(StateError::new(
                            names::HEARTBEAT_TIMEOUT,
                            format!("No heartbeat received within {h} seconds"),
                        ));
                    }
                },
                None => rx.recv().await,
            };
            match msg {
                Some(TokenMsg::Success(v)) => return Ok(v),
                Some(TokenMsg::Failure(e, c)) => return Err(StateError::new(e, c)),
                Some(TokenMsg::Heartbeat) => continue,
                None => return Err(StateError::runtime("task token channel closed")),
            }
        }
    };
    let res = match timeout {
        Some(t) => tokio::select! {
            r = work => r,
            _ = ctx.sleep(Duration::from_secs(t)) => Err(StateError::new(
                names::TIMEOUT,
                format!("The task did not complete within {t} seconds"),
            )),
        },
        None => work.await,
    };
    match &res {
        Ok(v) => ctx.event(
            EventType::TaskSucceeded,
            json!({"name": state.name, "resource": resource, "output": v}),
        ),
        Err(e) if e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT => ctx.event(
            EventType::TaskTimedOut,
            json!({"name": state.name, "resource": resource, "error": e.error, "cause": e.cause}),
        ),
        Err(e) => ctx.event(
            EventType::TaskFailed,
            json!({"name": state.name, "resource": resource, "error": e.error, "cause": e.cause}),
        ),
    }
    let result = res?;
    finish_result(state, raw.clone(), result, &sctx)
}

fn task_error(e: TaskError) -> StateError {
    let error = if e.error.is_empty() {
        names::TASK_FAILED.to_string()
    } else {
        e.error
    };
    StateError::new(error, e.cause)
}

fn register_token(ctx: &Ctx, token: &str) -> mpsc::UnboundedReceiver<TokenMsg> {
    let rx = {
        let mut reg = lock(&ctx.inner.reg);
        reg.done_tokens.remove(token);
        match reg.tokens.get_mut(token).and_then(|s| s.pending_rx.take()) {
            Some(rx) => rx,
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                reg.tokens.insert(
                    token.to_string(),
                    TokenSlot {
                        tx,
                        pending_rx: None,
                        completed: false,
                    },
                );
                rx
            }
        }
    };
    let mut r = lock(&ctx.exec.rec);
    if !r.tokens.iter().any(|t| t == token) {
        r.tokens.push(token.to_string());
    }
    rx
}

async fn run_parallel(
    ctx: &Ctx,
    state: &State,
    raw: &Value,
    entered: &DateTime<Utc>,
    retry_count: u32,
) -> Result<Value, StateError> {
    let StateKind::Parallel { branches } = &state.kind else {
        return Err(StateError::runtime("not a Parallel state"));
    };
    let sctx = ctx.context_object(&state.name, entered, retry_count, None);
    let eff = input_path(&state.input_path, raw, &sctx)?;
    let params = match &state.parameters {
        Some(t) => t.evaluate(&eff, &sctx)?,
        None => eff,
    };
    ctx.event(EventType::ParallelStateStarted, json!({"name": state.name}));
    let mut set = JoinSet::new();
    for (i, b) in branches.iter().enumerate() {
        let fut = run_machine(ctx.clone(), b.clone(), params.clone(), false, None);
        set.spawn(async move { (i, fut.await) });
    }
    let mut results = vec![Value::Null; branches.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, Ok(v))) => results[i] = v,
            Ok((_, Err(e))) => {
                // Dropping the JoinSet aborts the other branches.
                ctx.event(
                    EventType::ParallelStateFailed,
                    json!({"name": state.name, "error": e.error, "cause": e.cause}),
                );
                return Err(e);
            }
            Err(j) => return Err(StateError::runtime(format!("branch crashed: {j}"))),
        }
    }
    ctx.event(
        EventType::ParallelStateSucceeded,
        json!({"name": state.name}),
    );
    finish_result(state, raw.clone(), Value::Array(results), &sctx)
}

async fn run_map(
    ctx: &Ctx,
    state: &State,
    raw: &Value,
    entered: &DateTime<Utc>,
    retry_count: u32,
) -> Result<Value, StateError> {
    let StateKind::Map {
        processor,
        items_path,
        item_selector,
        max_concurrency,
    } = &state.kind
    else {
        return Err(StateError::runtime("not a Map state"));
    };
    let sctx = ctx.context_object(&state.name, entered, retry_count, None);
    let eff = input_path(&state.input_path, raw, &sctx)?;
    let items = match items_path.select(&eff, &sctx) {
        Some(Value::Array(a)) => a,
        other => {
            return Err(StateError::runtime(format!(
                "ItemsPath '{}' must select an array, got {}",
                items_path.as_str(),
                other.map_or("nothing".to_string(), |v| v.to_string())
            )));
        }
    };
    let max = match max_concurrency {
        Some(d) => resolve_seconds(d, &eff, &sctx, "MaxConcurrencyPath")?,
        None => 0,
    };
    // Build every iteration's input first, so a bad ItemSelector fails the
    // state before anything runs.
    let mut inputs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        inputs.push(match item_selector {
            Some(t) => {
                let mut c = sctx.clone();
                if let Value::Object(m) = &mut c {
                    m.insert("Map".into(), json!({"Item": {"Index": i, "Value": item}}));
                }
                t.evaluate(&eff, &c)?
            }
            None => item.clone(),
        });
    }
    ctx.event(
        EventType::MapStateStarted,
        json!({"name": state.name, "length": inputs.len()}),
    );
    let permits = if max == 0 {
        inputs.len().max(1)
    } else {
        usize::try_from(max)
            .unwrap_or(usize::MAX)
            .min(inputs.len().max(1))
    };
    let sem = Arc::new(Semaphore::new(permits));
    let mut set = JoinSet::new();
    let n = inputs.len();
    for (i, input) in inputs.into_iter().enumerate() {
        let c = ctx.clone();
        let p = processor.clone();
        let sem = sem.clone();
        let name = state.name.clone();
        set.spawn(async move {
            // The semaphore is never closed, so acquire cannot fail.
            let _permit = sem.acquire_owned().await.ok();
            c.event(
                EventType::MapIterationStarted,
                json!({"name": name, "index": i}),
            );
            let r = run_machine(c.clone(), p, input, false, None).await;
            match &r {
                Ok(_) => c.event(
                    EventType::MapIterationSucceeded,
                    json!({"name": name, "index": i}),
                ),
                Err(e) => c.event(
                    EventType::MapIterationFailed,
                    json!({"name": name, "index": i, "error": e.error, "cause": e.cause}),
                ),
            }
            (i, r)
        });
    }
    let mut results = vec![Value::Null; n];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, Ok(v))) => results[i] = v,
            Ok((_, Err(e))) => {
                ctx.event(
                    EventType::MapStateFailed,
                    json!({"name": state.name, "error": e.error, "cause": e.cause}),
                );
                return Err(e);
            }
            Err(j) => return Err(StateError::runtime(format!("iteration crashed: {j}"))),
        }
    }
    ctx.event(EventType::MapStateSucceeded, json!({"name": state.name}));
    finish_result(state, raw.clone(), Value::Array(results), &sctx)
}
