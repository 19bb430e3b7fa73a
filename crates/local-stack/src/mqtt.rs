//! The local stand-in for AWS IoT Core: an embedded MQTT broker (rumqttd) that re-publishes
//! every realtime message the publisher function sends, so the frontends (or `mosquitto_sub`,
//! or a test) can subscribe on this machine exactly as they subscribe to IoT Core in AWS.
//!
//! * **Two listeners, both on loopback**: MQTT 3.1.1 over TCP (`mqtt://127.0.0.1:1883` by
//!   default) and MQTT 3.1.1 over WebSocket (`ws://127.0.0.1:9001/mqtt`), the transport the
//!   browser apps use. Any WebSocket path is accepted; `/mqtt` is IoT Core's.
//! * **Where messages come from**: the publisher's `Realtime` port locally is
//!   [`crate::outbox::RealtimeLog`], which records each message and broadcasts it; a task
//!   forwards every broadcast message to the broker through its in-process *local link*, with
//!   the payload as the publisher's JSON (`{"type": <detail-type>, "detail": ...}`).
//! * **QoS**: rumqttd's local link can publish at QoS 0 only (`LinkTx::publish`), where the
//!   publisher publishes at QoS 1 in AWS. Subscribers still get the QoS they subscribed with:
//!   rumqttd stamps every forwarded message with the subscription's QoS (not the smaller of the
//!   two, as MQTT 3.1.1 says), so a frontend subscribing at QoS 1 gets QoS 1 deliveries, acked
//!   and resent within its connection, as from IoT Core (the e2e test checks this). A subscriber
//!   that is not connected misses messages, as an IoT Core subscriber with a clean session
//!   does; persistent sessions are not supported here, and nothing is retained.
//! * **Authentication** ([`MqttBroker::start_authenticated`]): a client connects with a local
//!   token (the one the API takes, from `coffee-local token`) as its MQTT password, checked
//!   with the gateway's verifier (signature, expiry, issuer); anything else is disconnected
//!   before CONNACK. The username is not checked. [`MqttBroker::start`] serves without
//!   authentication. In AWS the browsers connect with SigV4-signed URLs from a Cognito
//!   identity pool; locally the frontends' IoT module must point at
//!   `ws://127.0.0.1:<port>/mqtt` instead and send the token as the password.
//! * **No per-topic rules**: rumqttd 0.20 offers only a callback at CONNECT (client id,
//!   username, password) and static user/password pairs; it has no hook or ACL for SUBSCRIBE
//!   and PUBLISH, nor one on the WebSocket handshake (its header callback is private). So an
//!   authenticated client may still subscribe to any topic (another customer's, the admin
//!   topic) and publish, and the WebSocket `Origin` is not checked. Enforcing those needs a
//!   filtering proxy in front of the broker or another broker.
//! * **Lifetime**: rumqttd has no shutdown; its threads (router, one per listener) live until
//!   the process exits. Start one broker per process.

use crate::outbox::RealtimeLog;
use local::gateway::LocalAuth;
use rumqttd::local::{LinkRx, LinkTx};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// The start of the client id of the broker's in-process link that realtime messages come
/// from. A random suffix follows: a client connecting with the same id would take the link's
/// session over (MQTT's rule for duplicate client ids), and the forwarding would silently stop.
pub const LINK_ID_PREFIX: &str = "coffee-local-";

/// AWS IoT Core's largest message (128 KiB); anything larger would fail in AWS too.
const MAX_PAYLOAD_BYTES: usize = 128 * 1024;

/// A running broker and where it listens.
#[derive(Debug, Clone, Copy)]
pub struct MqttBroker {
    /// MQTT 3.1.1 over TCP.
    pub tcp_addr: SocketAddr,
    /// MQTT 3.1.1 over WebSocket (connect to `ws://<ws_addr>/mqtt`).
    pub ws_addr: SocketAddr,
}

impl MqttBroker {
    /// Starts the broker with its TCP listener on `tcp` and its WebSocket listener on `ws`
    /// (port 0: any free port; the chosen ports are in the result), and forwards every message
    /// published on `realtime` from now on. Must be called within a tokio runtime (the forwarding
    /// task is spawned on it); an error otherwise.
    ///
    /// Returns when the broker's threads are spawned; the listeners bind a few milliseconds
    /// later, so a client connecting at once may be refused and should retry (MQTT clients
    /// reconnect anyway).
    pub fn start(
        tcp: SocketAddr,
        ws: SocketAddr,
        realtime: &RealtimeLog,
    ) -> Result<MqttBroker, String> {
        Self::start_with(tcp, ws, realtime, None)
    }

    /// [`MqttBroker::start`], admitting only clients whose MQTT password is a token `auth`
    /// verifies.
    pub fn start_authenticated(
        tcp: SocketAddr,
        ws: SocketAddr,
        realtime: &RealtimeLog,
        auth: LocalAuth,
    ) -> Result<MqttBroker, String> {
        Self::start_with(tcp, ws, realtime, Some(auth))
    }

    fn start_with(
        tcp: SocketAddr,
        ws: SocketAddr,
        realtime: &RealtimeLog,
        auth: Option<LocalAuth>,
    ) -> Result<MqttBroker, String> {
        // Checked first, so that a misuse fails before any thread is started.
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "the MQTT broker must be started within a tokio runtime".to_owned())?;
        // rumqttd binds its listeners itself, inside `Broker::start`, and tells the caller
        // neither the port it bound nor that binding failed (a failed listener logs an error and
        // its thread ends). So the addresses are checked here, and port 0 turned into a free
        // port, by binding them first: both at once (so the two cannot get the same port), then
        // released just before the broker binds them. Another process could take a port in that
        // window; rumqttd then logs "Server error" and that listener is missing.
        let tcp_probe = reserve(tcp, "MQTT (TCP)", "--mqtt-port")?;
        let ws_probe = reserve(ws, "MQTT over WebSocket", "--mqtt-ws-port")?;
        let broker = MqttBroker {
            tcp_addr: local_addr(&tcp_probe)?,
            ws_addr: local_addr(&ws_probe)?,
        };

        let mut server = Broker::new(config(broker.tcp_addr, broker.ws_addr, auth));
        // Waits (briefly, on this thread) for the router's acknowledgement of the link.
        let (link_tx, link_rx) = server
            .link(&format!(
                "{LINK_ID_PREFIX}{}",
                uuid::Uuid::new_v4().simple()
            ))
            .map_err(|e| format!("the MQTT broker refused its local link: {e}"))?;
        let live = realtime.subscribe();

        drop(tcp_probe);
        drop(ws_probe);
        std::thread::Builder::new()
            .name("mqtt-broker".to_owned())
            .spawn(move || match server.start() {
                // `start` returns only when every listener has ended (e.g. failed to bind).
                Ok(()) => tracing::error!("the MQTT broker stopped: none of its listeners runs"),
                Err(e) => tracing::error!(error = %e, "the MQTT broker could not start"),
            })
            .map_err(|e| format!("cannot start the MQTT broker thread: {e}"))?;
        runtime.spawn(forward(live, link_tx, link_rx));
        tracing::debug!(tcp = %broker.tcp_addr, ws = %broker.ws_addr, "MQTT broker started");
        Ok(broker)
    }

    /// The URL a browser's MQTT client connects to.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/mqtt", self.ws_addr)
    }
}

/// Binds `addr` to learn whether it is free and, for port 0, which port it gets.
fn reserve(addr: SocketAddr, what: &str, flag: &str) -> Result<std::net::TcpListener, String> {
    std::net::TcpListener::bind(addr).map_err(|e| {
        format!(
            "cannot listen for {what} on {addr}: {e} (is another MQTT broker, such as mosquitto, \
             running? choose another port with {flag}, or 0 for any free port)"
        )
    })
}

fn local_addr(listener: &std::net::TcpListener) -> Result<SocketAddr, String> {
    listener
        .local_addr()
        .map_err(|e| format!("cannot read the MQTT listener's address: {e}"))
}

/// The broker's configuration, built in code (rumqttd usually reads a TOML file).
fn config(tcp: SocketAddr, ws: SocketAddr, auth: Option<LocalAuth>) -> Config {
    let mut connections = ConnectionSettings {
        // A client must send CONNECT within this time after opening the connection.
        connection_timeout_ms: 60_000,
        max_payload_size: MAX_PAYLOAD_BYTES,
        max_inflight_count: 100,
        // Set below when the broker authenticates: see the module documentation.
        auth: None,
        external_auth: None,
        // Lets clients publish to topics nobody subscribes to yet (a developer testing with
        // `mosquitto_pub`) instead of being disconnected.
        dynamic_filters: true,
    };
    if let Some(auth) = auth {
        connections.set_auth_handler(move |client_id: String, _user: String, password: String| {
            let verified = auth.verify(&password);
            if let Err(why) = &verified {
                // The reason only (expired, bad signature): never the password, a token.
                tracing::info!(%client_id, reason = %why, "MQTT connection refused");
            }
            std::future::ready(verified.is_ok())
        });
    }
    let server = |name: &str, listen: SocketAddr| {
        let settings = ServerSettings {
            name: name.to_owned(),
            listen,
            tls: None,
            next_connection_delay_ms: 1,
            connections: connections.clone(),
        };
        Some(HashMap::from([("1".to_owned(), settings)]))
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 1_000,
            max_outgoing_packet_count: 200,
            // Every topic filter with subscribers keeps a log of its recent messages in
            // memory: at most 10 segments of 1 MiB each, a few thousand order updates.
            max_segment_size: 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: server("mqtt-tcp", tcp),
        v5: None,
        // rumqttd serves MQTT 3.1.1 (v4) on its WebSocket listeners.
        ws: server("mqtt-ws", ws),
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    }
}

/// Forwards every realtime message to the broker until the realtime log is gone.
///
/// `_link_rx` is the link's receiving half, held for as long as the link is used (as rumqttd's
/// examples do) rather than dropped while the router still has the link registered. Nothing
/// arrives on it: the link publishes at QoS 0 (no acknowledgements) and subscribes to nothing.
async fn forward(
    mut live: broadcast::Receiver<(String, Value)>,
    mut link_tx: LinkTx,
    _link_rx: LinkRx,
) {
    loop {
        match live.recv().await {
            Ok((topic, payload)) => {
                // `publish` hands the message to the router's queue (1000 events deep, drained
                // continuously by the router thread); it could block only if the router were
                // that far behind, which realtime traffic (a few messages per order) never does.
                if let Err(e) = link_tx.publish(topic.clone(), payload.to_string()) {
                    tracing::error!(%topic, error = %e, "the MQTT broker is gone; realtime messages are no longer forwarded to it");
                    return;
                }
            }
            Err(RecvError::Lagged(skipped)) => {
                // The broadcast buffer (1024 messages) overflowed: those messages are still in
                // the realtime log (`/local/realtime`), but MQTT subscribers miss them.
                tracing::warn!(
                    skipped,
                    "realtime messages were not forwarded to MQTT: the forwarder fell behind"
                );
            }
            Err(RecvError::Closed) => return,
        }
    }
}
