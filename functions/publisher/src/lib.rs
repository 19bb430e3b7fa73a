//! The publisher: forwards application events from the bus to the MQTT topics the frontends
//! subscribe to (reference §1.7), as `{"type": <detail-type>, "detail": <detail>}` at QoS 1.
//!
//! | detail-type prefix | `serverlesspresso-admin` | `serverlesspresso-user-<userId>` | `serverlesspresso-config` |
//! |---|---|---|---|
//! | `OrderManager.`   | yes | yes, when `detail.userId` is usable | – |
//! | `OrderProcessor.` | yes | yes, when `detail.userId` is usable | – |
//! | `Validator.`      | yes | – | – |
//! | `ConfigService.`  | yes | – | yes |
//!
//! The original ran three functions on three rules; one function with one rule per prefix does
//! the same with the routing in one place ([`route`]). Differences from the original, on
//! purpose:
//!
//! * **Task tokens never reach customers.** The copies sent to the user and config topics (both
//!   read by the customer's order app) have every `TaskToken` key removed at any depth. A task
//!   token lets whoever holds it complete a workflow step, so broadcasting it (as the original
//!   did) let any customer complete or cancel orders.
//! * No `serverlesspresso-user-undefined` topic: an event without a usable `userId` reaches the
//!   admin topic only, and a `userId` that would change the topic's meaning (MQTT wildcards
//!   `+ #`, the level separator `/`, control characters) is refused and logged.
//!
//! Delivery is at least once: when any publish fails the handler returns an error, so the
//! asynchronous invocation is retried with the whole event, and topics that already got the
//! message get it again. A repeat is harmless to the frontends (each message sets an order's
//! status or adds an order by id), but a retried message can arrive after a newer one about
//! the same order.

mod handler;
pub use handler::{Handler, Published, Publisher, Settings};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::AppError;
use domain::events::EVENT_SOURCE;
use domain::ports::Realtime;
use serde_json::{Value, json};

pub use domain::realtime::{ADMIN_TOPIC, CONFIG_TOPIC, USER_TOPIC_PREFIX};
/// AWS IoT Core's limit on a topic name, in bytes of UTF-8.
pub const MAX_TOPIC_BYTES: usize = 256;
/// The detail key holding a workflow task token.
pub const TASK_TOKEN_KEY: &str = "TaskToken";

/// The services whose events are forwarded, told apart by the detail-type prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    OrderManager,
    OrderProcessor,
    Validator,
    ConfigService,
}

impl Family {
    fn of(detail_type: &str) -> Option<Family> {
        [
            ("OrderManager.", Family::OrderManager),
            ("OrderProcessor.", Family::OrderProcessor),
            ("Validator.", Family::Validator),
            ("ConfigService.", Family::ConfigService),
        ]
        .into_iter()
        .find(|(prefix, _)| detail_type.starts_with(prefix))
        .map(|(_, family)| family)
    }

    /// Order events concern one customer, who follows them on their own topic.
    fn concerns_a_customer(self) -> bool {
        matches!(self, Family::OrderManager | Family::OrderProcessor)
    }
}

/// Where an event goes: `(topic, payload)` pairs, admin first; empty for detail-types that are
/// not forwarded. Pure apart from logging why a user topic was skipped.
pub fn route(detail_type: &str, detail: &Value) -> Vec<(String, Value)> {
    let Some(family) = Family::of(detail_type) else {
        return Vec::new();
    };
    // The admin copy keeps the detail unchanged, task tokens included: the barista and display
    // apps read these details as the original sent them. That topic must be readable by admin
    // identities only (an IoT policy matter, not this function's).
    let mut routes = vec![(
        ADMIN_TOPIC.to_owned(),
        envelope(detail_type, detail.clone()),
    )];
    if family.concerns_a_customer() {
        match user_topic(detail) {
            Ok(topic) => routes.push((topic, envelope(detail_type, without_task_tokens(detail)))),
            Err(why) => {
                tracing::warn!(
                    detail_type,
                    user_id = ?detail.get("userId"),
                    why,
                    "not published to a user topic"
                );
            }
        }
    }
    if family == Family::ConfigService {
        // Customers read this topic too, so it gets the customer-safe copy (config changes
        // carry no token today; this keeps it so).
        routes.push((
            CONFIG_TOPIC.to_owned(),
            envelope(detail_type, without_task_tokens(detail)),
        ));
    }
    routes
}

/// The message every frontend parses: `{"type": <detail-type>, "detail": <detail>}`.
pub fn envelope(detail_type: &str, detail: Value) -> Value {
    json!({ "type": detail_type, "detail": detail })
}

/// The customer's topic for an order event, or why there is none.
pub fn user_topic(detail: &Value) -> Result<String, &'static str> {
    let user_id = match detail.get("userId") {
        None | Some(Value::Null) => return Err("the event has no userId"),
        Some(Value::String(s)) if s.is_empty() => return Err("the userId is empty"),
        Some(Value::String(s)) => s,
        Some(_) => return Err("the userId is not a string"),
    };
    if user_id
        .chars()
        .any(|c| matches!(c, '+' | '#' | '/') || c.is_control())
    {
        return Err(
            "the userId contains an MQTT wildcard, a level separator or a control character",
        );
    }
    let topic = domain::realtime::user_topic(user_id);
    if topic.len() > MAX_TOPIC_BYTES {
        return Err("the userId makes the topic longer than IoT Core allows");
    }
    Ok(topic)
}

/// A copy of `value` without any task-token key at any depth (in objects nested in objects or
/// arrays). Keys are matched ignoring ASCII case, so a `taskToken` spelling is caught too.
/// Recursion is bounded: the detail was parsed by serde_json, which refuses nesting deeper
/// than 128 levels.
pub fn without_task_tokens(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !key.eq_ignore_ascii_case(TASK_TOKEN_KEY))
                .map(|(key, v)| (key.clone(), without_task_tokens(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_task_tokens).collect()),
        other => other.clone(),
    }
}

/// Publishes one bus event to its topics; returns how many messages were published.
///
/// Events from another source, and detail-types that are not forwarded, publish nothing (the
/// rules should not deliver them; if one does, it is logged and dropped, not retried). Every
/// topic of the event is attempted even if one fails, so one bad topic does not hold the others
/// back; any failure then makes the whole invocation fail so it is retried (at least once, see
/// the module docs).
pub async fn handle<R: Realtime>(
    event: EventBridgeEvent<Value>,
    realtime: &R,
) -> Result<usize, AppError> {
    let event_id = event.id.as_deref().unwrap_or_default();
    let detail_type = event.detail_type.as_str();
    if event.source != EVENT_SOURCE {
        tracing::info!(
            event_id,
            source = %event.source,
            detail_type,
            "not an application event; nothing published"
        );
        return Ok(0);
    }
    let routes = route(detail_type, &event.detail);
    if routes.is_empty() {
        tracing::info!(
            event_id,
            detail_type,
            "no topic for this detail-type; nothing published"
        );
        return Ok(0);
    }
    let mut failed = 0;
    for (topic, payload) in &routes {
        if let Err(err) = realtime.publish(topic, payload).await {
            tracing::error!(event_id, detail_type, topic, error = %err, "realtime publish failed");
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(AppError::internal(format!(
            "Publishing {detail_type} failed on {failed} of {} topics; the event will be retried",
            routes.len()
        )));
    }
    tracing::info!(
        event_id,
        detail_type,
        topics = routes.len(),
        "event published"
    );
    Ok(routes.len())
}

/// The IoT data endpoint as a URL. `IOT_DATA_ENDPOINT` holds the host that
/// `aws iot describe-endpoint --endpoint-type iot:Data-ATS` prints (`abc-ats.iot.<region>.amazonaws.com`),
/// which gets `https://`; a value that is already a URL is kept, so a local broker's HTTP
/// endpoint can be configured too.
pub fn iot_endpoint_url(configured: &str) -> Result<String, AppError> {
    let value = configured.trim().trim_end_matches('/');
    if value.is_empty() {
        return Err(AppError::internal(
            "environment variable IOT_DATA_ENDPOINT is empty",
        ));
    }
    if value.contains("://") {
        return Ok(value.to_owned());
    }
    if value.contains(['/', ' ']) {
        return Err(AppError::internal(format!(
            "environment variable IOT_DATA_ENDPOINT is not a host name: {value}"
        )));
    }
    Ok(format!("https://{value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(routes: &[(String, Value)]) -> Vec<&str> {
        routes.iter().map(|(t, _)| t.as_str()).collect()
    }

    fn order_detail() -> Value {
        json!({"Message": "m", "TaskToken": "tok", "orderId": "o1", "orderNumber": 7, "userId": "u1"})
    }

    #[test]
    fn order_manager_events_go_to_admin_and_the_customer() {
        let routes = route("OrderManager.OrderCompleted", &order_detail());
        assert_eq!(topics(&routes), [ADMIN_TOPIC, "serverlesspresso-user-u1"]);
    }

    #[test]
    fn order_processor_events_go_to_admin_and_the_customer() {
        let routes = route("OrderProcessor.WaitingCompletion", &order_detail());
        assert_eq!(topics(&routes), [ADMIN_TOPIC, "serverlesspresso-user-u1"]);
        assert_eq!(
            routes[0].1["detail"]["TaskToken"], "tok",
            "admin copy unchanged"
        );
        assert!(
            routes[1].1["detail"].get("TaskToken").is_none(),
            "customer copy stripped"
        );
        assert_eq!(routes[1].1["detail"]["orderNumber"], 7);
    }

    #[test]
    fn validator_events_go_to_admin_only() {
        let routes = route("Validator.NewOrder", &order_detail());
        assert_eq!(topics(&routes), [ADMIN_TOPIC]);
    }

    #[test]
    fn config_events_go_to_admin_and_config() {
        let detail = json!({"NewImage": {"PK": {"S": "config"}, "storeOpen": {"BOOL": true}}, "userId": "u1"});
        let routes = route("ConfigService.ConfigChanged", &detail);
        assert_eq!(
            topics(&routes),
            [ADMIN_TOPIC, CONFIG_TOPIC],
            "never a user topic"
        );
        assert_eq!(routes[1].1["detail"], detail);
    }

    #[test]
    fn other_detail_types_go_nowhere() {
        for detail_type in [
            "",
            "OrderRobot.FulfillOrder",
            "orderManager.OrderCompleted",
            "OrderManagerOrderCompleted",
            "Config.Changed",
            "Validator",
        ] {
            assert!(
                route(detail_type, &order_detail()).is_empty(),
                "{detail_type}"
            );
        }
    }

    #[test]
    fn the_payload_is_exactly_type_and_detail() {
        for (_, payload) in route("OrderProcessor.orderFinished", &order_detail()) {
            let mut keys: Vec<_> = payload.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            assert_eq!(keys, ["detail", "type"]);
            assert_eq!(payload["type"], "OrderProcessor.orderFinished");
        }
    }

    #[test]
    fn an_unusable_user_id_reaches_admins_only() {
        let long = "u".repeat(MAX_TOPIC_BYTES - USER_TOPIC_PREFIX.len() + 1);
        for user_id in [
            Value::Null,
            json!(""),
            json!(42),
            json!({"sub": "u1"}),
            json!("a+b"),
            json!("a#"),
            json!("u1/serverlesspresso-admin"),
            json!("u1\n"),
            json!("u1\u{0000}"),
            json!(long),
        ] {
            let detail = json!({"orderId": "o1", "userId": user_id, "TaskToken": "tok"});
            let routes = route("OrderManager.MakeOrder", &detail);
            assert_eq!(topics(&routes), [ADMIN_TOPIC], "{user_id}");
        }
        let detail = json!({"orderId": "o1"});
        assert_eq!(
            topics(&route("OrderProcessor.orderFinished", &detail)),
            [ADMIN_TOPIC]
        );
        let fits = "u".repeat(MAX_TOPIC_BYTES - USER_TOPIC_PREFIX.len());
        assert_eq!(
            user_topic(&json!({ "userId": fits })).unwrap().len(),
            MAX_TOPIC_BYTES
        );
    }

    #[test]
    fn task_tokens_are_removed_at_every_depth() {
        let detail = json!({
            "TaskToken": "t0",
            "order": {"TaskToken": "t1", "drinkOrder": {"drink": "Latte"}},
            "history": [{"taskToken": "t2", "at": 1}, [{"TASKTOKEN": "t3"}], "TaskToken"],
            "note": "TaskToken"
        });
        let stripped = without_task_tokens(&detail);
        assert_eq!(
            stripped,
            json!({
                "order": {"drinkOrder": {"drink": "Latte"}},
                "history": [{"at": 1}, [{}], "TaskToken"],
                "note": "TaskToken"
            }),
            "keys go, values that merely say TaskToken stay"
        );
        assert_eq!(
            detail["order"]["TaskToken"], "t1",
            "the input is not modified"
        );
    }

    #[test]
    fn the_endpoint_host_becomes_an_https_url() {
        assert_eq!(
            iot_endpoint_url(" abc-ats.iot.us-east-1.amazonaws.com\n").unwrap(),
            "https://abc-ats.iot.us-east-1.amazonaws.com"
        );
        assert_eq!(
            iot_endpoint_url("http://127.0.0.1:4566/").unwrap(),
            "http://127.0.0.1:4566"
        );
        for bad in ["", "  ", "abc/def", "a b"] {
            assert!(iot_endpoint_url(bad).is_err(), "{bad:?}");
        }
    }
}
