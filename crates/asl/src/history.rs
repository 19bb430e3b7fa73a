//! Execution history events, named like AWS Step Functions'.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The type of a history event (same names as AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    TaskStateEntered,
    TaskStateExited,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    PassStateEntered,
    PassStateExited,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateExited,
    MapStateEntered,
    MapStateStarted,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapStateSucceeded,
    MapStateFailed,
    MapStateExited,
}

impl EventType {
    /// `<Type>StateEntered` for a state type name.
    pub fn entered(state_type: &str) -> EventType {
        match state_type {
            "Task" => EventType::TaskStateEntered,
            "Pass" => EventType::PassStateEntered,
            "Choice" => EventType::ChoiceStateEntered,
            "Wait" => EventType::WaitStateEntered,
            "Succeed" => EventType::SucceedStateEntered,
            "Fail" => EventType::FailStateEntered,
            "Parallel" => EventType::ParallelStateEntered,
            _ => EventType::MapStateEntered,
        }
    }

    /// `<Type>StateExited` for a state type name (Fail has none: it uses
    /// `FailStateEntered` only, as AWS does).
    pub fn exited(state_type: &str) -> Option<EventType> {
        Some(match state_type {
            "Task" => EventType::TaskStateExited,
            "Pass" => EventType::PassStateExited,
            "Choice" => EventType::ChoiceStateExited,
            "Wait" => EventType::WaitStateExited,
            "Succeed" => EventType::SucceedStateExited,
            "Parallel" => EventType::ParallelStateExited,
            "Map" => EventType::MapStateExited,
            _ => return None,
        })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// 1-based id.
    pub id: u64,
    /// Id of the previous event (0 for the first).
    pub previous_event_id: u64,
    /// When it happened (per the engine's clock).
    pub timestamp: DateTime<Utc>,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Event details: e.g. `name`, `input`, `output`, `error`, `cause`,
    /// `resource`, `index` depending on the type.
    pub details: Value,
}
