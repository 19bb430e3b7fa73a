//! The SQS poller: every order enters the workflow here.
//!
//! All entry paths (QR scan, direct `POST /orders`, checkout, orders API) end in one queue. For
//! each message this function builds the one workflow input
//! ([`OrderRequest::from_queue_message`]) and starts one execution **named by the order id**,
//! so a redelivered message finds its execution already there instead of starting a second one
//! (Step Functions keeps a Standard execution's name for 90 days).
//!
//! Failures are reported per message (partial batch response; the event source mapping must
//! enable `ReportBatchItemFailures`): a message that failed returns to the queue and is
//! retried after its visibility timeout, while the rest of the batch is deleted. Unlike the
//! original poller, which logged and swallowed every error (a failed start was a lost order and
//! the DLQ was never used), nothing here is dropped:
//!
//! * a start that fails (throttling, service error) is retried by redelivery;
//! * a **malformed message** fails on every delivery too, until SQS moves it to the dead-letter
//!   queue after `maxReceiveCount` receives; that is where an operator finds it, with the
//!   reason in this function's error log under its message id.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use domain::AppError;
use domain::lifecycle::{OrderRequest, Pricing};
use domain::ports::{Started, WorkflowStarter};

/// The SQS system attribute holding when the queue accepted the message (epoch ms).
const SENT_TIMESTAMP: &str = "SentTimestamp";

/// Starts one workflow execution per message and reports the messages that must be retried.
///
/// Records are started one after the other: a batch holds at most 10 messages (the event
/// source's `BatchSize`), each start is one short API call, and going in order keeps two
/// copies of one message in the same batch deterministic (the second finds the first's
/// execution). The response lists exactly the messages that did not start.
pub async fn handle<S: WorkflowStarter>(
    event: SqsEvent,
    starter: &S,
    pricing: Pricing,
    now_ms: i64,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        // SQS always sets the id. Were it missing, the failure below would carry an empty
        // identifier, which Lambda treats as a failure of the whole batch: every message is
        // then retried, which is safe because starts are idempotent, rather than lost.
        let message_id = record.message_id.as_deref().unwrap_or_default();
        match start_one(record, message_id, starter, pricing, now_ms).await {
            Ok((order_id, Started::New(execution))) => {
                tracing::info!(message_id, order_id, execution, "order workflow started");
            }
            Ok((order_id, Started::AlreadyExists)) => {
                // A redelivery (or a duplicate delivery) of a message already started.
                tracing::info!(
                    message_id,
                    order_id,
                    "order workflow already started; nothing to do"
                );
            }
            Err(Failure::Malformed(err)) => {
                tracing::error!(
                    message_id,
                    error = %err,
                    "malformed order message; it fails on every delivery until the queue moves it to the DLQ"
                );
                response.add_failure(message_id);
            }
            Err(Failure::Start { order_id, err }) => {
                tracing::error!(
                    message_id,
                    order_id,
                    error = %err,
                    "starting the order workflow failed; the message will be redelivered"
                );
                response.add_failure(message_id);
            }
        }
    }
    response
}

/// Why one message did not start a workflow.
enum Failure {
    /// The message cannot become an order; retrying will not help.
    Malformed(AppError),
    /// The order is fine but the workflow could not be started; a retry may succeed.
    Start { order_id: String, err: AppError },
}

async fn start_one<S: WorkflowStarter>(
    record: &SqsMessage,
    message_id: &str,
    starter: &S,
    pricing: Pricing,
    now_ms: i64,
) -> Result<(String, Started), Failure> {
    let body = record
        .body
        .as_deref()
        .ok_or_else(|| Failure::Malformed(AppError::bad_request("message has no body")))?;
    let accepted_ms = sent_timestamp(record).unwrap_or(now_ms);
    let request = OrderRequest::from_queue_message(message_id, body, pricing, accepted_ms)
        .map_err(Failure::Malformed)?;
    let input = serde_json::to_value(&request).map_err(|e| {
        Failure::Malformed(AppError::internal(format!(
            "encoding the workflow input failed: {e}"
        )))
    })?;
    match starter.start(&request.order_id, &input).await {
        Ok(started) => Ok((request.order_id, started)),
        Err(err) => Err(Failure::Start {
            order_id: request.order_id,
            err,
        }),
    }
}

/// When the queue accepted the message. A direct order's `acceptedAt` is this time rather than
/// the poller's clock, so it says when the customer ordered even if the message waited or was
/// retried, and every delivery of one message builds the identical workflow input.
fn sent_timestamp(record: &SqsMessage) -> Option<i64> {
    record
        .attributes
        .get(SENT_TIMESTAMP)
        .and_then(|t| t.trim().parse().ok())
}
