//! The public API: state machines and executions.

use super::context::Ctx;
use super::run::run_execution;
use super::{
    Engine, EngineBuilder, Exec, ExecRecord, ExecutionDescription, MachineEntry,
    StateMachineDescription, describe, lock, valid_name,
};
use crate::clock::RealClock;
use crate::definition;
use crate::error::EngineError;
use crate::error::StoreError;
use crate::history::{EventType, HistoryEvent, decode_events};
use crate::store::{ExecutionStatus, MemoryStore, definition_id};
use crate::task::TaskHandler;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

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
            retention: super::DEFAULT_RETENTION,
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
                definition_id: definition_id(definition),
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
                definition_id: definition_id(definition),
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
        // A name is unique among finished executions too.
        self.load_finished();
        self.expire_if_due();
        let (exec, sm) = self.register_execution(state_machine_arn, name, input)?;
        let ctx = Ctx {
            inner: self.inner.clone(),
            exec: exec.clone(),
        };
        // The caller (e.g. a queue poller) must learn that the execution
        // is not durable, so that it keeps its message and retries; the
        // execution is then forgotten, as if it had never started.
        let saved = self
            .inner
            .store
            .save_definition(&sm.definition_id, &sm.definition)
            .and_then(|()| ctx.flush());
        if let Err(e) = saved {
            lock(&self.inner.reg).executions.remove(&exec.arn);
            tracing::error!(execution = %exec.arn, error = %e, "cannot checkpoint a new execution");
            return Err(e.into());
        }
        let handle = rt.spawn(run_execution(ctx, None));
        *lock(&exec.abort) = Some(handle.abort_handle());
        Ok(exec.arn.clone())
    }

    /// Creates a RUNNING execution (in memory only) and registers it.
    fn register_execution(
        &self,
        state_machine_arn: &str,
        name: String,
        input: Value,
    ) -> Result<(Arc<Exec>, Arc<MachineEntry>), EngineError> {
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
            definition_id: sm.definition_id.clone(),
            machine: sm.machine.clone(),
            input,
            start,
            rec: Mutex::new(ExecRecord {
                status: ExecutionStatus::Running,
                output: None,
                error: None,
                cause: None,
                stop: None,
                events: 0,
                stored_events: 0,
                tail: Vec::new(),
                checkpoint: None,
                tokens: Vec::new(),
                store_error: None,
            }),
            done: watch::channel(false).0,
            abort: Mutex::new(None),
            store_writes: Mutex::new(()),
        });
        lock(&exec.rec).push_event(
            &start,
            EventType::ExecutionStarted,
            &json!({"input": exec.input, "stateMachineArn": sm.arn}),
        );
        reg.executions.insert(arn, exec.clone());
        Ok((exec, sm))
    }

    fn exec(&self, arn: &str) -> Result<Arc<Exec>, EngineError> {
        if let Some(e) = lock(&self.inner.reg).executions.get(arn) {
            return Ok(e.clone());
        }
        // It may be a finished one not loaded yet.
        self.load_finished();
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
        if status_filter != Some(ExecutionStatus::Running) {
            self.load_finished();
        }
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

    /// The execution's history events, oldest first: those in the store
    /// and those not handed to it yet.
    pub fn get_execution_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, EngineError> {
        let exec = self.exec(arn)?;
        // No flush may move events from the tail to the store meanwhile.
        let _order = lock(&exec.store_writes);
        let (stored, tail) = {
            let r = lock(&exec.rec);
            (r.stored_events, r.tail.clone())
        };
        let mut events = self.inner.store.read_history(arn, stored)?;
        events.extend(decode_events(&tail).map_err(StoreError::from)?);
        Ok(events)
    }
}
