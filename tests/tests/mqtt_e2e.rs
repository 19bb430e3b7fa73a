//! The local IoT Core: realtime messages of a whole order lifecycle reach MQTT subscribers of
//! the embedded broker, over TCP (as `mosquitto_sub` connects) and over WebSocket (as the
//! browser apps connect), on the topics and with the payloads the publisher function sends.

mod common;

use local_stack::mqtt::MqttBroker;
use local_stack::outbox::RealtimeLog;
use rumqttc::{
    AsyncClient, Event, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode, Transport,
};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

const ADMIN_TOPIC: &str = "serverlesspresso-admin";
const USER_TOPIC: &str = "serverlesspresso-user-alice";

/// How long the order may take to reach the subscribers (the workflow runs 100x faster).
const DELIVERY: Duration = Duration::from_secs(15);

/// A connected, subscribed MQTT client; what it receives arrives on `messages`.
struct Subscriber {
    name: &'static str,
    messages: mpsc::UnboundedReceiver<Publish>,
    _client: AsyncClient,
}

/// Connects, subscribes to the admin topic and alice's topic at QoS 1 (as the frontends do),
/// waits for both subscriptions to be acknowledged, then forwards every publish received.
async fn subscribe(name: &'static str, mut options: MqttOptions) -> Subscriber {
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(128 * 1024, 128 * 1024);
    let (client, mut events) = AsyncClient::new(options, 16);
    // The broker's listeners bind a few milliseconds after `MqttBroker::start` returns: a
    // refused connection is retried (the next poll reconnects).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match timeout(Duration::from_secs(5), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) if Instant::now() < deadline => {
                eprintln!("{name}: not connected yet: {e}");
                sleep(Duration::from_millis(50)).await;
            }
            Ok(Err(e)) => panic!("{name}: cannot connect to the broker: {e}"),
            Err(_) => panic!("{name}: no CONNACK from the broker"),
        }
    }
    for topic in [ADMIN_TOPIC, USER_TOPIC] {
        client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    }
    let mut acknowledged = 0;
    while acknowledged < 2 {
        let event = match timeout(Duration::from_secs(5), events.poll()).await {
            Ok(Ok(event)) => event,
            Ok(Err(e)) => panic!("{name}: connection lost while subscribing: {e}"),
            Err(_) => panic!("{name}: no SUBACK"),
        };
        if let Event::Incoming(Packet::SubAck(ack)) = event {
            assert_eq!(
                ack.return_codes,
                [SubscribeReasonCode::Success(QoS::AtLeastOnce)],
                "{name}"
            );
            acknowledged += 1;
        }
    }
    let (tx, messages) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send(p).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    // Reconnecting would lose the subscriptions (clean session): stop, and let
                    // the test report what it did not receive.
                    eprintln!("{name}: connection lost: {e}");
                    return;
                }
            }
        }
    });
    Subscriber {
        name,
        messages,
        _client: client,
    }
}

impl Subscriber {
    /// Reads messages until `orderFinished` for `order_id` has arrived on both topics; checks
    /// every message on the way. Returns the two `orderFinished` payloads (admin, user).
    async fn order_finished(&mut self, order_id: &str) -> (Value, Value) {
        let name = self.name;
        let mut seen = Vec::new();
        let (mut admin, mut user) = (None, None);
        let read = async {
            while admin.is_none() || user.is_none() {
                let Some(p) = self.messages.recv().await else {
                    panic!("{name}: the connection ended; received {seen:#?}");
                };
                let text = String::from_utf8(p.payload.to_vec()).unwrap();
                let payload: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {text}"));
                // The broker's local link publishes at QoS 0, but rumqttd delivers at the
                // subscription's QoS, so the subscriber gets QoS 1 as from IoT Core (see
                // local_stack::mqtt).
                assert_eq!(p.qos, QoS::AtLeastOnce, "{name}: {}", p.topic);
                assert!(
                    payload["type"].is_string() && payload.get("detail").is_some(),
                    "{name}: not the publisher's shape: {text}"
                );
                if p.topic == USER_TOPIC {
                    assert!(
                        !text.contains("TaskToken"),
                        "{name}: a task token reached the customer: {text}"
                    );
                }
                if payload["type"] == "OrderProcessor.orderFinished"
                    && payload["detail"]["orderId"] == order_id
                {
                    assert_eq!(payload["detail"]["userId"], "alice", "{name}: {text}");
                    match p.topic.as_str() {
                        ADMIN_TOPIC => admin = Some(payload.clone()),
                        USER_TOPIC => user = Some(payload.clone()),
                        other => panic!("{name}: unexpected topic {other}"),
                    }
                }
                seen.push((p.topic, payload));
            }
        };
        if timeout(DELIVERY, read).await.is_err() {
            panic!(
                "{name}: orderFinished did not arrive on both topics within {DELIVERY:?} \
                 (admin: {}, user: {}); received {seen:#?}",
                admin.is_some(),
                user.is_some()
            );
        }
        (admin.unwrap(), user.unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_reaches_mqtt_subscribers_over_tcp_and_websocket() {
    // The stack of every end-to-end test: time 100x faster, alice as the customer.
    let local = common::start(None).await;

    let any_port = "127.0.0.1:0".parse().unwrap();
    let broker = MqttBroker::start(any_port, any_port, &local.stack.hub.realtime).unwrap();
    // (That both listeners really listen is shown by the subscribers below receiving.)

    let mut tcp = subscribe(
        "tcp",
        MqttOptions::new("test-tcp", "127.0.0.1", broker.tcp_addr.port()),
    )
    .await;
    // rumqttc takes the whole URL as the host for WebSocket (the port argument is ignored).
    let mut ws_options = MqttOptions::new("test-ws", broker.ws_url(), broker.ws_addr.port());
    ws_options.set_transport(Transport::Ws);
    let mut ws = subscribe("websocket", ws_options).await;

    let order_id = local
        .post_direct(json!({"name": "Latte", "restaurantId": "r1", "quantity": 1}))
        .await;

    for subscriber in [&mut tcp, &mut ws] {
        let (admin, user) = subscriber.order_finished(&order_id).await;
        // The admin copy is the event's detail unchanged; the customer's has no task token.
        assert_eq!(admin["detail"]["orderId"], order_id.as_str());
        assert_eq!(user["detail"], admin["detail"]);
    }
    local.stack.stop().await;
}

#[tokio::test]
async fn a_port_in_use_is_refused_with_a_clear_message() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = listener.local_addr().unwrap();
    let any_port = "127.0.0.1:0".parse().unwrap();
    let realtime = RealtimeLog::new(None);

    let e = MqttBroker::start(taken, any_port, &realtime).unwrap_err();
    assert!(
        e.contains(&taken.to_string()) && e.contains("--mqtt-port"),
        "{e}"
    );
    let e = MqttBroker::start(any_port, taken, &realtime).unwrap_err();
    assert!(
        e.contains("WebSocket") && e.contains("--mqtt-ws-port"),
        "{e}"
    );
    drop(listener);
}
