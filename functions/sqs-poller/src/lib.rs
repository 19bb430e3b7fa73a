//! The SQS poller: every order enters the workflow here.
//!
//! The QR and direct entry paths end in one queue; orders created through the orders API
//! (`POST /new-order`) arrive as new rows of its table's stream ([`handle_stream`]). For each
//! message or row this function builds the one workflow input
//! ([`OrderRequest::from_queue_message`], [`OrderRequest::from_api_order`]) and starts one
//! execution **named by the order id**,
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

mod handler;
pub use handler::{Handler, Output, Settings, SqsPoller};

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::AppError;
use domain::lifecycle::{OrderRequest, Pricing};
use domain::ports::{Started, WorkflowStarter};
use serde_json::Value;

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

/// Starts one workflow per order created through the orders API (`POST /new-order`), whose
/// new rows arrive on the OrdersApiTable stream. The row is the accepted order; its
/// `lifecycle_id` names the execution, so a retried batch finds it already started.
///
/// Records of a shard must be handled in order: at the first record that fails, it is reported
/// (with everything after it, which Lambda retries from there) and the rest waits. A row that
/// cannot be read fails on every retry until the mapping gives up and sends it to its
/// on-failure destination (OrdersApiStreamDLQ, with an alarm).
pub async fn handle_stream<S: WorkflowStarter>(
    event: StreamEvent,
    starter: &S,
) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        // Only new rows are orders; the mapping's filter says the same in AWS.
        if record.event_name != "INSERT" {
            continue;
        }
        match start_api_order(record, starter).await {
            Ok((order_id, started)) => {
                tracing::info!(order_id, ?started, "orders-API order workflow started");
            }
            Err(failure) => {
                let (order_id, err) = match &failure {
                    Failure::Malformed(err) => (None, err),
                    Failure::Start { order_id, err } => (Some(order_id.as_str()), err),
                };
                tracing::error!(
                    sequence_number = record.change.sequence_number.as_deref(),
                    order_id,
                    error = %err,
                    "orders-API order not started; the stream retries it"
                );
                let mut failed = DynamoDbBatchItemFailure::default();
                failed.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failed);
                break;
            }
        }
    }
    response
}

async fn start_api_order<S: WorkflowStarter>(
    record: &EventRecord,
    starter: &S,
) -> Result<(String, Started), Failure> {
    let order = adapters::orders_api::order_from_image(record.change.new_image.clone())
        .map_err(Failure::Malformed)?;
    let request = OrderRequest::from_api_order(&order).map_err(Failure::Malformed)?;
    start(request, starter).await
}

/// What one invocation carries: the queue's messages or the orders-API table's new rows, told
/// apart by the records' `eventSource`.
pub enum Invocation {
    Queue(SqsEvent),
    Stream(StreamEvent),
}

impl Invocation {
    pub fn classify(event: Value) -> Result<Self, AppError> {
        let source = event["Records"][0]["eventSource"]
            .as_str()
            .unwrap_or_default();
        if source == "aws:dynamodb" {
            serde_json::from_value(event)
                .map(Invocation::Stream)
                .map_err(|e| AppError::bad_request(format!("Malformed DynamoDB stream event: {e}")))
        } else {
            serde_json::from_value(event)
                .map(Invocation::Queue)
                .map_err(|e| AppError::bad_request(format!("Malformed SQS event: {e}")))
        }
    }
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
    start(request, starter).await
}

/// Starts the execution of `request`, named by its order id.
async fn start<S: WorkflowStarter>(
    request: OrderRequest,
    starter: &S,
) -> Result<(String, Started), Failure> {
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
