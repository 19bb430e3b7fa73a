//! Workflow callbacks on Step Functions.

use aws_sdk_sfn::error::SdkError;
use domain::ports::{CallbackError, TaskCallbacks};
use serde_json::Value;

#[derive(Clone)]
pub struct StepFunctionsCallbacks {
    client: aws_sdk_sfn::Client,
}

impl StepFunctionsCallbacks {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        StepFunctionsCallbacks { client }
    }
}

/// Splits "the workflow is no longer waiting on this token" from real failures.
fn classify<E, R>(err: SdkError<E, R>, gone: impl Fn(&E) -> bool) -> CallbackError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(service) = err.as_service_error()
        && gone(service)
    {
        return CallbackError::TaskGone(service.to_string());
    }
    CallbackError::Other(crate::dependency_error("Resuming the workflow")(err))
}

impl TaskCallbacks for StepFunctionsCallbacks {
    async fn send_success(&self, task_token: &str, output: Value) -> Result<(), CallbackError> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                classify(e, |s| {
                    s.is_task_does_not_exist() || s.is_task_timed_out() || s.is_invalid_token()
                })
            })
    }

    async fn send_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                classify(e, |s| {
                    s.is_task_does_not_exist() || s.is_task_timed_out() || s.is_invalid_token()
                })
            })
    }
}
