//! The host-side interface for Task states.

use crate::clock::BoxFuture;
use serde_json::Value;

/// What the engine asks the host to run for a Task state.
#[derive(Debug, Clone)]
pub struct TaskCall {
    /// The state's `Resource`, verbatim (including a `.waitForTaskToken`
    /// suffix).
    pub resource: String,
    /// The task input, after `InputPath` and `Parameters`.
    pub input: Value,
    /// For `.waitForTaskToken` resources: the token the host must later pass
    /// to `send_task_success` / `send_task_failure` / `send_task_heartbeat`.
    pub task_token: Option<String>,
    /// The execution ARN.
    pub execution_arn: String,
    /// The Task state's name.
    pub state_name: String,
    /// How many retries of this state happened before this call.
    pub retry_count: u32,
}

impl TaskCall {
    /// True for the `.waitForTaskToken` integration pattern.
    pub fn is_wait_for_task_token(&self) -> bool {
        self.task_token.is_some()
    }
}

/// A task failure reported by the host: matched by `Retry`/`Catch` on
/// `error` (and by `States.TaskFailed` / `States.ALL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// Error name, e.g. `Lambda.ServiceException` or `MyError`.
    pub error: String,
    /// Human readable cause.
    pub cause: String,
}

impl TaskError {
    /// Builds a task error.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// Runs Task resources on behalf of the engine.
///
/// For a plain resource the returned value is the task result. For a
/// `.waitForTaskToken` resource the returned value is ignored (an error
/// still fails the task): the task completes when the host calls
/// [`crate::Engine::send_task_success`] or
/// [`crate::Engine::send_task_failure`] with `call.task_token`.
pub trait TaskHandler: Send + Sync {
    /// Starts the task.
    fn invoke(&self, call: TaskCall) -> BoxFuture<'static, Result<Value, TaskError>>;
}

impl<F> TaskHandler for F
where
    F: Fn(TaskCall) -> BoxFuture<'static, Result<Value, TaskError>> + Send + Sync,
{
    fn invoke(&self, call: TaskCall) -> BoxFuture<'static, Result<Value, TaskError>> {
        self(call)
    }
}

/// A handler that returns every task's input unchanged.
#[derive(Debug, Clone, Default)]
pub struct EchoHandler;

impl TaskHandler for EchoHandler {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'static, Result<Value, TaskError>> {
        Box::pin(async move { Ok(call.input) })
    }
}
