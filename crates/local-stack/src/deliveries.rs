//! Bus deliveries to functions, durable like EventBridge's: an event a rule routes to a
//! function is first stored in that function's delivery queue (the same durable local queues
//! as SQS, in the data directory), then invoked from there. A failed invocation leaves it in
//! the queue, to be tried again after a back-off, until the rule's `RetryPolicy` (attempts,
//! event age) is spent; then it goes to `/local/dead-letters`. A crash between the event and
//! its delivery loses nothing: the queue still has it after the restart.

use crate::hub::Hub;
use local::queue::{QueueSpec, Received};
use local::rules::{RetryPolicy, Rule};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How long a failed delivery waits before it is tried again (scaled like every local wait).
const BACKOFF: Duration = Duration::from_secs(1);
/// How long an idle delivery poller waits before looking again.
const POLL_IDLE: Duration = Duration::from_millis(20);
/// Deliveries taken from the queue at once (invoked concurrently, as EventBridge does).
const BATCH: usize = 10;

/// The delivery queue of a function target.
pub fn queue_of(function: &str) -> String {
    format!("bus-deliveries/{function}")
}

/// The delivery queues the rules need: one per function target (queue targets are delivered
/// to directly). `is_queue` says which logical ids are the template's queues.
pub fn queue_specs(rules: &[Rule], is_queue: impl Fn(&str) -> bool) -> Vec<QueueSpec> {
    let mut functions: Vec<&str> = rules
        .iter()
        .flat_map(|r| r.targets.iter().map(String::as_str))
        .filter(|t| !is_queue(t))
        .collect();
    functions.sort_unstable();
    functions.dedup();
    functions
        .into_iter()
        .map(|f| QueueSpec {
            logical_id: queue_of(f),
            visibility_timeout: BACKOFF,
            redrive: None,
        })
        .collect()
}

/// What a delivery queue holds: the event and the rule that routed it (for its retry policy).
#[derive(Serialize, Deserialize)]
pub struct Delivery {
    pub rule: String,
    pub event: Value,
}

/// Feeds `function`'s delivery queue to it until the stack stops.
pub async fn deliver_forever(hub: Arc<Hub>, function: String) {
    let queue = queue_of(&function);
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let batch = match hub.queues.receive(&queue, BATCH, now).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(%queue, error = %e, "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::time::sleep(POLL_IDLE).await;
            continue;
        }
        let mut running = tokio::task::JoinSet::new();
        for message in batch {
            let (hub, function) = (hub.clone(), function.clone());
            let span = tracing::info_span!("delivery", function = %function, message = %message.message_id, attempt = message.receive_count);
            running.spawn(tracing::Instrument::instrument(
                async move { deliver(&hub, &function, message).await },
                span,
            ));
        }
        while running.join_next().await.is_some() {}
    }
}

/// One try of one delivery: deleted when the function took it or when it is given up on.
async fn deliver(hub: &Hub, function: &str, message: Received) {
    let queue = queue_of(function);
    let Ok(delivery) = serde_json::from_str::<Delivery>(&message.body) else {
        give_up(
            hub,
            &queue,
            &message,
            "",
            Value::Null,
            "unreadable delivery",
        )
        .await;
        return;
    };
    let retry = hub
        .rules
        .iter()
        .find(|r| r.name == delivery.rule)
        .map_or_else(RetryPolicy::default, |r| r.retry);
    let age_ms = chrono::Utc::now().timestamp_millis() - message.sent_at_ms;
    let max_age_ms = (retry.max_event_age.as_millis() as f64 * hub.time_scale) as i64;
    if age_ms > max_age_ms {
        let why = format!(
            "the event is older than {} s",
            retry.max_event_age.as_secs()
        );
        give_up(hub, &queue, &message, &delivery.rule, delivery.event, &why).await;
        return;
    }
    match hub
        .functions
        .invoke_boxed(function, delivery.event.clone())
        .await
    {
        Ok(_) => delete(hub, &queue, &message).await,
        Err(e) => {
            let error = format!("{}: {}", e.error_type, e.message);
            tracing::warn!(rule = %delivery.rule, function, attempt = message.receive_count, %error, "bus delivery failed");
            if message.receive_count >= retry.max_attempts {
                give_up(
                    hub,
                    &queue,
                    &message,
                    &delivery.rule,
                    delivery.event,
                    &error,
                )
                .await;
            }
            // Otherwise the message stays: visible again after the back-off.
        }
    }
}

async fn give_up(
    hub: &Hub,
    queue: &str,
    message: &Received,
    rule: &str,
    event: Value,
    error: &str,
) {
    tracing::error!(rule, queue, error, "bus delivery abandoned; dead-lettered");
    let target = queue.trim_start_matches("bus-deliveries/");
    hub.outbox.dead_letter(json!({
        "rule": rule,
        "target": target,
        "error": error,
        "attempts": message.receive_count,
        "event": event,
    }));
    delete(hub, queue, message).await;
}

async fn delete(hub: &Hub, queue: &str, message: &Received) {
    if let Err(e) = hub.queues.delete(queue, &message.receipt_handle).await {
        // Delivered again later: the functions are idempotent for their events.
        tracing::error!(queue, error = %e, "deleting a delivery failed");
    }
}
