//! Shared by the trigger tests: the sample events and a recording SMS fake.

#![allow(dead_code)] // each test file uses a part

use auth_challenge::{AuthError, CodeSender};
use serde_json::{Value, json};
use std::sync::Mutex;

/// A sample event of `events/` (the files `sam local invoke -e` takes).
pub fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Records every code it is asked to send; fails every send when `fail` is set.
#[derive(Default)]
pub struct RecordingSender {
    pub sent: Mutex<Vec<(String, String)>>,
    pub fail: bool,
}

impl RecordingSender {
    pub fn failing() -> Self {
        RecordingSender {
            fail: true,
            ..Default::default()
        }
    }

    pub fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().clone()
    }
}

impl CodeSender for RecordingSender {
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), AuthError> {
        if self.fail {
            return Err(AuthError::SendFailed);
        }
        self.sent
            .lock()
            .unwrap()
            .push((phone.to_owned(), code.to_owned()));
        Ok(())
    }
}

/// A session entry as Cognito lists it.
pub fn answered(result: bool, metadata: Option<&str>) -> Value {
    json!({
        "challengeName": "CUSTOM_CHALLENGE",
        "challengeResult": result,
        "challengeMetadata": metadata,
    })
}
