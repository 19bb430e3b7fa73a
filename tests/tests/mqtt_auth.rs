//! The local broker admits only clients with a local token as their MQTT password (its own
//! test binary: rumqttd runs one broker per process).

use local_stack::auth_key;
use local_stack::mqtt::MqttBroker;
use local_stack::outbox::RealtimeLog;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;
use std::time::Duration;
use tokio::time::{Instant, sleep, timeout};

const TOPIC: &str = "serverlesspresso-user-alice";

/// Connects with `password` (none: no credentials); the client and its event loop once the
/// broker answered CONNACK, or the last error once `patience` ran out.
async fn connect(
    port: u16,
    name: &str,
    password: Option<&str>,
    patience: Duration,
) -> Result<(AsyncClient, rumqttc::EventLoop), String> {
    let mut options = MqttOptions::new(name, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    if let Some(p) = password {
        options.set_credentials("alice", p);
    }
    let (client, mut events) = AsyncClient::new(options, 16);
    let deadline = Instant::now() + patience;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        match timeout(Duration::from_secs(2), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => return Ok((client, events)),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                last = e.to_string();
                sleep(Duration::from_millis(50)).await;
            }
            Err(_) => last = "timed out".into(),
        }
    }
    Err(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_clients_with_a_local_token_may_connect() {
    let keys = tempfile::tempdir().unwrap();
    let auth = auth_key(keys.path()).unwrap();
    let token = auth.mint("alice", &[], Duration::from_secs(3600)).unwrap();
    let expired = auth.sign(&{
        let mut c = auth.claims("alice", &[], Duration::from_secs(3600));
        c.exp = 1;
        c
    });
    let other_key = auth_key(tempfile::tempdir().unwrap().path()).unwrap();
    let forged = other_key
        .mint("alice", &["admin"], Duration::from_secs(3600))
        .unwrap();
    let realtime = RealtimeLog::new(None);
    let any_port = "127.0.0.1:0".parse().unwrap();
    let broker =
        MqttBroker::start_authenticated(any_port, any_port, &realtime, auth.clone()).unwrap();
    let port = broker.tcp_addr.port();

    // A client with the token gets in (this also waits for the listener to be up)...
    let (client, mut events) = connect(port, "alice", Some(&token), Duration::from_secs(10))
        .await
        .expect("a client with a valid token connects");
    client.subscribe(TOPIC, QoS::AtLeastOnce).await.unwrap();
    // ...and receives what the stack publishes.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut published = false;
    let received = loop {
        assert!(Instant::now() < deadline, "nothing received");
        match timeout(Duration::from_millis(200), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) if !published => {
                realtime
                    .publish(TOPIC, &json!({"type": "t", "detail": {}}))
                    .await
                    .unwrap();
                published = true;
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => break p,
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => panic!("connection lost: {e}"),
        }
    };
    assert_eq!(received.topic, TOPIC);

    // Nobody else does.
    let quick = Duration::from_secs(2);
    let expired = expired.unwrap();
    for (name, password) in [
        ("anonymous", None),
        ("garbage", Some("not-a-token")),
        ("expired", Some(expired.as_str())),
        ("forged", Some(forged.as_str())),
    ] {
        let refused = connect(port, name, password, quick).await;
        assert!(refused.is_err(), "{name} was admitted");
    }
}
