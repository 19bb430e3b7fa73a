//! The local stack: the whole backend on one machine, with no AWS account and no Docker.
//!
//! What runs, all in this process, on loopback:
//! * DynamoDB: the embedded dynoxide engine, tables from `template.yaml`, seeded config, and
//!   table streams delivered to the functions the template subscribes (config → ConfigChanged);
//! * every function of the template (the same handler code as the Lambda binaries);
//! * the order workflow on the `asl` engine (executions checkpointed to the data directory);
//! * EventBridge: the template's rules, matched locally;
//! * SQS: durable queues with visibility timeouts and the template's redrive policies, polled
//!   into the functions they feed;
//! * SNS: an outbox of notifications; realtime: a log and a broadcast of published messages;
//! * the API gateway (routes, auth, validation and throttling from the template's OpenAPI body).
//!
//! Time-based waits can be scaled (`time_scale` 0.01 makes the workflow's 30 s grace period
//! take 0.3 s); the default is real time.

pub mod assets;
pub mod deliveries;
pub mod docs;
pub mod functions;
pub mod hub;
pub mod mqtt;
pub mod outbox;
pub mod redact;
pub mod streams;
pub mod web;

pub use web::{auth_key, serve};

use crate::functions::{LocalFunctions, LocalPlatform};
use crate::hub::{Hub, HubRef, LocalTasks};
use crate::outbox::{Outbox, RealtimeLog};
use asl::{Engine, ExecutionStore, FileStore, MemoryStore, RealClock};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use local::queue::LocalQueues;
use local::template::EventSource;
use local::{EmbeddedDynamo, Template};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Local(#[from] local::LocalError),
    #[error("workflow: {0}")]
    Workflow(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("template: {0}")]
    Template(String),
}

#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where state is kept (DynamoDB file, executions, outboxes); `None` keeps it in memory.
    pub data_dir: Option<PathBuf>,
    /// Multiplies every workflow wait, heartbeat and retry interval (and queue visibility).
    pub time_scale: f64,
    /// Where the embedded DynamoDB listens (for the AWS CLI or other tools).
    pub dynamo_addr: String,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            data_dir: None,
            time_scale: 1.0,
            dynamo_addr: "127.0.0.1:0".to_owned(),
        }
    }
}

pub struct Stack {
    pub hub: Arc<Hub>,
    /// `template.yaml`, read once at start; every emulator took its part from it.
    pub template: Arc<Template>,
    pub dynamo: EmbeddedDynamo,
    background: Vec<JoinHandle<()>>,
}

/// How long an idle queue poller waits before looking again.
const POLL_IDLE: Duration = Duration::from_millis(50);

impl Stack {
    pub async fn start(options: StackOptions) -> Result<Stack, StackError> {
        let mut template = Template::load()?;
        scale_cart_hold(&mut template, options.time_scale)?;
        let template = Arc::new(template);
        let dynamo = open_dynamo(&options, &template).await?;
        let client = dynamo.client();
        let rules = template.rules();
        let (queues, delivered) = open_queues(&template, &rules, &client, &options).await?;

        let hub_ref = HubRef::default();
        let (engine, state_machine_arn) = start_engine(&template, &hub_ref, &options)?;
        let platform = LocalPlatform::new(client, hub_ref.clone());
        let hub = Arc::new(Hub {
            functions: LocalFunctions::new(&platform, &template)?,
            rules,
            queues,
            engine: engine.clone(),
            state_machine_arn,
            outbox: Outbox::new(options.data_dir.clone()),
            realtime: RealtimeLog::new(options.data_dir.clone()),
            time_scale: options.time_scale,
        });
        hub_ref.set(&hub);

        let resumed = engine
            .resume()
            .map_err(|e| StackError::Workflow(e.to_string()))?;
        if resumed > 0 {
            tracing::info!(resumed, "resumed running order workflows");
        }
        let background = spawn_background(&hub, &template, &dynamo, delivered, &options).await?;
        Ok(Stack {
            hub,
            template,
            dynamo,
            background,
        })
    }

    /// Stops the background work and the database server.
    pub async fn stop(self) {
        for task in &self.background {
            task.abort();
        }
        self.dynamo.stop().await;
    }
}

/// Feeds a queue to the function that consumes it, like Lambda's SQS event source mapping:
/// batches, partial batch failures (failed messages return after the visibility timeout),
/// deletes what succeeded.
async fn poll_queue(hub: Arc<Hub>, source: EventSource) {
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let batch = match hub
            .queues
            .receive(&source.source, source.batch_size, now)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = %source.source, error = %e, "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::time::sleep(POLL_IDLE).await;
            continue;
        }
        let event = sqs_event(&source.source, &batch);
        let ids: Vec<&str> = batch.iter().map(|m| m.message_id.as_str()).collect();
        let span = tracing::info_span!("queue batch", queue = %source.source, function = %source.function, messages = ?ids);
        let invocation = hub.functions.invoke_event(&source.function, &event);
        let failed: Vec<String> = match tracing::Instrument::instrument(invocation, span).await {
            Ok(response) => response["batchItemFailures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                .collect(),
            Err(e) => {
                // The whole batch failed: every message returns after its visibility timeout.
                tracing::error!(function = %source.function, error = %e.message, "batch failed");
                batch.iter().map(|m| m.message_id.clone()).collect()
            }
        };
        for m in &batch {
            if !failed.contains(&m.message_id)
                && let Err(e) = hub.queues.delete(&source.source, &m.receipt_handle).await
            {
                tracing::error!(queue = %source.source, error = %e, "delete failed; the message will be delivered again");
            }
        }
    }
}

/// The SQS event Lambda's event source mapping delivers for `batch` of queue `queue`.
fn sqs_event(queue: &str, batch: &[local::queue::Received]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = batch
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = Some(m.message_id.clone());
            record.receipt_handle = Some(m.receipt_handle.clone());
            record.body = Some(m.body.clone());
            record.attributes = [
                ("ApproximateReceiveCount", m.receive_count.to_string()),
                ("SentTimestamp", m.sent_at_ms.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{queue}"));
            record.aws_region = Some("local".to_owned());
            record
        })
        .collect();
    event
}

/// The embedded DynamoDB (persistent in the data directory, else in memory) with the
/// template's tables.
async fn open_dynamo(
    options: &StackOptions,
    template: &Template,
) -> Result<EmbeddedDynamo, StackError> {
    let dynamo = match &options.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            EmbeddedDynamo::start_persistent(&dir.join("dynamo.db"), &options.dynamo_addr).await?
        }
        None => EmbeddedDynamo::start_in_memory().await?,
    };
    dynamo.provision(&template.tables()?, str::to_owned).await?;
    Ok(dynamo)
}

/// The template's queues plus one delivery queue per function that a bus rule targets (so a
/// delivery survives a restart); returns the queues and those functions.
async fn open_queues(
    template: &Template,
    rules: &[local::rules::Rule],
    client: &aws_sdk_dynamodb::Client,
    options: &StackOptions,
) -> Result<(LocalQueues, Vec<String>), StackError> {
    let mut specs = template.queues();
    let template_queues: Vec<String> = specs.iter().map(|q| q.logical_id.clone()).collect();
    let delivery_specs =
        deliveries::queue_specs(rules, |id| template_queues.iter().any(|q| q == id));
    let delivered: Vec<String> = delivery_specs
        .iter()
        .filter_map(|q| q.logical_id.strip_prefix("bus-deliveries/"))
        .map(str::to_owned)
        .collect();
    specs.extend(delivery_specs);
    let queues = LocalQueues::open(client.clone(), specs, options.time_scale).await?;
    Ok((queues, delivered))
}

/// The workflow engine (executions kept in the data directory, else in memory) with the
/// template's state machine, its substitutions resolved to local values.
fn start_engine(
    template: &Template,
    hub_ref: &HubRef,
    options: &StackOptions,
) -> Result<(Arc<Engine>, String), StackError> {
    let workflow = |e: &dyn std::fmt::Display| StackError::Workflow(e.to_string());
    let store: Arc<dyn ExecutionStore> = match &options.data_dir {
        Some(dir) => Arc::new(FileStore::new(dir.join("executions")).map_err(|e| workflow(&e))?),
        None => Arc::new(MemoryStore::new()),
    };
    let engine = Arc::new(
        Engine::builder(Arc::new(LocalTasks(hub_ref.clone())))
            .clock(Arc::new(RealClock::scaled(options.time_scale)))
            .store(store)
            .build(),
    );
    let machine = template.state_machine()?;
    let definition = std::fs::read_to_string(&machine.definition_path)?;
    let definition =
        asl::substitute(&definition, &machine.substitutions).map_err(|e| workflow(&e))?;
    let arn = engine
        .create_state_machine("OrderProcessor", &definition)
        .map_err(|e| workflow(&e))?;
    Ok((engine, arn))
}

/// What runs beside the API: queue pollers (event source mappings), bus deliveries, table
/// stream readers, the TTL sweeper and the cart's hold sweeper.
async fn spawn_background(
    hub: &Arc<Hub>,
    template: &Template,
    dynamo: &EmbeddedDynamo,
    delivered: Vec<String>,
    options: &StackOptions,
) -> Result<Vec<JoinHandle<()>>, StackError> {
    let mut background = Vec::new();
    for source in template.sqs_sources() {
        background.push(tokio::spawn(poll_queue(hub.clone(), source)));
    }
    for function in delivered {
        background.push(tokio::spawn(deliveries::deliver_forever(
            hub.clone(),
            function,
        )));
    }
    for source in template.stream_sources() {
        // Opened before start() returns: every change from now on is delivered.
        let cursor = options
            .data_dir
            .as_ref()
            .map(|dir| streams::Cursor::new(dir, &source.source));
        let reader = streams::StreamReader::open(dynamo.database(), &source.source, cursor)
            .await
            .map_err(|e| StackError::Template(format!("stream of {}: {e}", source.source)))?;
        background.push(tokio::spawn(reader.feed(hub.clone(), source)));
    }
    let sweep_every = Duration::from_millis(
        u64::try_from(scaled_ms(60_000, options.time_scale).max(20)).unwrap_or(60_000),
    );
    background.push(tokio::spawn(sweep_ttl(dynamo.database().clone())));
    background.push(tokio::spawn(sweep_cart_holds(hub.clone(), sweep_every)));
    Ok(background)
}

/// The cart's hold (`CartHoldMinutes`) runs on the stack's clock like every other wait, so a
/// scaled stack expires holds as much sooner as it runs its workflow waits. The function reads
/// the (possibly fractional) minutes from its environment, as in AWS.
fn scale_cart_hold(template: &mut Template, time_scale: f64) -> Result<(), StackError> {
    if time_scale == 1.0 {
        return Ok(());
    }
    let minutes: f64 = template
        .parameter("CartHoldMinutes")
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| StackError::Template("CartHoldMinutes has no numeric default".into()))?;
    template.set_parameter("CartHoldMinutes", &(minutes * time_scale).to_string())?;
    Ok(())
}

/// A duration in ms multiplied by the stack's time scale.
fn scaled_ms(ms: i64, time_scale: f64) -> i64 {
    (ms as f64 * time_scale).round() as i64
}

/// The cart's hold sweeper on the schedule the template gives it in AWS (every minute, scaled
/// like every other wait), invoked with the event an EventBridge schedule delivers.
async fn sweep_cart_holds(hub: Arc<Hub>, every: Duration) {
    let tick = json!({ "source": "aws.events", "detail-type": "Scheduled Event", "detail": {} });
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = hub.functions.invoke("CartFunction", tick.clone()).await {
            tracing::warn!(error = %e.message, "cart hold sweep failed; the next one retries");
        }
    }
}

/// dynoxide expires TTL items only when asked (reference/dynoxide.md §6).
async fn sweep_ttl(db: dynoxide::Database) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.sweep_ttl()).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(deleted = n, "expired items swept"),
            Ok(Err(e)) => tracing::warn!(error = %e, "TTL sweep failed"),
            _ => {}
        }
    }
}

/// Human-readable logs (`RUST_LOG` to change the level; default: info for the stack's crates).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,dynoxide=warn,aws_smithy_runtime=warn,aws_config=warn,hyper=warn,rumqttd=warn,rumqttd::router::routing=off",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
