//! The `ConfigSeed` custom resource: CloudFormation asks the config function to seed the config
//! table when the stack is created.
//!
//! * Create and Update write the seed rows (`domain::seed`) that are absent: a fresh table gets
//!   the shop settings and the menu, and a row an admin has changed since is left alone.
//! * Delete changes nothing: the config table is retained with the stack, and so are its rows.
//! * Every event is answered by PUTting the result to its pre-signed `ResponseURL`, failures
//!   and malformed events included: an unanswered custom resource keeps the stack waiting
//!   until CloudFormation gives up (an hour by default).

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceRequest as CfnRequest,
    CloudFormationCustomResourceResponse as CfnResponse,
    CloudFormationCustomResourceResponseStatus as CfnStatus,
};
use domain::AppError;
use domain::ports::ConfigSeeder;
use serde_json::Value;
use std::collections::HashMap;

/// The physical id of the seed: stable, so an update never looks like a replacement (which
/// would make CloudFormation send a Delete for the "old" one).
pub const PHYSICAL_ID: &str = "config-seed";

/// CloudFormation rejects response bodies over 4096 bytes; the reason is cut well below that.
const MAX_REASON: usize = 1024;

/// Sends the answer to the pre-signed response URL.
pub trait ResponseSink: Send + Sync {
    fn put(&self, url: &str, body: Vec<u8>) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// True when `event` is a CloudFormation custom-resource request (the only events that carry
/// both of these fields).
pub fn is_custom_resource(event: &Value) -> bool {
    event.get("RequestType").is_some() && event.get("ResponseURL").is_some()
}

/// Handles one custom-resource event and answers CloudFormation. `Err` only when the answer
/// itself could not be delivered (the invocation then fails and Lambda retries it).
pub async fn handle_custom_resource<S: ConfigSeeder, R: ResponseSink>(
    event: Value,
    seeder: &S,
    sink: &R,
) -> Result<(), AppError> {
    let Some(url) = event.get("ResponseURL").and_then(Value::as_str) else {
        return Err(AppError::bad_request(
            "Custom-resource event without a ResponseURL: nobody to answer",
        ));
    };
    let url = url.to_owned();
    let mut response = envelope(&event);
    let outcome = match serde_json::from_value::<CfnRequest>(event) {
        Ok(request) => apply(request, seeder).await,
        Err(e) => Err(AppError::bad_request(format!(
            "Malformed custom-resource event: {e}"
        ))),
    };
    match outcome {
        Ok(data) => {
            response.status = CfnStatus::Success;
            response.data = data;
        }
        Err(err) => {
            tracing::error!(%err, "ConfigSeed failed; answering FAILED");
            response.status = CfnStatus::Failed;
            response.reason = Some(reason(&err));
        }
    }
    let body = serde_json::to_vec(&response)
        .map_err(|e| AppError::internal(format!("The answer could not be encoded: {e}")))?;
    sink.put(&url, body).await
}

async fn apply<S: ConfigSeeder>(
    request: CfnRequest,
    seeder: &S,
) -> Result<HashMap<String, String>, AppError> {
    let written = match request {
        CfnRequest::Create(_) | CfnRequest::Update(_) => seed(seeder).await?,
        CfnRequest::Delete(_) => 0,
        // The enum is non-exhaustive; a request type added later must not be treated as a write.
        _ => {
            return Err(AppError::bad_request("Unknown custom-resource RequestType"));
        }
    };
    Ok(HashMap::from([(
        "RowsWritten".to_owned(),
        written.to_string(),
    )]))
}

async fn seed<S: ConfigSeeder>(seeder: &S) -> Result<usize, AppError> {
    let mut written = 0;
    for row in domain::seed::config_rows()? {
        if seeder.put_if_absent(&row).await? {
            written += 1;
        }
    }
    tracing::info!(written, "config seed applied");
    Ok(written)
}

/// The response fields copied from the request, read leniently so that even an event that
/// does not parse is answered with whatever identifies it.
fn envelope(event: &Value) -> CfnResponse {
    let field = |name: &str| {
        event
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut response = CfnResponse::default();
    response.stack_id = field("StackId");
    response.request_id = field("RequestId");
    response.logical_resource_id = field("LogicalResourceId");
    response.physical_resource_id = event
        .get("PhysicalResourceId")
        .and_then(Value::as_str)
        .unwrap_or(PHYSICAL_ID)
        .to_owned();
    response
}

fn reason(err: &AppError) -> String {
    let mut text = format!("{} (details in the config function's log)", err.message());
    if text.len() > MAX_REASON {
        let mut cut = MAX_REASON;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}
