//! Loading the shared SDK configuration and reading the functions' environment.

use domain::AppError;

/// The SDK configuration from the Lambda environment. When `AWS_ENDPOINT_URL` is set (the local
/// stack and the tests do that), every client talks to that endpoint instead of AWS.
pub async fn load() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// A required environment variable, or an error that names it.
pub fn env(name: &str) -> Result<String, AppError> {
    std::env::var(name)
        .map_err(|_| AppError::internal(format!("environment variable {name} is not set")))
}

/// An optional numeric environment variable with a default; a malformed value is an error
/// rather than a silent default.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, AppError> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| {
            AppError::internal(format!("environment variable {name} is malformed: {v}"))
        }),
        Err(_) => Ok(default),
    }
}
