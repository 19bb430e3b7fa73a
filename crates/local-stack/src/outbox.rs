//! Where the local stack's outputs go: SNS notifications (the "outbox" a person can read),
//! realtime messages, and dead letters of failed bus deliveries. Each is kept in memory (for
//! tests and the local API) and, with a data directory, appended as JSON lines to a file, with
//! card numbers and task tokens masked (see [`crate::redact`]).

use crate::redact;
use domain::AppError;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

#[derive(Clone, Default)]
struct JsonLines {
    items: Arc<Mutex<Vec<Value>>>,
    file: Option<PathBuf>,
}

impl JsonLines {
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
        if let Ok(mut items) = self.items.lock() {
            items.push(item);
        }
    }

    fn all(&self) -> Vec<Value> {
        self.items.lock().map(|i| i.clone()).unwrap_or_default()
    }
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
            notifications: JsonLines {
                items: Default::default(),
                file: dir.as_ref().map(|d| d.join("notifications.jsonl")),
            },
            dead_letters: JsonLines {
                items: Default::default(),
                file: dir.map(|d| d.join("dead-letters.jsonl")),
            },
        }
    }

    /// An SNS `Publish` (the workflow's task input); returns SNS's answer.
    pub fn publish(&self, request: Value) -> Value {
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
        }));
        json!({ "MessageId": id })
    }

    pub fn notifications(&self) -> Vec<Value> {
        self.notifications.all()
    }

    pub fn dead_letter(&self, item: Value) {
        self.dead_letters.push(item);
    }

    pub fn dead_letters(&self) -> Vec<Value> {
        self.dead_letters.all()
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
            log: JsonLines {
                items: Default::default(),
                file: dir.map(|d| d.join("realtime.jsonl")),
            },
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
        self.log.all()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<(String, Value)> {
        self.live.subscribe()
    }
}
