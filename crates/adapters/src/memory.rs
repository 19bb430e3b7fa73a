//! In-memory ports: an event bus and workflow callbacks that record what they were given, for
//! tests (which read them back) and for wiring where no real service is wanted.

use domain::AppError;
use domain::events::Event;
use domain::ports::{CallbackError, EventBus, TaskCallbacks};
use serde_json::Value;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct RecordingBus {
    events: Arc<Mutex<Vec<Event>>>,
}

impl RecordingBus {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    pub fn of_type(&self, detail_type: &str) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.detail_type == detail_type)
            .collect()
    }
}

impl EventBus for RecordingBus {
    async fn publish(&self, event: Event) -> Result<(), AppError> {
        self.events
            .lock()
            .map_err(|_| AppError::internal("event recorder poisoned"))?
            .push(event);
        Ok(())
    }
}

/// One callback as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    Success {
        token: String,
        output: Value,
    },
    Failure {
        token: String,
        error: String,
        cause: String,
    },
}

/// Records callbacks; tokens listed in `gone` answer like a workflow that has moved on.
#[derive(Clone, Default)]
pub struct RecordingCallbacks {
    calls: Arc<Mutex<Vec<Callback>>>,
    gone: Arc<Mutex<Vec<String>>>,
}

impl RecordingCallbacks {
    pub fn calls(&self) -> Vec<Callback> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Makes later callbacks with `token` fail as `TaskGone`.
    pub fn expire(&self, token: &str) {
        if let Ok(mut g) = self.gone.lock() {
            g.push(token.to_owned());
        }
    }

    fn record(&self, token: &str, call: Callback) -> Result<(), CallbackError> {
        let gone = self
            .gone
            .lock()
            .map(|g| g.iter().any(|t| t == token))
            .unwrap_or(false);
        if gone {
            return Err(CallbackError::TaskGone(format!(
                "Task {token} does not exist"
            )));
        }
        self.calls
            .lock()
            .map_err(|_| CallbackError::Other(AppError::internal("callback recorder poisoned")))?
            .push(call);
        Ok(())
    }
}

impl TaskCallbacks for RecordingCallbacks {
    async fn send_success(&self, task_token: &str, output: Value) -> Result<(), CallbackError> {
        self.record(
            task_token,
            Callback::Success {
                token: task_token.to_owned(),
                output,
            },
        )
    }

    async fn send_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError> {
        self.record(
            task_token,
            Callback::Failure {
                token: task_token.to_owned(),
                error: error.to_owned(),
                cause: cause.to_owned(),
            },
        )
    }
}
