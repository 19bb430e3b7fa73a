//! An Amazon States Language (AWS Step Functions) interpreter.
//!
//! * [`Engine`]: registers state machines, runs executions, accepts task
//!   callbacks, keeps history, checkpoints to an [`ExecutionStore`] and
//!   resumes after a restart.
//! * [`TaskHandler`]: implemented by the host to run Task resources.
//! * [`Clock`]: time source ([`RealClock`] with a scale factor,
//!   [`TokioClock`] for paused-time tests).
//! * [`definition`]: parsing and load-time validation of definitions.
//!
//! See the crate README for the supported feature set.
#![warn(missing_docs)]

pub mod choice;
pub mod clock;
pub mod definition;
pub mod engine;
pub mod error;
pub mod history;
pub mod intrinsics;
pub mod path;
pub mod store;
pub mod task;
pub mod template;

pub use clock::{BoxFuture, Clock, RealClock, TokioClock};
pub use definition::{StateMachine, parse as parse_definition, substitute};
pub use engine::{
    DEFAULT_RETENTION, Engine, EngineBuilder, ExecutionDescription, StateMachineDescription,
};
pub use error::{DefinitionError, EngineError, StateError, StoreError};
pub use history::{EventType, HistoryEvent};
pub use store::{
    Checkpoint, ExecutionRecord, ExecutionStatus, ExecutionStore, FileStore, MemoryStore,
    StoredExecution,
};
pub use task::{EchoHandler, TaskCall, TaskError, TaskHandler};
