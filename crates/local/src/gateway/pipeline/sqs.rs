//! The SQS `SendMessage` integration.

use super::Gateway;
use super::refusal::{Kind, Refusal, static_response};
use crate::gateway::spec::SqsIntegration;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

impl Gateway {
    /// The SQS `SendMessage` integration: the request template's message goes to the queue and
    /// the client gets SQS's JSON `SendMessageResponse` (through the template's integration
    /// response for 200).
    pub(super) async fn send(
        &self,
        sqs: &SqsIntegration,
        headers: &HeaderMap,
        body: Option<&str>,
        claims: Option<&Map<String, Value>>,
    ) -> Result<Response, Refusal> {
        // API Gateway picks the template by Content-Type, application/json when there is none.
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "application/json".to_owned());
        let Some((_, template)) = sqs.templates.iter().find(|(ct, _)| *ct == content_type) else {
            return Err(Refusal::new(
                Kind::UnsupportedMediaType,
                "Unsupported Media Type",
            ));
        };
        let message = template.render(body.unwrap_or(""), claims);
        let md5 = Md5::digest(message.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let call = self.backend.send_message(&sqs.queue, message);
        let message_id = match self.run(call, &sqs.queue).await {
            Ok(id) => id,
            // Rendered as SQS answering 500: through the template's mapping for it, if any.
            Err(refusal) if refusal.kind == Kind::IntegrationFailure => {
                return match &sqs.on_failure {
                    Some(r) => Ok(static_response(r, None)),
                    None => Err(refusal),
                };
            }
            Err(refusal) => return Err(refusal),
        };
        let sqs_answer = json!({
            "SendMessageResponse": {
                "ResponseMetadata": { "RequestId": uuid::Uuid::new_v4().to_string() },
                "SendMessageResult": {
                    "MD5OfMessageAttributes": null,
                    "MD5OfMessageBody": md5,
                    "MD5OfMessageSystemAttributes": null,
                    "MessageId": message_id,
                    "SequenceNumber": null
                }
            }
        });
        Ok(static_response(
            &sqs.on_success,
            Some(sqs_answer.to_string()),
        ))
    }
}
