//! Error types: definition (load-time) errors, runtime state errors as seen by
//! `Retry`/`Catch`, and the errors the engine API returns to the host.

use serde::{Deserialize, Serialize};

/// Well-known ASL error names (spec, "Errors" section).
pub mod names {
    /// Wildcard matching every error except `States.Runtime`.
    pub const ALL: &str = "States.ALL";
    /// A state ran longer than `TimeoutSeconds` (also matches heartbeat timeouts).
    pub const TIMEOUT: &str = "States.Timeout";
    /// No heartbeat within `HeartbeatSeconds`.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// Task failed; as a matcher it matches every error except timeouts.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// Terminal runtime error (bad InputPath/OutputPath, bad Choice variable, ...).
    pub const RUNTIME: &str = "States.Runtime";
    /// ResultPath could not be applied to the state input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `.$` path in Parameters/ItemSelector/ResultSelector selected nothing.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// A Parallel branch failed (the branch's own error is propagated instead).
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// A Choice state had no matching rule and no Default.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function failed at run time.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
}

/// A runtime error raised by a state: what `Retry`/`Catch` match on, and what
/// a failed execution reports as `Error`/`Cause`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateError {
    /// The error name, e.g. `States.TaskFailed` or a task's own error name.
    pub error: String,
    /// A human readable cause.
    pub cause: String,
}

impl StateError {
    /// Builds an error from a name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StateError {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A terminal `States.Runtime` error.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    /// A `States.IntrinsicFailure` error.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(names::INTRINSIC_FAILURE, cause)
    }

    /// The `{"Error": ..., "Cause": ...}` document used by Catch and the CLI.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for StateError {}

/// A problem in a state machine definition, found when it is loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct DefinitionError {
    /// The state the problem is in (`None` for top-level problems). Nested
    /// states inside Parallel/Map are named `Outer/branch[i]/Inner`.
    pub state: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl DefinitionError {
    /// A problem with no particular state.
    pub fn top(message: impl Into<String>) -> Self {
        DefinitionError {
            state: None,
            message: message.into(),
        }
    }

    /// A problem in the state `state`.
    pub fn at(state: &str, message: impl Into<String>) -> Self {
        DefinitionError {
            state: Some(state.to_string()),
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        match &self.state {
            Some(s) => format!("State '{}': {}", s, self.message),
            None => self.message.clone(),
        }
    }
}

/// Errors returned by the [`crate::Engine`] API (the equivalent of the AWS
/// Step Functions API exceptions).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The definition could not be loaded.
    #[error("invalid definition: {0}")]
    InvalidDefinition(#[from] DefinitionError),
    /// `${Name}` substitution referenced an undefined name.
    #[error("undefined definition substitution: {0}")]
    UndefinedSubstitution(String),
    /// A state machine with that name exists with another definition.
    #[error("state machine already exists: {0}")]
    StateMachineAlreadyExists(String),
    /// No state machine with that ARN.
    #[error("state machine does not exist: {0}")]
    StateMachineDoesNotExist(String),
    /// An execution with that name already exists for the state machine.
    #[error("execution already exists: {0}")]
    ExecutionAlreadyExists(String),
    /// No execution with that ARN.
    #[error("execution does not exist: {0}")]
    ExecutionDoesNotExist(String),
    /// A name (state machine or execution) is not acceptable.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// The task token was never issued by this engine.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The task token was issued but its task is no longer waiting (it
    /// completed, timed out, or its execution stopped).
    #[error("task does not exist or timed out: {0}")]
    TaskDoesNotExist(String),
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    /// The engine needs a Tokio runtime to run executions.
    #[error("no Tokio runtime available: {0}")]
    NoRuntime(String),
}

/// An error from an [`crate::ExecutionStore`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O failure.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// (De)serialisation failure.
    #[error("serialisation error: {0}")]
    Json(#[from] serde_json::Error),
    /// Any other failure reported by a host store.
    #[error("{0}")]
    Other(String),
}
