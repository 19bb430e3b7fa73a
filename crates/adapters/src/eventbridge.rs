//! The event bus on EventBridge.

use domain::AppError;
use domain::events::{EVENT_SOURCE, Event};
use domain::ports::EventBus;

#[derive(Clone)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        EventBridgeBus {
            client,
            bus_name: bus_name.into(),
        }
    }
}

impl EventBus for EventBridgeBus {
    async fn publish(&self, event: Event) -> Result<(), AppError> {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(&event.detail_type)
            .detail(event.detail.to_string())
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(crate::dependency_error("Publishing the event"))?;
        // PutEvents reports per-entry failures in a 200 response; an ignored one is a lost event.
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            tracing::error!(detail_type = %event.detail_type, %why, "event rejected by the bus");
            return Err(AppError::internal("Publishing the event failed"));
        }
        Ok(())
    }
}
