//! The local broker's per-topic rules, as an IoT policy in AWS: a customer reads only their own
//! topic and the config topic, an admin also the admin topic, nobody publishes but the stack,
//! wildcards that could cover a forbidden topic are refused, and browsers of other sites cannot
//! open the WebSocket. Over TCP and over WebSocket, with rumqttc as the client.

use axum::http::HeaderValue;
use local::gateway::LocalAuth;
use local_stack::auth_key;
use local_stack::mqtt::MqttBroker;
use local_stack::outbox::RealtimeLog;
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS, SubscribeFilter,
    SubscribeReasonCode, Transport,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use tempfile::TempDir;
use tokio::time::{Instant, timeout};

const ADMIN: &str = "serverlesspresso-admin";
const CONFIG: &str = "serverlesspresso-config";
const ALICE: &str = "serverlesspresso-user-alice";
const BOB: &str = "serverlesspresso-user-bob";
const GRANTED: SubscribeReasonCode = SubscribeReasonCode::Success(QoS::AtLeastOnce);
const REFUSED: SubscribeReasonCode = SubscribeReasonCode::Failure;
/// How long to keep listening for messages that must not arrive.
const QUIET: Duration = Duration::from_millis(700);

struct Setup {
    _keys: TempDir,
    auth: LocalAuth,
    realtime: RealtimeLog,
    broker: MqttBroker,
}

async fn setup() -> Setup {
    let keys = tempfile::tempdir().unwrap();
    let auth = auth_key(keys.path()).unwrap();
    let realtime = RealtimeLog::new(None);
    let any = "127.0.0.1:0".parse().unwrap();
    let broker = MqttBroker::start_authenticated(any, any, &realtime, auth.clone()).unwrap();
    Setup {
        _keys: keys,
        auth,
        realtime,
        broker,
    }
}

impl Setup {
    fn token(&self, sub: &str, groups: &[&str]) -> String {
        self.auth
            .mint(sub, groups, Duration::from_secs(3600))
            .unwrap()
    }

    fn tcp(&self, id: &str, token: &str) -> MqttOptions {
        let mut options = MqttOptions::new(id, "127.0.0.1", self.broker.tcp_addr.port());
        options.set_credentials("user", token);
        options
    }

    /// Over WebSocket, sending `origin` as a browser does (`None`: no Origin header).
    fn ws(&self, id: &str, token: &str, origin: Option<&'static str>) -> MqttOptions {
        // rumqttc takes the whole URL as the host for WebSocket (the port is ignored).
        let mut options = MqttOptions::new(id, self.broker.ws_url(), self.broker.ws_addr.port());
        options.set_transport(Transport::Ws);
        options.set_credentials("user", token);
        if let Some(origin) = origin {
            options.set_request_modifier(move |mut request| {
                request
                    .headers_mut()
                    .insert("origin", HeaderValue::from_static(origin));
                async move { request }
            });
        }
        options
    }

    async fn publish(&self, topic: &str, marker: &str) {
        let message = json!({"type": "test", "detail": {"marker": marker}});
        self.realtime.publish(topic, &message).await.unwrap();
    }
}

/// Connects; the client once CONNACK arrived, or the last error once `patience` ran out.
/// Errors are retried (a broker's listener may still be starting), so a refusal takes the
/// whole `patience`.
async fn connect(
    mut options: MqttOptions,
    patience: Duration,
) -> Result<(AsyncClient, EventLoop), String> {
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(options, 16);
    let deadline = Instant::now() + patience;
    let mut last = "timed out".to_owned();
    while Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => return Ok((client, events)),
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => {
                last = e.to_string();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Err(last)
}

/// How long a refused client keeps trying.
const REFUSAL: Duration = Duration::from_secs(2);

async fn connected(options: MqttOptions) -> (AsyncClient, EventLoop) {
    connect(options, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("cannot connect: {e}"))
}

/// Subscribes to `filters` in one SUBSCRIBE at QoS 1; the SUBACK's return codes.
async fn subscribe(
    client: &AsyncClient,
    events: &mut EventLoop,
    filters: &[&str],
) -> Vec<SubscribeReasonCode> {
    let filters = filters
        .iter()
        .map(|f| SubscribeFilter::new((*f).to_owned(), QoS::AtLeastOnce));
    client.subscribe_many(filters).await.unwrap();
    loop {
        match timeout(Duration::from_secs(5), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::SubAck(ack)))) => return ack.return_codes,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("connection lost while subscribing: {e}"),
            Err(_) => panic!("no SUBACK"),
        }
    }
}

/// The topics of the messages received until `expected` all arrived and then `QUIET` passed
/// (or 10 s in all), with the markers received.
async fn received(events: &mut EventLoop, expected: &[&str]) -> (BTreeSet<String>, Vec<String>) {
    let (mut topics, mut markers) = (BTreeSet::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut quiet_from = None;
    loop {
        if expected.iter().all(|t| topics.contains(*t)) && quiet_from.is_none() {
            quiet_from = Some(Instant::now() + QUIET);
        }
        let until = quiet_from.unwrap_or(deadline).min(deadline);
        match tokio::time::timeout_at(until, events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                let payload: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                markers.push(
                    payload["detail"]["marker"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                );
                topics.insert(p.topic);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("connection lost: {e}"),
            Err(_) => return (topics, markers),
        }
    }
}

fn set(topics: &[&str]) -> BTreeSet<String> {
    topics.iter().map(|t| (*t).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_reads_only_their_own_topic_and_the_config_over_tcp_and_websocket() {
    let s = setup().await;
    let alice = s.token("alice", &[]);
    let (tcp, mut tcp_events) = connected(s.tcp("alice-tcp", &alice)).await;
    let (ws, mut ws_events) =
        connected(s.ws("alice-ws", &alice, Some("http://localhost:5173"))).await;
    for (client, events) in [(&tcp, &mut tcp_events), (&ws, &mut ws_events)] {
        let codes = subscribe(client, events, &[ALICE, ADMIN, CONFIG, BOB]).await;
        assert_eq!(codes, [GRANTED, REFUSED, GRANTED, REFUSED]);
    }

    for topic in [ADMIN, BOB, ALICE, CONFIG] {
        s.publish(topic, topic).await;
    }
    for events in [&mut tcp_events, &mut ws_events] {
        let (topics, _) = received(events, &[ALICE, CONFIG]).await;
        assert_eq!(topics, set(&[ALICE, CONFIG]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reads_the_admin_topic_but_no_other_customers() {
    let s = setup().await;
    let boss = s.token("boss", &["baristas", "admin"]);
    let (client, mut events) = connected(s.tcp("boss", &boss)).await;
    let codes = subscribe(&client, &mut events, &[ADMIN, ALICE, CONFIG]).await;
    assert_eq!(codes, [GRANTED, REFUSED, GRANTED]);

    for topic in [ALICE, ADMIN, CONFIG] {
        s.publish(topic, topic).await;
    }
    let (topics, _) = received(&mut events, &[ADMIN, CONFIG]).await;
    assert_eq!(topics, set(&[ADMIN, CONFIG]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_filters_that_could_cover_a_forbidden_topic_are_refused() {
    let s = setup().await;
    let alice = s.token("alice", &[]);
    let (client, mut events) = connected(s.tcp("alice", &alice)).await;
    // (`serverlesspresso-#` and the like are not valid filters, which rumqttc will not send:
    // the unit tests of local_stack::mqtt::policy refuse them.)
    let wildcards = [
        "#",
        "+",
        "+/#",
        "serverlesspresso-user-alice/#",
        "serverlesspresso-user-alice/+",
        "serverlesspresso-admin/#",
    ];
    let codes = subscribe(&client, &mut events, &wildcards).await;
    assert_eq!(codes, [REFUSED; 6]);
    // Not even an admin may take everything.
    let boss = s.token("boss", &["admin"]);
    let (admin, mut admin_events) = connected(s.ws("boss", &boss, None)).await;
    let codes = subscribe(&admin, &mut admin_events, &["#", "+"]).await;
    assert_eq!(codes, [REFUSED, REFUSED]);

    for topic in [ADMIN, BOB, ALICE, CONFIG] {
        s.publish(topic, topic).await;
    }
    assert_eq!(received(&mut events, &[]).await.0, set(&[]));
    assert_eq!(received(&mut admin_events, &[]).await.0, set(&[]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_publish_closes_its_connection_and_reaches_nobody() {
    let s = setup().await;
    let boss = s.token("boss", &["admin"]);
    let (watcher, mut watcher_events) = connected(s.tcp("watcher", &boss)).await;
    let codes = subscribe(&watcher, &mut watcher_events, &[ADMIN, CONFIG]).await;
    assert_eq!(codes, [GRANTED, GRANTED]);

    // A customer faking an admin update over TCP, and even an admin over WebSocket.
    let alice = s.token("alice", &[]);
    let publishers = [
        s.tcp("faker", &alice),
        s.ws("admin-faker", &boss, Some("http://127.0.0.1:3000")),
    ];
    for (options, topic) in publishers.into_iter().zip([ADMIN, CONFIG]) {
        let (client, mut events) = connected(options).await;
        client
            .publish(
                topic,
                QoS::AtLeastOnce,
                false,
                r#"{"detail":{"marker":"fake"}}"#,
            )
            .await
            .unwrap();
        let closed = timeout(Duration::from_secs(5), async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => panic!("the broker took a publish"),
                    Ok(_) => {}
                    Err(e) => return e,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the publisher's connection stayed open");
    }

    s.publish(ADMIN, "real").await;
    let (topics, markers) = received(&mut watcher_events, &[ADMIN]).await;
    assert_eq!(topics, set(&[ADMIN]));
    assert_eq!(markers, ["real"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_will_is_refused_because_only_the_stack_publishes() {
    let s = setup().await;
    let alice = s.token("alice", &[]);
    let mut options = s.tcp("alice-will", &alice);
    options.set_last_will(LastWill::new(ADMIN, "fake", QoS::AtMostOnce, false));
    let refused = connect(options, REFUSAL).await;
    assert!(refused.is_err(), "a client with a will was admitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_from_another_sites_page_is_refused() {
    let s = setup().await;
    let alice = s.token("alice", &[]);
    for origin in [
        "http://localhost:5173",
        "https://[::1]",
        "http://127.0.0.1:8080",
    ] {
        let accepted = connect(s.ws("local", &alice, Some(origin)), Duration::from_secs(10)).await;
        assert!(
            accepted.is_ok(),
            "{origin}: {accepted:?}",
            accepted = accepted.err()
        );
    }
    // Not a browser: no Origin header.
    assert!(
        connect(s.ws("tool", &alice, None), Duration::from_secs(10))
            .await
            .is_ok()
    );
    for origin in [
        "https://evil.example",
        "http://localhost.evil.example",
        "null",
    ] {
        let refused = connect(
            s.ws("foreign", &alice, Some(origin)),
            Duration::from_secs(5),
        )
        .await;
        let e = refused
            .err()
            .unwrap_or_else(|| panic!("{origin} was admitted"));
        assert!(e.contains("403"), "{origin}: {e}");
    }
}
