//! Task tokens: callbacks from the host (`send_task_*`) and the registry
//! that routes them to the waiting task.

use super::context::Ctx;
use super::{Engine, TokenMsg, TokenSlot, lock};
use crate::error::{EngineError, names};
use serde_json::Value;
use tokio::sync::mpsc;

impl Engine {
    fn token_send(&self, token: &str, msg: TokenMsg, finish: bool) -> Result<(), EngineError> {
        let mut reg = lock(&self.inner.reg);
        let Some(slot) = reg.tokens.get_mut(token) else {
            return Err(if reg.done_tokens.contains(token) {
                EngineError::TaskDoesNotExist(token.to_string())
            } else {
                EngineError::InvalidToken(token.to_string())
            });
        };
        if slot.completed {
            return Err(EngineError::TaskDoesNotExist(token.to_string()));
        }
        // The receiver may already be gone (task aborted): treat as done.
        let sent = slot.tx.send(msg).is_ok();
        if sent && finish && slot.pending_rx.is_some() {
            // Resumed task not waiting yet: keep the slot (and the queued
            // message) for it, but accept no further callbacks.
            slot.completed = true;
        } else if finish || !sent {
            reg.tokens.remove(token);
            reg.done_tokens.insert(token.to_string());
        }
        if sent {
            Ok(())
        } else {
            Err(EngineError::TaskDoesNotExist(token.to_string()))
        }
    }

    /// Completes a `.waitForTaskToken` task with `output` as its result.
    pub fn send_task_success(&self, task_token: &str, output: Value) -> Result<(), EngineError> {
        self.token_send(task_token, TokenMsg::Success(output), true)
    }

    /// Fails a `.waitForTaskToken` task (default error `States.TaskFailed`).
    pub fn send_task_failure(
        &self,
        task_token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), EngineError> {
        self.token_send(
            task_token,
            TokenMsg::Failure(
                error.unwrap_or(names::TASK_FAILED).to_string(),
                cause.unwrap_or("").to_string(),
            ),
            true,
        )
    }

    /// Records a heartbeat: restarts the task's `HeartbeatSeconds` timer.
    pub fn send_task_heartbeat(&self, task_token: &str) -> Result<(), EngineError> {
        self.token_send(task_token, TokenMsg::Heartbeat, false)
    }
}

/// Removes a task token from the registry however the task ends
/// (success, failure, timeout, or the task being aborted).
pub(super) struct TokenGuard {
    pub(super) ctx: Ctx,
    pub(super) token: String,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        {
            let mut reg = lock(&self.ctx.inner.reg);
            reg.tokens.remove(&self.token);
            reg.done_tokens.insert(self.token.clone());
        }
        lock(&self.ctx.exec.rec).tokens.retain(|t| t != &self.token);
    }
}

pub(super) fn register_token(ctx: &Ctx, token: &str) -> mpsc::UnboundedReceiver<TokenMsg> {
    let rx = {
        let mut reg = lock(&ctx.inner.reg);
        reg.done_tokens.remove(token);
        match reg.tokens.get_mut(token).and_then(|s| s.pending_rx.take()) {
            Some(rx) => rx,
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                reg.tokens.insert(
                    token.to_string(),
                    TokenSlot {
                        tx,
                        pending_rx: None,
                        completed: false,
                    },
                );
                rx
            }
        }
    };
    let mut r = lock(&ctx.exec.rec);
    if !r.tokens.iter().any(|t| t == token) {
        r.tokens.push(token.to_string());
    }
    rx
}
