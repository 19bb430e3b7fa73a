//! Every function of the template, built on the local platform and invoked by logical id with
//! the JSON event Lambda would deliver. These are the very `Function` values the Lambda
//! binaries run (`functions/*/src/main.rs`); only the platform's ports differ, and the settings
//! come from each function's `Environment` in `template.yaml` instead of the process's.

use crate::StackError;
use crate::hub::{
    HubRef, LocalBus, LocalCallbacks, LocalRealtime, LocalRealtimeAccess, LocalStarter,
};
use function::{Build, Platform, Registry, Vars};
use local::Template;
use serde_json::Value;

/// A function invocation that failed, as Lambda reports it (`errorType`, `errorMessage`).
pub use function::FunctionError as InvokeError;

/// The ports of the local stack: the embedded DynamoDB, and the hub's bus, workflow engine and
/// realtime broker.
pub struct LocalPlatform {
    dynamo: aws_sdk_dynamodb::Client,
    hub: HubRef,
}

impl LocalPlatform {
    pub fn new(dynamo: aws_sdk_dynamodb::Client, hub: HubRef) -> Self {
        LocalPlatform { dynamo, hub }
    }
}

impl Platform for LocalPlatform {
    type Bus = LocalBus;
    type Callbacks = LocalCallbacks;
    type Starter = LocalStarter;
    type Realtime = LocalRealtime;

    fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        self.dynamo.clone()
    }

    /// One local bus, whatever its name.
    fn bus(&self, _bus_name: &str) -> LocalBus {
        LocalBus(self.hub.clone())
    }

    fn callbacks(&self) -> LocalCallbacks {
        LocalCallbacks(self.hub.clone())
    }

    /// One local workflow: the hub starts its executions.
    fn starter(&self, _state_machine_arn: &str) -> LocalStarter {
        LocalStarter(self.hub.clone())
    }

    fn realtime(&self, _endpoint_url: &str) -> LocalRealtime {
        LocalRealtime(self.hub.clone())
    }

    /// No CloudFormation here: the local stack seeds the config rows when it starts.
    fn answers_custom_resources(&self) -> bool {
        false
    }
}

/// Realtime access has no identity pool to ask locally: the broker checks each connection's
/// local token itself ([`LocalRealtimeAccess`]), so the function needs no settings here.
impl Build<LocalPlatform> for realtime_access::RealtimeAccessFn<LocalRealtimeAccess> {
    type Settings = ();

    fn build((): (), _: &LocalPlatform) -> Result<Self, function::SettingsError> {
        Ok(realtime_access::RealtimeAccessFn {
            access: LocalRealtimeAccess,
        })
    }
}

/// Variables whose template value names a resource only a deployment has, with what stands
/// for it here: product images are served by the stack itself under `/assets` (CloudFront in
/// AWS), so image URLs are relative to the stack's own address.
const LOCAL_VALUES: &[(&str, &str)] = &[("ASSETS_BASE_URL", "/assets")];

/// Builds functions on the local platform with their template environment.
struct Functions<'a> {
    platform: &'a LocalPlatform,
    template: &'a Template,
    registry: Registry,
}

impl Functions<'_> {
    fn add<F: Build<LocalPlatform>>(&mut self) -> Result<&mut Self, StackError> {
        let vars: Vars = self
            .template
            .function_environment_with(F::NAME, LOCAL_VALUES)?
            .into_iter()
            .collect();
        self.registry
            .add::<F, _>(self.platform, &vars)
            .map_err(|e| StackError::Template(e.to_string()))?;
        Ok(self)
    }
}

pub struct LocalFunctions {
    registry: Registry,
}

impl LocalFunctions {
    /// Every function the local stack runs: one line each. (`AuthChallengeFunction` is not
    /// here: its triggers belong to Cognito, which the local stack does not emulate.)
    pub fn new(platform: &LocalPlatform, template: &Template) -> Result<Self, StackError> {
        let mut f = Functions {
            platform,
            template,
            registry: Registry::new(),
        };
        f.add::<config::Handler<LocalPlatform>>()?
            .add::<qr_validator::Handler<LocalPlatform>>()?
            .add::<counting::Handler>()?
            .add::<order_manager::Handler<LocalPlatform>>()?
            .add::<manage_state::Handler<LocalPlatform>>()?
            .add::<process_payment::Handler>()?
            .add::<send_to_restaurant::Handler<LocalPlatform>>()?
            .add::<sqs_poller::Handler<LocalPlatform>>()?
            .add::<publisher::Handler<LocalPlatform>>()?
            .add::<realtime_access::RealtimeAccessFn<LocalRealtimeAccess>>()?
            .add::<catalog::Handler>()?
            .add::<cart::Handler<LocalPlatform>>()?;
        Ok(LocalFunctions {
            registry: f.registry,
        })
    }

    /// The logical ids served.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.registry.names()
    }

    /// [`invoke`](Self::invoke) behind a named future type, for callers (bus deliveries) whose
    /// own futures would otherwise be part of a recursive type.
    pub fn invoke_boxed<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> asl::BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(self.invoke(function, payload))
    }

    /// Invokes `function` with a typed event, serialised as Lambda would hand it over.
    pub async fn invoke_event(
        &self,
        function: &str,
        event: &impl serde::Serialize,
    ) -> Result<Value, InvokeError> {
        let payload = serde_json::to_value(event)
            .map_err(|e| InvokeError::new("Runtime.MarshalError", e.to_string()))?;
        self.invoke(function, payload).await
    }

    /// Invokes `function` (a logical id) with `payload`, as Lambda would.
    pub async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        match self.registry.invoke(function, payload) {
            Some(invocation) => invocation.await,
            None => Err(InvokeError::new(
                "ResourceNotFoundException",
                format!("no local function {function}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform() -> LocalPlatform {
        // Building touches no endpoint: a client that points nowhere will do.
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("local"))
            .build();
        LocalPlatform::new(
            aws_sdk_dynamodb::Client::from_conf(config),
            HubRef::default(),
        )
    }

    fn project_template() -> String {
        std::fs::read_to_string(local::workspace_root().join("template.yaml")).unwrap()
    }

    fn build_error(template: &Template) -> String {
        match LocalFunctions::new(&platform(), template) {
            Ok(_) => panic!("built without a setting"),
            Err(e) => e.to_string(),
        }
    }

    #[tokio::test]
    async fn every_function_builds_from_the_template_and_an_unknown_one_is_not_found() {
        let template = Template::parse(&project_template()).unwrap();
        let functions = LocalFunctions::new(&platform(), &template).unwrap();
        assert!(functions.names().any(|n| n == "ManageStateFunction"));
        let err = functions
            .invoke("NoSuchFunction", serde_json::json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "ResourceNotFoundException");
    }

    #[test]
    fn a_missing_or_malformed_setting_names_the_function_and_the_variable() {
        let text = project_template().replace(
            "          CANCELLATION_GRACE_SECONDS: !Ref CancellationGraceSeconds\n",
            "",
        );
        let err = build_error(&Template::parse(&text).unwrap());
        assert!(
            err.contains("ManageStateFunction")
                && err.contains("CANCELLATION_GRACE_SECONDS is not set"),
            "{err}"
        );
        let mut template = Template::parse(&project_template()).unwrap();
        template
            .set_parameter("OrderNumberResetHourUtc", "seven")
            .unwrap();
        let err = build_error(&template);
        assert!(
            err.contains("CountingFunction")
                && err.contains("ORDER_NUMBER_RESET_HOUR_UTC is malformed"),
            "{err}"
        );
    }
}
