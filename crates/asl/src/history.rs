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

/// Appends event `id` to `buf` as one line of JSON (the store's log
/// format, the fields of [`HistoryEvent`]), written straight from borrowed
/// parts: no `Value` tree is built for it. Timestamps have milliseconds,
/// as in AWS. On a serialization error `buf` is left as it was.
pub fn encode_event<D: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    id: u64,
    timestamp: &DateTime<Utc>,
    event_type: EventType,
    details: &D,
) -> Result<(), serde_json::Error> {
    let start = buf.len();
    let written = (|| {
        buf.extend_from_slice(b"{\"id\":");
        serde_json::to_writer(&mut *buf, &id)?;
        buf.extend_from_slice(b",\"previousEventId\":");
        serde_json::to_writer(&mut *buf, &id.saturating_sub(1))?;
        buf.extend_from_slice(b",\"timestamp\":\"");
        write_timestamp(buf, timestamp);
        buf.extend_from_slice(b"\",\"type\":");
        serde_json::to_writer(&mut *buf, &event_type)?;
        buf.extend_from_slice(b",\"details\":");
        serde_json::to_writer(&mut *buf, details)?;
        buf.extend_from_slice(b"}\n");
        Ok(())
    })();
    if written.is_err() {
        buf.truncate(start);
    }
    written
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, digit by digit: chrono's own formatting
/// goes through `fmt` one character at a time, which was the largest cost
/// of encoding an event.
fn write_timestamp(buf: &mut Vec<u8>, t: &DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let s = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    let two = |buf: &mut Vec<u8>, v: u32, sep: u8| {
        buf.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8, sep]);
    };
    let year = year as u32;
    two(buf, year / 100, b'0');
    buf.pop();
    two(buf, year % 100, b'-');
    two(buf, t.month(), b'-');
    two(buf, t.day(), b'T');
    two(buf, t.hour(), b':');
    two(buf, t.minute(), b':');
    // A leap second shows as 60.
    let (second, millis) = match t.timestamp_subsec_millis() {
        ms @ 0..=999 => (t.second(), ms),
        ms => (t.second() + 1, ms - 1000),
    };
    two(buf, second, b'.');
    buf.extend_from_slice(&[
        b'0' + (millis / 100) as u8,
        b'0' + (millis / 10 % 10) as u8,
        b'0' + (millis % 10) as u8,
        b'Z',
    ]);
}

/// The lines of an encoded log (serde_json never writes a raw newline
/// inside a document, so each line is one event). Blank lines are skipped.
pub fn event_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
}

/// Decodes every line of an encoded log.
pub fn decode_events(bytes: &[u8]) -> Result<Vec<HistoryEvent>, serde_json::Error> {
    event_lines(bytes).map(serde_json::from_slice).collect()
}

/// Details of the events most states write: the state's name and its input
/// (`...StateEntered`) or output (`...StateExited`).
#[derive(Serialize)]
pub(crate) struct StateIo<'a> {
    pub(crate) name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) input: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output: Option<&'a Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encoded_events_decode_to_the_same_events() {
        let t: DateTime<Utc> = "2024-05-06T07:08:09.123Z".parse().unwrap();
        let input = json!({"text": "two\nlines", "n": [1, 2]});
        let mut buf = Vec::new();
        encode_event(
            &mut buf,
            1,
            &t,
            EventType::ExecutionStarted,
            &json!({"input": input}),
        )
        .unwrap();
        let io = StateIo {
            name: "P",
            input: Some(&input),
            output: None,
        };
        encode_event(&mut buf, 2, &t, EventType::PassStateEntered, &io).unwrap();
        let later: DateTime<Utc> = "2024-12-31T23:59:59.999999Z".parse().unwrap();
        encode_event(&mut buf, 3, &later, EventType::PassStateExited, &json!({})).unwrap();
        let events = decode_events(&buf).unwrap();
        assert_eq!(
            events[2].timestamp,
            "2024-12-31T23:59:59.999Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(events.len(), 3);
        assert_eq!(events[1].id, 2);
        assert_eq!(events[1].previous_event_id, 1);
        assert_eq!(events[1].timestamp, t);
        assert_eq!(events[1].event_type, EventType::PassStateEntered);
        assert_eq!(events[1].details, json!({"name": "P", "input": input}));
        assert_eq!(events[0].details, json!({"input": input}));
    }
}
