//! Loading the shared SDK configuration and reading the functions' environment.

use domain::AppError;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;
use std::time::Duration;

/// The SDK configuration from the Lambda environment. When `AWS_ENDPOINT_URL` is set (the local
/// stack and the tests do that), every client talks to that endpoint instead of AWS.
///
/// In Lambda (region and credentials in the environment) the configuration is built from those
/// variables directly ([`from_lambda_environment`]); elsewhere the SDK's default chains
/// resolve it. The default loader looks for profile files and builds the IMDS, ECS, SSO and
/// web-identity providers before the first request, which was most of a function's init time.
pub async fn load() -> SdkConfig {
    match from_lambda_environment(|name| std::env::var(name).ok()) {
        Some(config) => config,
        None => aws_config::defaults(BehaviorVersion::latest()).load().await,
    }
}

/// Variables that change what the default chains would resolve beyond region, credentials and
/// endpoint: when one is set, [`load`] leaves the work to them.
const DEFAULT_CHAIN_ONLY: &[&str] = &[
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
];

/// What the default chains resolve in Lambda, read straight from the variables Lambda sets:
/// the region (`AWS_REGION`, or `AWS_DEFAULT_REGION`), credentials from
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` (the environment provider,
/// first in the default chain), `AWS_ENDPOINT_URL`, standard retries and the loader's 3.1 s
/// connect timeout. `None` without region or credentials, or when a variable of
/// [`DEFAULT_CHAIN_ONLY`] asks for more.
pub fn from_lambda_environment(var: impl Fn(&str) -> Option<String>) -> Option<SdkConfig> {
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"))?;
    var("AWS_ACCESS_KEY_ID")?;
    var("AWS_SECRET_ACCESS_KEY")?;
    if DEFAULT_CHAIN_ONLY.iter().any(|name| var(name).is_some()) {
        return None;
    }
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .identity_cache(IdentityCache::lazy().build())
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .build(),
        );
    builder.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    Some(builder.build())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[test]
    fn the_lambda_environment_gives_region_credentials_and_endpoint() {
        let config = from_lambda_environment(vars(LAMBDA)).expect("lambda config");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(config.credentials_provider().is_some());
        assert_eq!(config.endpoint_url(), None);
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(3));

        let local = [LAMBDA, &[("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")]].concat();
        let config = from_lambda_environment(vars(&local)).expect("local config");
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:4566"));
    }

    #[test]
    fn without_region_or_credentials_or_with_profiles_the_default_chain_decides() {
        assert!(from_lambda_environment(vars(&LAMBDA[1..])).is_none());
        assert!(from_lambda_environment(vars(&LAMBDA[..2])).is_none());
        let profile = [LAMBDA, &[("AWS_PROFILE", "dev")]].concat();
        assert!(from_lambda_environment(vars(&profile)).is_none());
        let default_region = [&[("AWS_DEFAULT_REGION", "us-east-2")], &LAMBDA[1..]].concat();
        let config = from_lambda_environment(vars(&default_region)).expect("config");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-2"));
    }
}
