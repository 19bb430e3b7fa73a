//! The hub: everything the local stack runs, in one place, and the ports that route through it.
//!
//! Functions need the bus, the workflow engine and the realtime broker; the bus and the engine
//! deliver to functions. The cycle is broken with a late-bound weak reference ([`HubRef`]):
//! ports hold it, and it is set once the hub exists.

use crate::deliveries::{self, Delivery};
use crate::functions::LocalFunctions;
use crate::outbox::{Outbox, RealtimeLog};
use asl::{BoxFuture, Engine, EngineError, TaskCall, TaskError, TaskHandler};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Timelike;
use domain::AppError;
use domain::events::{EVENT_SOURCE, Event};
use domain::ports::{CallbackError, EventBus, Realtime, Started, TaskCallbacks, WorkflowStarter};
use local::queue::LocalQueues;
use local::rules::Rule;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock, Weak};

pub struct Hub {
    pub functions: LocalFunctions,
    pub rules: Vec<Rule>,
    pub queues: LocalQueues,
    pub engine: Arc<Engine>,
    pub state_machine_arn: String,
    pub outbox: Outbox,
    pub realtime: RealtimeLog,
    pub time_scale: f64,
}

/// A reference to the hub that ports hold; set once when the hub is built.
#[derive(Clone, Default)]
pub struct HubRef(Arc<OnceLock<Weak<Hub>>>);

impl HubRef {
    pub fn set(&self, hub: &Arc<Hub>) {
        let _ = self.0.set(Arc::downgrade(hub));
    }

    pub fn get(&self) -> Result<Arc<Hub>, AppError> {
        self.0
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| AppError::internal("the local stack is not running"))
    }
}

impl Hub {
    /// Puts an event on the bus: every rule that matches delivers it to its targets. The event
    /// is durable when this returns, as with EventBridge: in the target queue, or in the
    /// function's delivery queue ([`deliveries`]), from which it is invoked, retried by the
    /// rule's policy, and dead-lettered if it keeps failing.
    pub async fn put_event(
        self: &Arc<Self>,
        source: &str,
        detail_type: &str,
        detail: Value,
    ) -> Result<String, AppError> {
        let id = uuid::Uuid::new_v4().to_string();
        let envelope = serde_json::to_value(envelope(&id, source, detail_type, detail))
            .map_err(|e| AppError::internal(format!("encoding an event: {e}")))?;
        tracing::debug!(detail_type, "event on the bus");
        for rule in self.rules.iter().filter(|r| r.matches(&envelope)) {
            for target in &rule.targets {
                if self.queues.spec(target).is_some() {
                    self.queues
                        .send(
                            target,
                            &envelope.to_string(),
                            chrono::Utc::now().timestamp_millis(),
                        )
                        .await
                        .map_err(|e| AppError::internal(format!("queue {target}: {e}")))?;
                } else {
                    // Stored first, like EventBridge's accepted events: delivered (and retried)
                    // from the function's delivery queue, which survives a restart.
                    let delivery = Delivery {
                        rule: rule.name.clone(),
                        event: envelope.clone(),
                    };
                    let body = serde_json::to_string(&delivery)
                        .map_err(|e| AppError::internal(format!("encoding an event: {e}")))?;
                    let queue = deliveries::queue_of(target);
                    self.queues
                        .send(&queue, &body, chrono::Utc::now().timestamp_millis())
                        .await
                        .map_err(|e| AppError::internal(format!("queue {queue}: {e}")))?;
                }
            }
        }
        Ok(id)
    }
}

/// The event EventBridge delivers to its targets (its time to the second, as EventBridge's).
fn envelope(id: &str, source: &str, detail_type: &str, detail: Value) -> EventBridgeEvent<Value> {
    let mut event = EventBridgeEvent::default();
    event.version = Some("0".to_owned());
    event.id = Some(id.to_owned());
    event.detail_type = detail_type.to_owned();
    event.source = source.to_owned();
    event.account = Some("000000000000".to_owned());
    event.time = chrono::Utc::now().with_nanosecond(0);
    event.region = Some("local".to_owned());
    event.resources = Some(Vec::new());
    event.detail = detail;
    event
}

/// The event bus port on the local bus.
#[derive(Clone)]
pub struct LocalBus(pub HubRef);

impl EventBus for LocalBus {
    // Boxed: bus deliveries run functions that publish to the bus again, so the future types
    // would otherwise contain themselves.
    fn publish(
        &self,
        event: Event,
    ) -> impl std::future::Future<Output = Result<(), AppError>> + Send {
        let hub = self.0.clone();
        let fut: BoxFuture<'static, Result<(), AppError>> = Box::pin(async move {
            hub.get()?
                .put_event(EVENT_SOURCE, &event.detail_type, event.detail)
                .await
                .map(|_| ())
        });
        fut
    }
}

fn callback_error(e: EngineError) -> CallbackError {
    match e {
        EngineError::InvalidToken(m) | EngineError::TaskDoesNotExist(m) => {
            CallbackError::TaskGone(m)
        }
        other => CallbackError::Other(AppError::internal(other.to_string())),
    }
}

/// Workflow callbacks on the local engine.
#[derive(Clone)]
pub struct LocalCallbacks(pub HubRef);

impl TaskCallbacks for LocalCallbacks {
    async fn send_success(&self, task_token: &str, output: Value) -> Result<(), CallbackError> {
        let hub = self.0.get().map_err(CallbackError::Other)?;
        hub.engine
            .send_task_success(task_token, output)
            .map_err(callback_error)
    }

    async fn send_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError> {
        let hub = self.0.get().map_err(CallbackError::Other)?;
        hub.engine
            .send_task_failure(task_token, Some(error), Some(cause))
            .map_err(callback_error)
    }
}

/// Workflow starts on the local engine.
#[derive(Clone)]
pub struct LocalStarter(pub HubRef);

impl WorkflowStarter for LocalStarter {
    async fn start(&self, name: &str, input: &Value) -> Result<Started, AppError> {
        let hub = self.0.get()?;
        match hub
            .engine
            .start_execution(&hub.state_machine_arn, Some(name), input.clone())
        {
            Ok(arn) => Ok(Started::New(arn)),
            Err(EngineError::ExecutionAlreadyExists(_)) => Ok(Started::AlreadyExists),
            Err(e) => Err(AppError::internal(format!("starting the workflow: {e}"))),
        }
    }
}

/// Realtime publishing to the local broker.
#[derive(Clone)]
pub struct LocalRealtime(pub HubRef);

impl Realtime for LocalRealtime {
    async fn publish(&self, topic: &str, payload: &Value) -> Result<(), AppError> {
        self.0.get()?.realtime.publish(topic, payload).await
    }
}

/// Realtime access on the local stack: the local broker checks each connection's local token
/// against the same topic rules (`mqtt::policy`), so there is no identity pool and no policy to
/// attach; the identity is the caller's `sub`.
#[derive(Clone, Copy, Default)]
pub struct LocalRealtimeAccess;

impl domain::ports::RealtimeAccess for LocalRealtimeAccess {
    async fn grant(&self, caller: &domain::Caller, _id_token: &str) -> Result<String, AppError> {
        Ok(format!("local:{}", caller.sub))
    }
}

/// The workflow's Task resources, served locally: Lambda invokes go to the local functions,
/// EventBridge `putEvents` to the local bus, SNS `publish` to the notification outbox.
pub struct LocalTasks(pub HubRef);

impl TaskHandler for LocalTasks {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'static, Result<Value, TaskError>> {
        let hub = self.0.clone();
        // One span per task, named by the order (the execution's name): one order can be
        // followed through the log from step to step.
        let order = call.execution_arn.rsplit(':').next().unwrap_or_default();
        let span = tracing::info_span!("task", order_id = %order, state = %call.state_name, attempt = call.retry_count);
        Box::pin(tracing::Instrument::instrument(
            async move {
                let hub = hub
                    .get()
                    .map_err(|e| TaskError::new("States.TaskFailed", e.message()))?;
                let resource = call.resource.trim_end_matches(".waitForTaskToken");
                match resource {
                    "arn:aws:states:::lambda:invoke" => invoke_lambda(&hub, &call.input).await,
                    "arn:aws:states:::events:putEvents" => put_events(&hub, &call.input).await,
                    "arn:aws:states:::sqs:sendMessage" => send_message(&hub, &call.input).await,
                    "arn:aws:states:::sns:publish" => {
                        let step = format!("{}#{}", call.execution_arn, call.state_name);
                        Ok(hub.outbox.publish(call.input.clone(), &step))
                    }
                    other => Err(TaskError::new(
                        "States.TaskFailed",
                        format!("the local stack does not serve the resource {other}"),
                    )),
                }
            },
            span,
        ))
    }
}

async fn invoke_lambda(hub: &Hub, input: &Value) -> Result<Value, TaskError> {
    let arn = input["FunctionName"].as_str().unwrap_or_default();
    // arn:aws:lambda:local:000000000000:function:<LogicalId>
    let function = arn.rsplit(':').next().unwrap_or_default();
    let payload = input.get("Payload").cloned().unwrap_or(Value::Null);
    match hub.functions.invoke(function, payload).await {
        Ok(out) => Ok(json!({ "Payload": out, "StatusCode": 200, "ExecutedVersion": "$LATEST" })),
        // Lambda's function error: the error name is the errorType, the cause its JSON report.
        Err(e) => Err(TaskError::new(
            e.error_type.clone(),
            json!({ "errorType": e.error_type, "errorMessage": e.message }).to_string(),
        )),
    }
}

/// SQS `SendMessage` to a template queue (`QueueUrl` resolves locally to the queue's ARN,
/// whose last part is its logical id); a JSON `MessageBody` is sent as its text, as AWS does.
async fn send_message(hub: &Hub, input: &Value) -> Result<Value, TaskError> {
    let url = input["QueueUrl"].as_str().unwrap_or_default();
    let queue = url.rsplit([':', '/']).next().unwrap_or_default();
    let body = match &input["MessageBody"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let id = hub
        .queues
        .send(queue, &body, chrono::Utc::now().timestamp_millis())
        .await
        .map_err(|e| TaskError::new("SQS.AmazonSQSException", e.to_string()))?;
    Ok(json!({ "MessageId": id }))
}

async fn put_events(hub: &Arc<Hub>, input: &Value) -> Result<Value, TaskError> {
    let mut ids = Vec::new();
    for entry in input["Entries"].as_array().into_iter().flatten() {
        let detail = match &entry["Detail"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
            other => other.clone(),
        };
        let source = entry["Source"].as_str().unwrap_or_default();
        let detail_type = entry["DetailType"].as_str().unwrap_or_default();
        let id = hub
            .put_event(source, detail_type, detail)
            .await
            .map_err(|e| TaskError::new("EventBridge.InternalException", e.message()))?;
        ids.push(json!({ "EventId": id }));
    }
    Ok(json!({ "Entries": ids, "FailedEntryCount": 0 }))
}
