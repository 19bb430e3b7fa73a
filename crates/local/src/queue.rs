//! A durable SQS-like queue on the embedded DynamoDB: a message is stored before `send`
//! returns, so an accepted order survives a restart of the local stack.
//!
//! Semantics kept from SQS standard queues: at-least-once delivery, a visibility timeout (a
//! received message is hidden until it is deleted or the timeout passes), a receive count, and
//! a redrive policy (a message received more than `maxReceiveCount` times moves to the
//! dead-letter queue). Queue settings come from the template's `AWS::SQS::Queue` resources.

use crate::LocalError;
use crate::template::{Template, logical_id};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use std::collections::HashMap;
use std::time::Duration;

/// The local-only table that holds every queue's messages.
pub const QUEUE_TABLE: &str = "LocalQueueMessages";

#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub visibility_timeout: Duration,
    /// (dead-letter queue logical id, maxReceiveCount)
    pub redrive: Option<(String, u32)>,
}

/// Every `AWS::SQS::Queue` in the template (parsing it: the local stack uses
/// [`Template::queues`]).
pub fn queue_specs(template_yaml: &str) -> Result<Vec<QueueSpec>, LocalError> {
    Ok(Template::parse(template_yaml)?.queues())
}

/// Every `AWS::SQS::Queue` of `template`.
pub(crate) fn specs(template: &Template) -> Vec<QueueSpec> {
    let mut specs = Vec::new();
    for (id, res) in template.resources_of_type("AWS::SQS::Queue") {
        let props = &res["Properties"];
        let secs = props["VisibilityTimeout"].as_u64().unwrap_or(30);
        let redrive = props.get("RedrivePolicy").and_then(|r| {
            let dlq = logical_id(&r["deadLetterTargetArn"])?;
            let max = r["maxReceiveCount"]
                .as_u64()
                .or_else(|| r["maxReceiveCount"].as_str().and_then(|s| s.parse().ok()))?;
            Some((dlq, u32::try_from(max).unwrap_or(u32::MAX)))
        });
        specs.push(QueueSpec {
            logical_id: id.to_owned(),
            visibility_timeout: Duration::from_secs(secs),
            redrive,
        });
    }
    specs
}

/// A message as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub message_id: String,
    /// Pass back to [`LocalQueues::delete`].
    pub receipt_handle: String,
    pub body: String,
    pub receive_count: u32,
    pub sent_at_ms: i64,
}

#[derive(Clone)]
pub struct LocalQueues {
    client: Client,
    specs: HashMap<String, QueueSpec>,
    /// Multiplies visibility timeouts (the stack's time scale).
    time_scale: f64,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Dynamo(e.to_string())
}

impl LocalQueues {
    /// Creates the message table if needed.
    pub async fn open(
        client: Client,
        specs: Vec<QueueSpec>,
        time_scale: f64,
    ) -> Result<Self, LocalError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(err)
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(err)
        };
        let created = client
            .create_table()
            .table_name(QUEUE_TABLE)
            .key_schema(key("queue", KeyType::Hash)?)
            .key_schema(key("handle", KeyType::Range)?)
            .attribute_definitions(attr("queue")?)
            .attribute_definitions(attr("handle")?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        if let Err(e) = created
            && !e
                .as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception())
        {
            return Err(err(aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
        }
        Ok(LocalQueues {
            client,
            specs: specs
                .into_iter()
                .map(|q| (q.logical_id.clone(), q))
                .collect(),
            time_scale,
        })
    }

    pub fn spec(&self, queue: &str) -> Option<&QueueSpec> {
        self.specs.get(queue)
    }

    /// Stores a message; returns its id once it is durable.
    pub async fn send(&self, queue: &str, body: &str, now_ms: i64) -> Result<String, LocalError> {
        if !self.specs.contains_key(queue) {
            return Err(LocalError::Dynamo(format!(
                "no queue {queue} in the template"
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.put(queue, &id, body, 0, now_ms, now_ms).await?;
        Ok(id)
    }

    async fn put(
        &self,
        queue: &str,
        id: &str,
        body: &str,
        count: u32,
        sent: i64,
        visible: i64,
    ) -> Result<(), LocalError> {
        self.client
            .put_item()
            .table_name(QUEUE_TABLE)
            .item("queue", s(queue))
            // Handles sort by send time, so receives take the oldest first.
            .item("handle", s(&format!("{sent:013}#{id}")))
            .item("messageId", s(id))
            .item("body", s(body))
            .item("receiveCount", n(count))
            .item("sentAt", n(sent))
            .item("visibleAt", n(visible))
            .send()
            .await
            .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        Ok(())
    }

    /// Up to `max` visible messages, oldest first, each hidden for the visibility timeout.
    /// Messages received more often than the redrive policy allows move to the DLQ instead.
    pub async fn receive(
        &self,
        queue: &str,
        max: usize,
        now_ms: i64,
    ) -> Result<Vec<Received>, LocalError> {
        let spec = self
            .specs
            .get(queue)
            .ok_or_else(|| LocalError::Dynamo(format!("no queue {queue} in the template")))?;
        // A query page holds at most 1 MB of *evaluated* messages, the filtered-out (in-flight)
        // ones included, so in-flight messages can fill whole pages ahead of visible ones:
        // follow the pages until `max` messages are taken or the queue has no more.
        let mut pages = self
            .client
            .query()
            .table_name(QUEUE_TABLE)
            .key_condition_expression("#q = :q")
            .filter_expression("visibleAt <= :now")
            .expression_attribute_names("#q", "queue")
            .expression_attribute_values(":q", s(queue))
            .expression_attribute_values(":now", n(now_ms))
            .into_paginator()
            .send();
        let mut received = Vec::new();
        while received.len() < max {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
            for item in page.items.unwrap_or_default() {
                if received.len() >= max {
                    break;
                }
                if let Some(message) = self.take(queue, spec, &item, now_ms).await? {
                    received.push(message);
                }
            }
        }
        Ok(received)
    }

    /// Takes one visible message: hides it for the visibility timeout and counts the receive,
    /// or moves it to the dead-letter queue when it was received too often. `None` when it went
    /// to the DLQ or another receiver took it first.
    async fn take(
        &self,
        queue: &str,
        spec: &QueueSpec,
        item: &HashMap<String, AttributeValue>,
        now_ms: i64,
    ) -> Result<Option<Received>, LocalError> {
        let get_s = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let get_n = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let handle = get_s("handle");
        let count = u32::try_from(get_n("receiveCount")).unwrap_or(0) + 1;
        if let Some((dlq, max_count)) = &spec.redrive
            && count > *max_count
        {
            tracing::warn!(queue, dlq, message_id = %get_s("messageId"), "message moved to the dead-letter queue");
            self.put(
                dlq,
                &get_s("messageId"),
                &get_s("body"),
                0,
                get_n("sentAt"),
                now_ms,
            )
            .await?;
            self.delete(queue, &handle).await?;
            return Ok(None);
        }
        let hide_ms =
            (spec.visibility_timeout.as_millis() as f64 * self.time_scale).max(1.0) as i64;
        // Take it only if nobody else did since the query (conditional on the old time).
        let taken = self
            .client
            .update_item()
            .table_name(QUEUE_TABLE)
            .key("queue", s(queue))
            .key("handle", s(&handle))
            .update_expression("SET visibleAt = :next, receiveCount = :count")
            .condition_expression("visibleAt = :old")
            .expression_attribute_values(":next", n(now_ms + hide_ms))
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":old", n(get_n("visibleAt")))
            .send()
            .await;
        match taken {
            Ok(_) => Ok(Some(Received {
                message_id: get_s("messageId"),
                receipt_handle: handle,
                body: get_s("body"),
                receive_count: count,
                sent_at_ms: get_n("sentAt"),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(err(aws_sdk_dynamodb::error::DisplayErrorContext(&e))),
        }
    }

    pub async fn delete(&self, queue: &str, receipt_handle: &str) -> Result<(), LocalError> {
        self.client
            .delete_item()
            .table_name(QUEUE_TABLE)
            .key("queue", s(queue))
            .key("handle", s(receipt_handle))
            .send()
            .await
            .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        Ok(())
    }

    /// How many messages the queue holds (visible or in flight). A count query also stops at
    /// 1 MB of evaluated messages, so every page is counted.
    pub async fn depth(&self, queue: &str) -> Result<usize, LocalError> {
        let mut pages = self
            .client
            .query()
            .table_name(QUEUE_TABLE)
            .key_condition_expression("#q = :q")
            .expression_attribute_names("#q", "queue")
            .expression_attribute_values(":q", s(queue))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .into_paginator()
            .send();
        let mut total = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
            total += usize::try_from(page.count).unwrap_or(0);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedDynamo;

    fn spec(max: u32) -> Vec<QueueSpec> {
        vec![
            QueueSpec {
                logical_id: "Q".into(),
                visibility_timeout: Duration::from_secs(30),
                redrive: Some(("DLQ".into(), max)),
            },
            QueueSpec {
                logical_id: "DLQ".into(),
                visibility_timeout: Duration::from_secs(30),
                redrive: None,
            },
        ]
    }

    #[tokio::test]
    async fn messages_are_hidden_while_in_flight_and_redriven_after_max_receives() {
        let db = EmbeddedDynamo::start_in_memory().await.unwrap();
        let q = LocalQueues::open(db.client(), spec(2), 1.0).await.unwrap();
        let id = q.send("Q", "hello", 1_000).await.unwrap();
        assert!(q.send("Nope", "x", 1_000).await.is_err());

        let first = q.receive("Q", 10, 1_000).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (
                first[0].message_id.as_str(),
                first[0].body.as_str(),
                first[0].receive_count
            ),
            (id.as_str(), "hello", 1)
        );
        assert!(
            q.receive("Q", 10, 2_000).await.unwrap().is_empty(),
            "in flight"
        );
        let second = q.receive("Q", 10, 31_001).await.unwrap();
        assert_eq!(
            second[0].receive_count, 2,
            "visible again after the timeout"
        );
        // A third receive exceeds maxReceiveCount 2: the message goes to the DLQ.
        assert!(q.receive("Q", 10, 61_002).await.unwrap().is_empty());
        assert_eq!(q.depth("Q").await.unwrap(), 0);
        let dead = q.receive("DLQ", 10, 61_003).await.unwrap();
        assert_eq!(
            (dead[0].message_id.as_str(), dead[0].body.as_str()),
            (id.as_str(), "hello")
        );
    }

    #[tokio::test]
    async fn deleted_messages_are_gone_and_order_is_oldest_first() {
        let db = EmbeddedDynamo::start_in_memory().await.unwrap();
        let q = LocalQueues::open(db.client(), spec(5), 1.0).await.unwrap();
        q.send("Q", "b", 2_000).await.unwrap();
        q.send("Q", "a", 1_000).await.unwrap();
        let got = q.receive("Q", 1, 3_000).await.unwrap();
        assert_eq!(got[0].body, "a");
        q.delete("Q", &got[0].receipt_handle).await.unwrap();
        assert_eq!(q.depth("Q").await.unwrap(), 1);
    }

    /// More in-flight messages than one query page (1 MB) holds, then a visible one behind
    /// them: it is received, not starved.
    #[tokio::test]
    async fn a_visible_message_behind_pages_of_in_flight_ones_is_received() {
        let db = EmbeddedDynamo::start_in_memory().await.unwrap();
        let q = LocalQueues::open(db.client(), spec(5), 1.0).await.unwrap();
        let big = "x".repeat(100_000);
        for i in 0..25 {
            // Received once and hidden until long after the receive below.
            q.put(
                "Q",
                &format!("in-flight-{i}"),
                &big,
                1,
                1_000 + i,
                1_000_000,
            )
            .await
            .unwrap();
        }
        let behind = q.send("Q", "behind", 5_000).await.unwrap();
        let got = q.receive("Q", 10, 6_000).await.unwrap();
        assert_eq!(
            got.iter()
                .map(|m| m.message_id.as_str())
                .collect::<Vec<_>>(),
            [behind.as_str()]
        );
        assert_eq!((got[0].body.as_str(), got[0].receive_count), ("behind", 1));
        assert!(
            q.receive("Q", 10, 7_000).await.unwrap().is_empty(),
            "every message is in flight now"
        );
        assert_eq!(q.depth("Q").await.unwrap(), 26);
    }

    #[test]
    fn queue_settings_come_from_the_template() {
        let yaml = r#"
Resources:
  OrderQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 180
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt OrderDLQ.Arn
        maxReceiveCount: 3
  OrderDLQ:
    Type: AWS::SQS::Queue
"#;
        let specs = queue_specs(yaml).unwrap();
        let q = specs.iter().find(|q| q.logical_id == "OrderQueue").unwrap();
        assert_eq!(q.visibility_timeout, Duration::from_secs(180));
        assert_eq!(q.redrive, Some(("OrderDLQ".into(), 3)));
        assert_eq!(
            specs
                .iter()
                .find(|q| q.logical_id == "OrderDLQ")
                .unwrap()
                .redrive,
            None
        );
    }
}
