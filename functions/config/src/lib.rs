//! The config service: the shop's open/closed switch and the menu.
//!
//! * `GET /config` (public) and `GET /admin-config`: every config row, each with a `topic`
//!   field naming its `PK` (what the original frontends look for);
//! * `PUT /store?state=open|closed` (admin): opens or closes the shop;
//! * the config table's stream: every changed row becomes `ConfigService.ConfigChanged`
//!   carrying the row's new image in DynamoDB JSON (what the frontends read);
//! * the `ConfigSeed` custom resource: CloudFormation's create/update/delete ([`custom_resource`]).

pub mod custom_resource;
mod handler;
pub use handler::{Config, Handler, Output, Settings};
pub mod https;

use apigw::{Request, Response};
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::AppError;
use domain::events::{ConfigChanged, Detail};
use domain::ports::{ConfigReader, EventBus, ShopSwitch};
use serde_json::{Value, json};

pub async fn handle_api<C: ConfigReader + ShopSwitch>(req: &Request, config: &C) -> Response {
    apigw::respond(route(req, config).await)
}

async fn route<C: ConfigReader + ShopSwitch>(
    req: &Request,
    config: &C,
) -> Result<(u16, Value), AppError> {
    let (method, resource) = apigw::route(req);
    match (method.as_str(), resource.as_str()) {
        ("GET", "/config") => config_rows(config).await,
        ("GET", "/admin-config") => {
            apigw::caller(req)?;
            config_rows(config).await
        }
        ("PUT", "/store") => {
            apigw::caller(req)?.require_admin()?;
            let open = match apigw::query(req, "state") {
                Some("open") => true,
                Some("closed") => false,
                other => {
                    return Err(AppError::bad_request(format!(
                        "Query parameter 'state' must be 'open' or 'closed', got {}",
                        other.map_or("nothing".to_owned(), |s| format!("'{s}'"))
                    )));
                }
            };
            config.set_store_open(open).await?;
            Ok((
                200,
                json!({ "state": if open { "open" } else { "closed" } }),
            ))
        }
        _ => Err(apigw::no_route(req)),
    }
}

/// Every config row with its `topic`, the menu row first: the original order app reads the
/// menu as `data[0].value`. A scan's order is not defined (DynamoDB returns rows in hash order,
/// the embedded engine in key order, where `config` sorts before `menu`), so it is set here.
async fn config_rows<C: ConfigReader>(config: &C) -> Result<(u16, Value), AppError> {
    let mut rows = config.items().await?;
    rows.sort_by_key(|row| row.get("PK").and_then(Value::as_str) != Some("menu"));
    let rows = rows
        .into_iter()
        .map(|mut row| {
            if let Some(map) = row.as_object_mut() {
                let pk = map.get("PK").cloned().unwrap_or(Value::Null);
                map.insert("topic".to_owned(), pk);
            }
            row
        })
        .collect();
    Ok((200, Value::Array(rows)))
}

/// Turns config-table changes into `ConfigService.ConfigChanged` events. A record that fails to
/// publish is reported back so the stream retries it (and what follows it) rather than losing it.
pub async fn handle_stream<B: EventBus>(event: StreamEvent, bus: &B) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        let change = &record.change;
        // Removals and writes that changed nothing are not news.
        if change.new_image.inner().is_empty() || change.new_image == change.old_image {
            continue;
        }
        let detail = ConfigChanged {
            new_image: serde_json::to_value(&change.new_image).unwrap_or(Value::Null),
        };
        if let Err(err) = bus.publish(detail.to_event()).await {
            tracing::error!(event_id = %record.event_id, %err, "ConfigChanged not published; the stream will retry");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            // Records of one shard must stay in order: stop at the first failure.
            break;
        }
    }
    response
}

/// What one Lambda invocation carries: the config function serves the API, the table stream
/// and the seed custom resource, told apart by the event's shape.
pub enum Invocation {
    Api(Box<Request>),
    Stream(StreamEvent),
    /// Kept as JSON: even a malformed request must be answered ([`custom_resource`]).
    CustomResource(Value),
}

impl Invocation {
    pub fn classify(event: Value) -> Result<Self, AppError> {
        if custom_resource::is_custom_resource(&event) {
            Ok(Invocation::CustomResource(event))
        } else if event.get("Records").is_some() {
            serde_json::from_value(event)
                .map(Invocation::Stream)
                .map_err(|e| AppError::bad_request(format!("Malformed DynamoDB stream event: {e}")))
        } else {
            serde_json::from_value(event)
                .map(|r| Invocation::Api(Box::new(r)))
                .map_err(|e| AppError::bad_request(format!("Malformed API Gateway event: {e}")))
        }
    }
}
