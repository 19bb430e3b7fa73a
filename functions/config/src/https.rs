//! The PUT of a custom-resource answer to its pre-signed URL (S3 over HTTPS in AWS; plain HTTP
//! on loopback in the tests). Built on hyper and rustls, which the AWS SDK already compiles in.

use crate::custom_resource::ResponseSink;
use domain::AppError;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Bounds one attempt: CloudFormation's S3 answers in milliseconds, and the function's own
/// timeout must leave room for the seed writes.
const PUT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct HttpsSink {
    /// Made at the first answer, not at start: loading the system's root certificates costs
    /// more than the rest of the function's init, and only custom-resource events (a deploy,
    /// an update, a delete) ever use it; API and stream invocations never pay for it.
    client: OnceLock<HttpsClient>,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

impl HttpsSink {
    pub fn new() -> Result<Self, AppError> {
        Ok(HttpsSink {
            client: OnceLock::new(),
        })
    }

    /// The client, trusting the system's root certificates (the SDK does the same on
    /// provided.al2023).
    fn client(&self) -> Result<&HttpsClient, AppError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| AppError::internal(format!("TLS roots could not be loaded: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(self.client.get_or_init(|| client))
    }
}

impl ResponseSink for HttpsSink {
    async fn put(&self, url: &str, body: Vec<u8>) -> Result<(), AppError> {
        // No Content-Type: the URL's signature was computed with an empty one.
        let request = hyper::Request::put(url)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| AppError::internal(format!("Bad response URL: {e}")))?;
        let response = tokio::time::timeout(PUT_TIMEOUT, self.client()?.request(request))
            .await
            .map_err(|_| AppError::unavailable("The response URL did not answer in time"))?
            .map_err(|e| AppError::unavailable(format!("The response URL failed: {e}")))?;
        let status = response.status();
        // Drain the body so the connection can be reused; its content only matters on error.
        let text = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            tracing::error!(%status, body = %text, "the response URL refused the answer");
            Err(AppError::unavailable(format!(
                "The response URL answered {status}"
            )))
        }
    }
}
