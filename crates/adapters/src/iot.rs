//! Realtime publishing: on AWS IoT Core's data plane ([`IotRealtime`]), and in memory
//! ([`RecordingRealtime`]) for tests and wiring where no broker is wanted.

use aws_sdk_iotdataplane::primitives::Blob;
use domain::AppError;
use domain::ports::Realtime;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The MQTT quality of service of every publish: at least once, as the original publisher.
pub const QOS_AT_LEAST_ONCE: i32 = 1;

/// Publishes through the IoT data-plane `Publish` API. The client must point at the account's
/// `iot:Data-ATS` endpoint (the SDK has no default endpoint for this service).
#[derive(Clone)]
pub struct IotRealtime {
    client: aws_sdk_iotdataplane::Client,
}

impl IotRealtime {
    pub fn new(client: aws_sdk_iotdataplane::Client) -> Self {
        IotRealtime { client }
    }
}

impl Realtime for IotRealtime {
    async fn publish(&self, topic: &str, payload: &Value) -> Result<(), AppError> {
        let bytes = serde_json::to_vec(payload).map_err(|e| {
            AppError::internal(format!("Encoding the realtime message failed: {e}"))
        })?;
        self.client
            .publish()
            .topic(topic)
            .qos(QOS_AT_LEAST_ONCE)
            .payload(Blob::new(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(crate::dependency_error("Publishing to the realtime topic"))
    }
}

#[derive(Default)]
struct Recorded {
    published: Vec<(String, Value)>,
    failing: HashSet<String>,
}

/// Records every publish as `(topic, payload)`. Topics passed to
/// [`RecordingRealtime::fail_topic`] fail like an unreachable broker.
#[derive(Clone, Default)]
pub struct RecordingRealtime {
    recorded: Arc<Mutex<Recorded>>,
}

impl RecordingRealtime {
    /// Every message published, in order.
    pub fn published(&self) -> Vec<(String, Value)> {
        self.recorded
            .lock()
            .map(|r| r.published.clone())
            .unwrap_or_default()
    }

    /// The payloads published to `topic`, in order.
    pub fn on_topic(&self, topic: &str) -> Vec<Value> {
        self.published()
            .into_iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, payload)| payload)
            .collect()
    }

    /// Makes later publishes to `topic` fail (nothing is recorded for them).
    pub fn fail_topic(&self, topic: &str) {
        if let Ok(mut r) = self.recorded.lock() {
            r.failing.insert(topic.to_owned());
        }
    }
}

impl Realtime for RecordingRealtime {
    async fn publish(&self, topic: &str, payload: &Value) -> Result<(), AppError> {
        let mut recorded = self
            .recorded
            .lock()
            .map_err(|_| AppError::internal("realtime recorder poisoned"))?;
        if recorded.failing.contains(topic) {
            return Err(AppError::internal(
                "Publishing to the realtime topic failed",
            ));
        }
        recorded.published.push((topic.to_owned(), payload.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{self, Sent};
    use aws_smithy_http_client::test_util::StaticReplayClient;
    use serde_json::json;

    fn iot_client(http: &StaticReplayClient) -> aws_sdk_iotdataplane::Client {
        let config = aws_sdk_iotdataplane::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_iotdataplane::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iotdataplane::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .http_client(http.clone())
            .build();
        aws_sdk_iotdataplane::Client::from_conf(config)
    }

    #[tokio::test]
    async fn a_publish_sends_the_json_bytes_to_the_topic_at_qos_1() {
        let http = replay::answering(200, &[], "");
        let realtime = IotRealtime::new(iot_client(&http));
        let payload = json!({"type": "OrderProcessor.orderFinished", "detail": {"orderId": "o1"}});
        realtime
            .publish("serverlesspresso-user-u1", &payload)
            .await
            .unwrap();

        let request = Sent::of(&http);
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/topics/serverlesspresso-user-u1");
        let query = &request.query;
        assert!(query.split('&').any(|kv| kv == "qos=1"), "{query}");
        let sent: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(sent, payload);
    }

    #[tokio::test]
    async fn a_refused_publish_is_an_internal_error() {
        let http = replay::answering(
            403,
            &[
                ("content-type", "application/json"),
                ("x-amzn-errortype", "UnauthorizedException"),
            ],
            r#"{"message": "not authorized"}"#,
        );
        let realtime = IotRealtime::new(iot_client(&http));
        let err = realtime
            .publish("serverlesspresso-admin", &json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.status(), 500);
        assert_eq!(err.message(), "Publishing to the realtime topic failed");
    }

    #[tokio::test]
    async fn the_recorder_keeps_topics_and_payloads_and_fails_on_request() {
        let realtime = RecordingRealtime::default();
        let clone = realtime.clone();
        clone.publish("a", &json!(1)).await.unwrap();
        clone.publish("b", &json!(2)).await.unwrap();
        realtime.fail_topic("b");
        assert_eq!(
            clone.publish("b", &json!(3)).await.unwrap_err().status(),
            500
        );
        assert_eq!(
            realtime.published(),
            vec![("a".to_owned(), json!(1)), ("b".to_owned(), json!(2))]
        );
        assert_eq!(realtime.on_topic("b"), vec![json!(2)]);
    }
}
