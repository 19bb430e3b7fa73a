//! Where the local stack's outputs go: SNS notifications (the "outbox" a person can read),
//! realtime messages, and dead letters of failed bus deliveries. With a data directory each is
//! appended as JSON lines to a file, with card numbers and task tokens masked (see
//! [`crate::redact`]); the newest [`WINDOW`] items are also in memory (loaded from the file at
//! start), and older ones are paged from the file.

use crate::redact;
use domain::AppError;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many of the newest items each log keeps in memory; older ones are read from its file.
pub const WINDOW: usize = 1000;

/// One log: appended to its file (with a data directory) and its newest [`WINDOW`] items in
/// memory. After a restart the window is loaded from the file, so the pages show everything
/// that happened, not only what happened since the start, and memory stays bounded.
#[derive(Clone, Default)]
struct JsonLines {
    state: Arc<Mutex<Window>>,
    file: Option<PathBuf>,
}

#[derive(Default)]
struct Window {
    newest: VecDeque<Value>,
    /// Items ever logged (in the file, or in memory when there is none).
    total: usize,
}

/// A page of a log: `items` from position `offset` (0 = the oldest), and how many there are.
pub struct Page {
    pub items: Vec<Value>,
    pub total: usize,
}

impl JsonLines {
    fn open(file: Option<PathBuf>) -> JsonLines {
        let mut window = Window::default();
        if let Some(path) = &file {
            for item in read_lines(path) {
                window.total += 1;
                window.newest.push_back(item);
                if window.newest.len() > WINDOW {
                    window.newest.pop_front();
                }
            }
        }
        JsonLines {
            state: Arc::new(Mutex::new(window)),
            file,
        }
    }

    fn push(&self, item: Value) {
        if let Some(path) = &self.file {
            // The files are for people to read: no card number or task token goes in them.
            let line = format!("{}\n", redact::for_display(&item));
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = written {
                tracing::error!(path = %path.display(), error = %e, "could not append to the outbox file");
            }
        }
        if let Ok(mut w) = self.state.lock() {
            w.total += 1;
            w.newest.push_back(item);
            if w.newest.len() > WINDOW {
                w.newest.pop_front();
            }
        }
    }

    /// The newest item in the window that `matches`.
    fn find(&self, matches: impl Fn(&Value) -> bool) -> Option<Value> {
        let w = self.state.lock().ok()?;
        w.newest.iter().rev().find(|v| matches(v)).cloned()
    }

    /// The newest items (at most [`WINDOW`]), oldest first.
    fn recent(&self) -> Vec<Value> {
        self.state
            .lock()
            .map(|w| w.newest.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// `limit` items from position `offset` (0 = the oldest ever): from memory when they are
    /// in the window, else from the file.
    fn page(&self, offset: usize, limit: usize) -> Page {
        let (total, in_window) = match self.state.lock() {
            Ok(w) => {
                let first_in_window = w.total - w.newest.len();
                let items = (offset >= first_in_window).then(|| {
                    w.newest
                        .iter()
                        .skip(offset - first_in_window)
                        .take(limit)
                        .cloned()
                        .collect::<Vec<_>>()
                });
                (w.total, items)
            }
            Err(_) => (0, Some(Vec::new())),
        };
        let items = match (in_window, &self.file) {
            (Some(items), _) => items,
            (None, Some(path)) => read_lines(path).skip(offset).take(limit).collect(),
            (None, None) => Vec::new(),
        };
        Page { items, total }
    }
}

/// The JSON lines of a file; unreadable lines are skipped (a torn last line after a crash).
fn read_lines(path: &std::path::Path) -> impl Iterator<Item = Value> {
    let file = std::fs::File::open(path).ok();
    file.into_iter().flat_map(|f| {
        std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
    })
}

/// SNS notifications and dead letters.
#[derive(Clone, Default)]
pub struct Outbox {
    notifications: JsonLines,
    dead_letters: JsonLines,
}

impl Outbox {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Outbox {
            notifications: JsonLines::open(dir.as_ref().map(|d| d.join("notifications.jsonl"))),
            dead_letters: JsonLines::open(dir.map(|d| d.join("dead-letters.jsonl"))),
        }
    }

    /// An SNS `Publish` (the workflow's task input); returns SNS's answer. `dedup` names the
    /// step that publishes (execution and state): a step re-run after a crash (its checkpoint
    /// was not written yet) gets the first answer instead of notifying the customer twice.
    pub fn publish(&self, request: Value, dedup: &str) -> Value {
        if let Some(earlier) = self.notifications.find(|n| n["DeduplicationId"] == dedup) {
            tracing::info!(dedup, "notification already sent by this step");
            return json!({ "MessageId": earlier["MessageId"] });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let message = redact::mask_card_numbers(request["Message"].as_str().unwrap_or_default());
        tracing::info!(%message, "notification sent");
        self.notifications.push(json!({
            "MessageId": id,
            "TopicArn": request["TopicArn"],
            "Subject": request["Subject"],
            "Message": request["Message"],
            "MessageAttributes": request["MessageAttributes"],
            "Timestamp": chrono::Utc::now().to_rfc3339(),
            "DeduplicationId": dedup,
        }));
        json!({ "MessageId": id })
    }

    /// The newest notifications (at most [`WINDOW`]), oldest first.
    pub fn notifications(&self) -> Vec<Value> {
        self.notifications.recent()
    }

    pub fn notifications_page(&self, offset: usize, limit: usize) -> Page {
        self.notifications.page(offset, limit)
    }

    pub fn dead_letter(&self, item: Value) {
        self.dead_letters.push(item);
    }

    pub fn dead_letters(&self) -> Vec<Value> {
        self.dead_letters.recent()
    }

    pub fn dead_letters_page(&self, offset: usize, limit: usize) -> Page {
        self.dead_letters.page(offset, limit)
    }
}

/// Realtime messages: recorded, and broadcast to live subscribers (the MQTT bridge, tests).
#[derive(Clone)]
pub struct RealtimeLog {
    log: JsonLines,
    live: broadcast::Sender<(String, Value)>,
}

impl RealtimeLog {
    pub fn new(dir: Option<PathBuf>) -> Self {
        RealtimeLog {
            log: JsonLines::open(dir.map(|d| d.join("realtime.jsonl"))),
            live: broadcast::channel(1024).0,
        }
    }

    pub async fn publish(&self, topic: &str, payload: &Value) -> Result<(), AppError> {
        self.log.push(json!({ "topic": topic, "payload": payload }));
        // No live subscriber is fine: the message is recorded.
        let _ = self.live.send((topic.to_owned(), payload.clone()));
        Ok(())
    }

    pub fn messages(&self) -> Vec<Value> {
        self.log.recent()
    }

    pub fn messages_page(&self, offset: usize, limit: usize) -> Page {
        self.log.page(offset, limit)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<(String, Value)> {
        self.live.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(items: &[Value]) -> Vec<u64> {
        items.iter().filter_map(|v| v["n"].as_u64()).collect()
    }

    #[test]
    fn a_reopened_log_shows_its_history_in_a_bounded_window_and_pages_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let log = JsonLines::open(Some(path.clone()));
        for n in 0..(WINDOW as u64 + 5) {
            log.push(json!({ "n": n }));
        }
        // A crash can leave a torn last line; it is skipped.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"n\": 99")
            .unwrap();

        let reopened = JsonLines::open(Some(path));
        let recent = reopened.recent();
        assert_eq!(recent.len(), WINDOW);
        assert_eq!(numbers(&recent)[0], 5);
        assert_eq!(numbers(&recent)[WINDOW - 1], WINDOW as u64 + 4);

        let oldest = reopened.page(0, 3);
        assert_eq!(oldest.total, WINDOW + 5);
        assert_eq!(numbers(&oldest.items), [0, 1, 2], "read from the file");
        let newest = reopened.page(WINDOW + 3, 10);
        assert_eq!(
            numbers(&newest.items),
            [WINDOW as u64 + 3, WINDOW as u64 + 4]
        );
        assert!(reopened.page(WINDOW + 5, 10).items.is_empty());
    }

    #[test]
    fn without_a_file_only_the_window_is_kept() {
        let log = JsonLines::open(None);
        for n in 0..(WINDOW as u64 + 1) {
            log.push(json!({ "n": n }));
        }
        assert_eq!(log.recent().len(), WINDOW);
        let page = log.page(0, 2);
        assert_eq!(page.total, WINDOW + 1);
        assert!(page.items.is_empty(), "the oldest item is gone");
        assert_eq!(numbers(&log.page(1, 2).items), [1, 2]);
    }

    #[test]
    fn a_step_that_publishes_again_notifies_once() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(Some(dir.path().to_owned()));
        let request = json!({"TopicArn": "t", "Message": "Your order is ready"});
        let first = outbox.publish(request.clone(), "exec-1#Notify");
        let again = outbox.publish(request.clone(), "exec-1#Notify");
        assert_eq!(first, again);
        outbox.publish(request.clone(), "exec-2#Notify");
        assert_eq!(outbox.notifications().len(), 2);
        // Also after a restart (the window is loaded from the file).
        let reopened = Outbox::new(Some(dir.path().to_owned()));
        assert_eq!(reopened.publish(request, "exec-1#Notify"), first);
        assert_eq!(reopened.notifications().len(), 2);
    }
}
