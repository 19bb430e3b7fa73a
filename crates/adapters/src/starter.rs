//! Starting the order workflow: on Step Functions ([`StepFunctionsStarter`]), and in memory
//! ([`RecordingStarter`]) for tests and wiring where no real workflow is wanted.
//!
//! Both refuse a second execution with the same name, which is what makes the poller
//! idempotent: the execution name is the order id, so a redelivered queue message finds its
//! execution already there instead of starting a second one.

use domain::AppError;
use domain::ports::{Started, WorkflowStarter};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Starts executions of one state machine.
#[derive(Clone)]
pub struct StepFunctionsStarter {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl StepFunctionsStarter {
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        StepFunctionsStarter {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

impl WorkflowStarter for StepFunctionsStarter {
    /// `StartExecution(name, input)`.
    ///
    /// A name that was used before (by a running execution with a different input, or by any
    /// closed execution of the last 90 days) is refused with `ExecutionAlreadyExists`, which is
    /// [`Started::AlreadyExists`] here. A repeat with the *same* input while the first execution
    /// still runs is accepted by Step Functions and answered with that execution's ARN, so
    /// [`Started::New`] may name an execution started earlier: either way there is exactly one.
    async fn start(&self, name: &str, input: &Value) -> Result<Started, AppError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(out) => Ok(Started::New(out.execution_arn().to_owned())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(Started::AlreadyExists)
            }
            Err(err) => Err(crate::dependency_error("Starting the order workflow")(err)),
        }
    }
}

/// What a [`RecordingStarter`] has seen.
#[derive(Default)]
struct Recorded {
    started: Vec<(String, Value)>,
    failing: HashSet<String>,
}

/// Records the executions it is asked to start, and behaves like Step Functions where the
/// poller depends on it: a name already used is refused with [`Started::AlreadyExists`], and
/// a name Step Functions would reject (see [`is_valid_execution_name`]) is an error. Names
/// passed to [`RecordingStarter::fail_for`] fail like an unreachable service, to exercise
/// partial batch failures.
#[derive(Clone, Default)]
pub struct RecordingStarter {
    recorded: Arc<Mutex<Recorded>>,
}

impl RecordingStarter {
    /// Every execution started, in order: `(name, input)`.
    pub fn started(&self) -> Vec<(String, Value)> {
        self.recorded
            .lock()
            .map(|r| r.started.clone())
            .unwrap_or_default()
    }

    /// The input of the execution named `name`, if one was started.
    pub fn input_of(&self, name: &str) -> Option<Value> {
        self.started()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, input)| input)
    }

    /// Makes later starts named `name` fail with an internal error (nothing is recorded).
    pub fn fail_for(&self, name: &str) {
        if let Ok(mut r) = self.recorded.lock() {
            r.failing.insert(name.to_owned());
        }
    }

    /// Lets starts named `name` succeed again (the service came back).
    pub fn recover(&self, name: &str) {
        if let Ok(mut r) = self.recorded.lock() {
            r.failing.remove(name);
        }
    }
}

impl WorkflowStarter for RecordingStarter {
    async fn start(&self, name: &str, input: &Value) -> Result<Started, AppError> {
        let mut recorded = self
            .recorded
            .lock()
            .map_err(|_| AppError::internal("workflow recorder poisoned"))?;
        if recorded.failing.contains(name) {
            return Err(AppError::internal("Starting the order workflow failed"));
        }
        if !is_valid_execution_name(name) {
            return Err(AppError::internal(format!(
                "Starting the order workflow failed: invalid execution name '{name}'"
            )));
        }
        if recorded.started.iter().any(|(n, _)| n == name) {
            return Ok(Started::AlreadyExists);
        }
        recorded.started.push((name.to_owned(), input.clone()));
        Ok(Started::New(format!(
            "arn:aws:states:local:000000000000:execution:recorded:{name}"
        )))
    }
}

pub use domain::lifecycle::is_valid_execution_name;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{self, Sent};
    use aws_smithy_http_client::test_util::StaticReplayClient;
    use serde_json::json;

    fn sfn_client(http: &StaticReplayClient) -> aws_sdk_sfn::Client {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .http_client(http.clone())
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderLifecycle";

    #[tokio::test]
    async fn a_start_sends_the_name_and_input_and_returns_the_execution_arn() {
        let exec = "arn:aws:states:us-east-1:123456789012:execution:OrderLifecycle:o1";
        let http = replay::answering(
            200,
            &[("content-type", "application/x-amz-json-1.0")],
            &json!({"executionArn": exec, "startDate": 1.7e9}).to_string(),
        );
        let starter = StepFunctionsStarter::new(sfn_client(&http), ARN);
        let input = json!({"orderId": "o1", "amount": 0});
        let started = starter.start("o1", &input).await.unwrap();
        assert_eq!(started, Started::New(exec.to_owned()));

        let request = Sent::of(&http);
        assert_eq!(
            request.header("x-amz-target"),
            Some("AWSStepFunctions.StartExecution")
        );
        let sent: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(sent["stateMachineArn"], ARN);
        assert_eq!(sent["name"], "o1");
        let sent_input: Value = serde_json::from_str(sent["input"].as_str().unwrap()).unwrap();
        assert_eq!(sent_input, input);
    }

    #[tokio::test]
    async fn an_existing_execution_is_reported_as_such_not_as_an_error() {
        let http = replay::answering(
            400,
            &[("content-type", "application/x-amz-json-1.0")],
            &json!({"__type": "com.amazonaws.states#ExecutionAlreadyExists", "message": "Execution Already Exists: 'o1'"}).to_string(),
        );
        let starter = StepFunctionsStarter::new(sfn_client(&http), ARN);
        let started = starter.start("o1", &json!({})).await.unwrap();
        assert_eq!(started, Started::AlreadyExists);
    }

    #[tokio::test]
    async fn other_service_errors_are_internal_errors() {
        let http = replay::answering(
            400,
            &[("content-type", "application/x-amz-json-1.0")],
            &json!({"__type": "com.amazonaws.states#StateMachineDoesNotExist", "message": "State Machine Does Not Exist"}).to_string(),
        );
        let starter = StepFunctionsStarter::new(sfn_client(&http), ARN);
        let err = starter.start("o1", &json!({})).await.unwrap_err();
        assert_eq!(err.status(), 500);
        assert_eq!(err.message(), "Starting the order workflow failed");
    }

    #[tokio::test]
    async fn the_recording_starter_refuses_a_second_start_with_the_same_name() {
        let starter = RecordingStarter::default();
        let first = starter.start("o1", &json!({"n": 1})).await.unwrap();
        assert!(matches!(first, Started::New(arn) if arn.ends_with(":o1")));
        let again = starter.start("o1", &json!({"n": 2})).await.unwrap();
        assert_eq!(again, Started::AlreadyExists);
        assert_eq!(starter.started(), vec![("o1".to_owned(), json!({"n": 1}))]);
        assert_eq!(starter.input_of("o1"), Some(json!({"n": 1})));
        assert_eq!(starter.input_of("o2"), None);
    }

    #[tokio::test]
    async fn the_recording_starter_fails_on_request_and_recovers() {
        let starter = RecordingStarter::default();
        let clone = starter.clone();
        starter.fail_for("o1");
        assert_eq!(
            clone.start("o1", &json!({})).await.unwrap_err().status(),
            500
        );
        assert!(
            starter.started().is_empty(),
            "a failed start records nothing"
        );
        assert!(matches!(
            clone.start("o2", &json!({})).await.unwrap(),
            Started::New(_)
        ));
        starter.recover("o1");
        assert!(matches!(
            clone.start("o1", &json!({})).await.unwrap(),
            Started::New(_)
        ));
        assert_eq!(starter.started().len(), 2, "clones share one record");
    }

    #[test]
    fn execution_names_follow_the_step_functions_rules() {
        for ok in [
            "o1",
            "V1StGXR8_Z5jdHi6B-myT",
            "059f36b4-87a3-44ab-83d2-661975830a7d",
        ] {
            assert!(is_valid_execution_name(ok), "{ok}");
        }
        let too_long = "a".repeat(81);
        for bad in [
            "",
            "a b",
            "a/b",
            "a:b",
            "a#b",
            "a\u{0007}b",
            too_long.as_str(),
        ] {
            assert!(!is_valid_execution_name(bad), "{bad:?}");
        }
        assert!(is_valid_execution_name(&"a".repeat(80)));
    }

    #[tokio::test]
    async fn the_recording_starter_refuses_names_step_functions_would_refuse() {
        let starter = RecordingStarter::default();
        let err = starter.start("a/b", &json!({})).await.unwrap_err();
        assert_eq!(err.status(), 500);
        assert!(starter.started().is_empty());
    }
}
