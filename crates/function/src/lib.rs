//! One way to write a function.
//!
//! A function crate implements [`Function`] (its template logical id, its typed event and
//! output, and how it handles one event) and [`Build`] (how it builds itself from its
//! [`Settings`] and the ports of a [`Platform`]). The same value then runs in both worlds:
//!
//! * in AWS, `main.rs` is one line, [`run`]: tracing, settings from the environment, the SDK
//!   clients built once per cold start ([`AwsPlatform`]), `lambda_runtime`;
//! * locally, the stack builds it on its own platform, with the settings from the function's
//!   `Environment` in `template.yaml`, and keeps it in a [`Registry`] invoked by logical id.
//!
//! Both call [`invoke_json`]: JSON in, JSON out, as Lambda hands a function the bytes, so a
//! malformed event or a failure is reported the same way in both.

mod aws;
mod registry;
mod settings;

pub use aws::{AwsPlatform, run};
pub use registry::{BoxFuture, Registry};
pub use settings::{Settings, SettingsError, Vars};

use apigw::task::TaskFailure;
use chrono::{DateTime, Utc};
use domain::ports::{EventBus, Realtime, TaskCallbacks, WorkflowStarter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;

/// One function of the template.
pub trait Function: Send + Sync + 'static {
    /// Its logical id in `template.yaml` (what the workflow, the rules and the API name).
    const NAME: &'static str;
    /// The event Lambda delivers, as one type (several shapes: one enum).
    type Event: DeserializeOwned + Send + 'static;
    type Output: Serialize + Send;

    fn handle(
        &self,
        event: Self::Event,
        context: Context,
    ) -> impl Future<Output = Result<Self::Output, FunctionError>> + Send;
}

/// How a function builds itself on a platform.
pub trait Build<P: Platform>: Function + Sized {
    type Settings: Settings;

    fn build(settings: Self::Settings, platform: &P) -> Result<Self, SettingsError>;
}

/// The ports that differ between AWS and the local stack. Tables are the same adapters in both
/// (the local stack serves DynamoDB's API), so only the client is the platform's.
pub trait Platform: Send + Sync + 'static {
    type Bus: EventBus + Clone + 'static;
    type Callbacks: TaskCallbacks + 'static;
    type Starter: WorkflowStarter + 'static;
    type Realtime: Realtime + 'static;

    fn dynamo(&self) -> aws_sdk_dynamodb::Client;
    fn bus(&self, bus_name: &str) -> Self::Bus;
    fn callbacks(&self) -> Self::Callbacks;
    fn starter(&self, state_machine_arn: &str) -> Self::Starter;
    /// Realtime messages, published through the IoT data endpoint `endpoint_url` in AWS.
    fn realtime(&self, endpoint_url: &str) -> Self::Realtime;
    /// Whether CloudFormation custom-resource requests reach functions here (and must be
    /// answered at their pre-signed URL).
    fn answers_custom_resources(&self) -> bool;
}

/// What an invocation knows besides its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// When the invocation started.
    pub now: DateTime<Utc>,
}

impl Context {
    pub fn now() -> Self {
        Context { now: Utc::now() }
    }

    pub fn now_ms(&self) -> i64 {
        self.now.timestamp_millis()
    }
}

/// A failed invocation, as Lambda reports it: `errorType` (what the workflow's Retry and Catch
/// match on) and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct FunctionError {
    pub error_type: String,
    pub message: String,
}

impl FunctionError {
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        FunctionError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

impl From<TaskFailure> for FunctionError {
    fn from(f: TaskFailure) -> Self {
        FunctionError::new(f.error, f.cause)
    }
}

impl From<domain::AppError> for FunctionError {
    fn from(e: domain::AppError) -> Self {
        FunctionError::new("AppError", e.message())
    }
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(e: FunctionError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type,
            error_message: e.message,
        }
    }
}

/// One invocation with Lambda's JSON: the event decoded into `F::Event`, handled, the output
/// encoded. A payload that is not an `F::Event` fails as `Runtime.UnmarshalError`.
pub async fn invoke_json<F: Function>(
    function: &F,
    payload: Value,
    context: Context,
) -> Result<Value, FunctionError> {
    let event: F::Event = serde_json::from_value(payload)
        .map_err(|e| FunctionError::new("Runtime.UnmarshalError", format!("{}: {e}", F::NAME)))?;
    let output = function.handle(event, context).await?;
    serde_json::to_value(output)
        .map_err(|e| FunctionError::new("Runtime.MarshalError", format!("{}: {e}", F::NAME)))
}

/// A `Deserialize` for an event enum told apart by a `classify(Value)` function (the shape of
/// the JSON decides the variant, as the functions have always done it).
#[macro_export]
macro_rules! deserialize_by {
    ($event:ty, $classify:path) => {
        impl<'de> serde::Deserialize<'de> for $event {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                $classify(value).map_err(|e| <D::Error as serde::de::Error>::custom(e.message()))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Order {
        quantity: u32,
    }

    /// Doubles the quantity; refuses zero as the workflow's errors do.
    struct Doubler;

    impl Function for Doubler {
        const NAME: &'static str = "DoublerFunction";
        type Event = Order;
        type Output = Value;

        async fn handle(&self, event: Order, _: Context) -> Result<Value, FunctionError> {
            if event.quantity == 0 {
                return Err(
                    TaskFailure::new(apigw::task::INVALID_INPUT, "nothing to double").into(),
                );
            }
            Ok(json!({ "quantity": event.quantity * 2 }))
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn json_in_json_out_with_lambdas_error_names() {
        let call = |payload| block_on(invoke_json(&Doubler, payload, Context::now()));
        assert_eq!(call(json!({"quantity": 2})), Ok(json!({"quantity": 4})));
        let err = call(json!({"quantity": 0})).unwrap_err();
        assert_eq!(
            (err.error_type.as_str(), err.message.as_str()),
            ("InvalidInput", "nothing to double")
        );
        let err = call(json!({"quantity": "two"})).unwrap_err();
        assert_eq!(err.error_type, "Runtime.UnmarshalError");
        assert!(
            err.message.starts_with("DoublerFunction: "),
            "{}",
            err.message
        );
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "Runtime.UnmarshalError");
    }

    #[test]
    fn the_registry_invokes_by_name() {
        let mut registry = Registry::new();
        registry.insert(Doubler);
        assert_eq!(registry.names().collect::<Vec<_>>(), ["DoublerFunction"]);
        let out = block_on(
            registry
                .invoke("DoublerFunction", json!({"quantity": 1}))
                .unwrap(),
        );
        assert_eq!(out, Ok(json!({"quantity": 2})));
        assert!(registry.invoke("Other", json!({})).is_none());
    }
}
