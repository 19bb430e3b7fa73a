//! The publisher handler with a recording realtime port: every detail-type of reference §3,
//! built with the domain's own event types where they exist (so the shapes are the ones the
//! producers emit), delivered as EventBridge delivers them to Lambda.

use adapters::iot::RecordingRealtime;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::events::{
    ConfigChanged, Detail, EVENT_SOURCE, Event, MakeOrder, ManagerWaitingCompletion,
    OrderCancelled, OrderCompleted, OrderEnded, OrderFinished, OrderTimeOut,
    ProcessorWaitingCompletion, ShopUnavailable, ValidatorNewOrder, WorkflowStarted,
};
use domain::order::{DrinkOrder, Order, OrderState};
use domain::qr::QrPolicy;
use publisher::{ADMIN_TOPIC, CONFIG_TOPIC};
use serde_json::{Value, json};

const USER: &str = "3f1c9d2e-0b7a-4c55-9a51-0c7d2f4e8a11";
const USER_TOPIC: &str = "serverlesspresso-user-3f1c9d2e-0b7a-4c55-9a51-0c7d2f4e8a11";

fn delivered(source: &str, detail_type: &str, detail: Value) -> EventBridgeEvent<Value> {
    serde_json::from_value(json!({
        "version": "0",
        "id": "0d5f3b5e-1c2a-4e7f-9b8d-6a4c2e0f1b3d",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-21T10:02:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail
    }))
    .unwrap()
}

fn app_event(e: &Event) -> EventBridgeEvent<Value> {
    delivered(EVENT_SOURCE, &e.detail_type, e.detail.clone())
}

fn topics(realtime: &RecordingRealtime) -> Vec<String> {
    realtime.published().into_iter().map(|(t, _)| t).collect()
}

fn drink() -> DrinkOrder {
    DrinkOrder {
        drink: "Cappuccino".into(),
        icon: "barista-icons_cappuccino-alternative".into(),
        modifiers: vec!["Oat".into()],
    }
}

/// A full order row as the original's Gen A `MakeOrder` carried it: task token included.
fn order_row_with_token() -> Value {
    let mut row = serde_json::to_value(Order::new("o1", USER, 1_795_255_290_000)).unwrap();
    row["TaskToken"] = json!("barista-token");
    row
}

/// Every detail-type of reference §3 with the topics it must reach.
fn reference_events() -> Vec<(Event, Vec<&'static str>)> {
    let both = vec![ADMIN_TOPIC, USER_TOPIC];
    let order = Order::new("o1", USER, 1);
    vec![
        (
            ValidatorNewOrder {
                order_id: "o1".into(),
                user_id: USER.into(),
                message: "m".into(),
                bucket: QrPolicy::default().new_bucket(5_984_184, "Mz3xY7pQ1a"),
            }
            .to_event(),
            vec![ADMIN_TOPIC],
        ),
        (
            WorkflowStarted {
                message: "m".into(),
                task_token: "customer-token".into(),
                order_id: "o1".into(),
                user_id: USER.into(),
            }
            .to_event(),
            both.clone(),
        ),
        (
            ProcessorWaitingCompletion {
                message: "m".into(),
                task_token: "barista-token".into(),
                order_id: "o1".into(),
                order_number: 42,
                user_id: USER.into(),
            }
            .to_event(),
            both.clone(),
        ),
        (
            OrderTimeOut {
                message: "m".into(),
                user_id: USER.into(),
                order_id: "o1".into(),
                cause: domain::events::CUSTOMER_TIMEOUT.into(),
            }
            .to_event(),
            both.clone(),
        ),
        (
            ShopUnavailable {
                message: "m".into(),
                user_id: USER.into(),
            }
            .to_event(),
            both.clone(),
        ),
        (
            OrderFinished {
                message: "m".into(),
                user_id: USER.into(),
                order_id: "o1".into(),
            }
            .to_event(),
            both.clone(),
        ),
        (
            ManagerWaitingCompletion {
                order_id: "o1".into(),
                order_number: 42,
                state: OrderState::Created,
                drink_order: drink(),
                user_id: USER.into(),
                robot: false,
                ts: 1,
                message: "m".into(),
            }
            .to_event(),
            both.clone(),
        ),
        (
            MakeOrder {
                barista_user_id: Some("barista-1".into()),
                order_id: "o1".into(),
                message: "m".into(),
                order: order_row_with_token(),
                user_id: USER.into(),
            }
            .to_event(),
            both.clone(),
        ),
        (
            OrderCompleted(OrderEnded {
                action_user_id: "barista-1".into(),
                order_id: "o1".into(),
                message: "m".into(),
                order: (&order).into(),
                user_id: USER.into(),
            })
            .to_event(),
            both.clone(),
        ),
        (
            OrderCancelled(OrderEnded {
                action_user_id: USER.into(),
                order_id: "o1".into(),
                message: "m".into(),
                order: (&order).into(),
                user_id: USER.into(),
            })
            .to_event(),
            both.clone(),
        ),
        (
            ConfigChanged {
                new_image: json!({"PK": {"S": "config"}, "storeOpen": {"BOOL": false}}),
            }
            .to_event(),
            vec![ADMIN_TOPIC, CONFIG_TOPIC],
        ),
        (
            // The Gen A legacy event; no typed struct, same routing as its family.
            Event {
                detail_type: "OrderProcessor.OrderStarted".into(),
                detail: json!({"userId": USER, "orderId": "o1", "drink": "Latte"}),
            },
            both,
        ),
    ]
}

fn contains_task_token(v: &Value) -> bool {
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("TaskToken") || contains_task_token(v)),
        Value::Array(items) => items.iter().any(contains_task_token),
        _ => false,
    }
}

#[tokio::test]
async fn every_reference_event_reaches_its_topics() {
    for (event, expected) in reference_events() {
        let realtime = RecordingRealtime::default();
        let published = publisher::handle(app_event(&event), &realtime)
            .await
            .unwrap();
        assert_eq!(topics(&realtime), expected, "{}", event.detail_type);
        assert_eq!(published, expected.len(), "{}", event.detail_type);
    }
}

#[tokio::test]
async fn every_message_is_the_type_and_detail_envelope() {
    for (event, _) in reference_events() {
        let realtime = RecordingRealtime::default();
        publisher::handle(app_event(&event), &realtime)
            .await
            .unwrap();
        for (topic, payload) in realtime.published() {
            let mut keys: Vec<_> = payload.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            assert_eq!(keys, ["detail", "type"], "{topic}");
            assert_eq!(payload["type"], event.detail_type.as_str(), "{topic}");
        }
    }
}

#[tokio::test]
async fn admins_get_details_unchanged_and_customers_never_get_a_task_token() {
    for (event, _) in reference_events() {
        let realtime = RecordingRealtime::default();
        publisher::handle(app_event(&event), &realtime)
            .await
            .unwrap();
        let admin = realtime.on_topic(ADMIN_TOPIC);
        assert_eq!(admin.len(), 1);
        assert_eq!(admin[0]["detail"], event.detail, "{}", event.detail_type);
        for topic in [USER_TOPIC, CONFIG_TOPIC] {
            for payload in realtime.on_topic(topic) {
                assert!(
                    !contains_task_token(&payload),
                    "{} leaked a task token to {topic}",
                    event.detail_type
                );
            }
        }
    }
}

#[tokio::test]
async fn waiting_completion_keeps_everything_but_the_token_for_the_customer() {
    let event = ProcessorWaitingCompletion {
        message: "m".into(),
        task_token: "barista-token".into(),
        order_id: "o1".into(),
        order_number: 42,
        user_id: USER.into(),
    }
    .to_event();
    let realtime = RecordingRealtime::default();
    publisher::handle(app_event(&event), &realtime)
        .await
        .unwrap();
    assert_eq!(
        realtime.on_topic(ADMIN_TOPIC)[0]["detail"]["TaskToken"],
        "barista-token",
        "the barista apps read the detail as the original sent it"
    );
    let mut expected = event.detail.clone();
    expected.as_object_mut().unwrap().remove("TaskToken");
    assert_eq!(realtime.on_topic(USER_TOPIC)[0]["detail"], expected);
}

#[tokio::test]
async fn a_nested_task_token_in_make_order_is_stripped_for_the_customer() {
    let row = order_row_with_token();
    let event = MakeOrder {
        barista_user_id: Some("barista-1".into()),
        order_id: "o1".into(),
        message: "m".into(),
        order: row.clone(),
        user_id: USER.into(),
    }
    .to_event();
    let realtime = RecordingRealtime::default();
    publisher::handle(app_event(&event), &realtime)
        .await
        .unwrap();
    assert_eq!(
        realtime.on_topic(ADMIN_TOPIC)[0]["detail"]["order"]["TaskToken"],
        "barista-token"
    );
    let customer = &realtime.on_topic(USER_TOPIC)[0]["detail"];
    let mut expected_row = row;
    expected_row.as_object_mut().unwrap().remove("TaskToken");
    assert_eq!(customer["order"], expected_row, "only the token is gone");
    assert_eq!(customer["baristaUserId"], "barista-1");
}

#[tokio::test]
async fn events_from_another_source_or_of_another_type_publish_nothing() {
    let realtime = RecordingRealtime::default();
    let detail = json!({"orderId": "o1", "userId": USER, "TaskToken": "t"});
    let foreign = delivered(
        "com.example.other",
        "OrderManager.OrderCompleted",
        detail.clone(),
    );
    assert_eq!(publisher::handle(foreign, &realtime).await.unwrap(), 0);
    let unrouted = delivered(EVENT_SOURCE, "OrderRobot.FulfillOrder", detail);
    assert_eq!(publisher::handle(unrouted, &realtime).await.unwrap(), 0);
    assert!(realtime.published().is_empty());
}

#[tokio::test]
async fn a_failed_publish_fails_the_invocation_after_trying_every_topic() {
    let event = OrderFinished {
        message: "m".into(),
        user_id: USER.into(),
        order_id: "o1".into(),
    }
    .to_event();

    let realtime = RecordingRealtime::default();
    realtime.fail_topic(ADMIN_TOPIC);
    let err = publisher::handle(app_event(&event), &realtime)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 500);
    assert!(err.message().contains("1 of 2"), "{err}");
    assert_eq!(
        topics(&realtime),
        [USER_TOPIC],
        "the customer still got the message"
    );

    let realtime = RecordingRealtime::default();
    realtime.fail_topic(USER_TOPIC);
    assert!(
        publisher::handle(app_event(&event), &realtime)
            .await
            .is_err()
    );
    assert_eq!(topics(&realtime), [ADMIN_TOPIC]);
}

/// Every `events/publisher-*.json` (for `sam local invoke`) goes to the topics its detail-type
/// routes to; a new sample file must be added to this table.
#[tokio::test]
async fn the_sample_events_publish_as_routed() {
    let expected: &[(&str, &[&str])] = &[
        (
            "publisher-config-changed.json",
            &[ADMIN_TOPIC, CONFIG_TOPIC],
        ),
        ("publisher-new-order.json", &[ADMIN_TOPIC]),
        ("publisher-order-completed.json", &[ADMIN_TOPIC, USER_TOPIC]),
        (
            "publisher-waiting-completion.json",
            &[ADMIN_TOPIC, USER_TOPIC],
        ),
        (
            "publisher-workflow-started.json",
            &[ADMIN_TOPIC, USER_TOPIC],
        ),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let mut samples: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("publisher-") && name.ends_with(".json"))
        .collect();
    samples.sort();
    let listed: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
    assert_eq!(samples, listed, "every sample file is checked");

    for (name, want) in expected {
        let raw: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap())
                .unwrap();
        let event: EventBridgeEvent<Value> = serde_json::from_value(raw.clone()).unwrap();
        let realtime = RecordingRealtime::default();
        let published = publisher::handle(event, &realtime).await.unwrap();
        assert_eq!(topics(&realtime), *want, "{name}");
        assert_eq!(published, want.len(), "{name}");
        assert_eq!(
            realtime.on_topic(ADMIN_TOPIC)[0],
            json!({"type": raw["detail-type"], "detail": raw["detail"]}),
            "{name}"
        );
        for (topic, payload) in realtime.published() {
            if topic != ADMIN_TOPIC {
                assert!(!contains_task_token(&payload), "{name} leaked to {topic}");
            }
        }
    }
}
