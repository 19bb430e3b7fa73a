//! The SMS adapter: Amazon SNS `Publish` straight to a phone number (no topic).

use crate::AuthError;
use crate::create::CodeSender;
use aws_sdk_sns::types::MessageAttributeValue;

/// Sends codes as transactional SMS (SNS retries them and routes them for delivery rather
/// than cost, which is what a sign-in code needs).
pub struct SnsCodeSender {
    client: aws_sdk_sns::Client,
}

impl SnsCodeSender {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        SnsCodeSender { client }
    }
}

/// The SMS text. Kept here, not logged anywhere.
pub fn message(code: &str) -> String {
    format!("[Serverlesspresso] Your sign-in code is: {code}")
}

impl CodeSender for SnsCodeSender {
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), AuthError> {
        let sms_type = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|_| AuthError::SendFailed)?;
        self.client
            .publish()
            .phone_number(phone)
            .message(message(code))
            .message_attributes("AWS.SNS.SMS.SMSType", sms_type)
            .send()
            .await
            .map_err(|e| {
                // The SDK error describes the call's failure (throttled, opted out, denied);
                // it does not carry the request's message.
                tracing::error!(error = %aws_sdk_sns::error::DisplayErrorContext(&e), "SMS not sent");
                AuthError::SendFailed
            })?;
        Ok(())
    }
}
