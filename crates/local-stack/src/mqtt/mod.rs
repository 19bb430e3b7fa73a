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
//!   with the gateway's verifier (signature, expiry, issuer); anything else gets CONNACK
//!   "bad user name or password" and is disconnected. The username is not checked.
//!   [`MqttBroker::start`] serves without authentication. In AWS the browsers connect with
//!   SigV4-signed URLs from a Cognito identity pool; locally the frontends' IoT module must
//!   point at `ws://127.0.0.1:<port>/mqtt` instead and send the token as the password.
//! * **Per-topic rules** ([`policy`]), as an IoT policy decides per topic in AWS: a customer
//!   may subscribe to `serverlesspresso-user-<their sub>` and `serverlesspresso-config`, an
//!   admin (group `admin`) also to `serverlesspresso-admin`; a refused filter (wildcards
//!   included) gets SUBACK failure (0x80). No client publishes: a PUBLISH, or a CONNECT with a
//!   will, closes or refuses the connection. Without authentication every filter is allowed,
//!   and publishing is still refused.
//! * **WebSocket `Origin`**: only pages of this machine (`http(s)://localhost`, `127.0.0.1`,
//!   `[::1]`, any port) or clients sending no `Origin` (not browsers) may connect; another
//!   site's page is refused (403) before it can use a developer's token.
//! * **Why a front, not rumqttd's listeners**: rumqttd 0.20 offers only a callback at CONNECT
//!   and has no hook or ACL for SUBSCRIBE and PUBLISH, nor one on the WebSocket handshake (its
//!   header callback is private). So the listeners above are our own ([`front`]): each client
//!   connection is relayed to rumqttd's only listener, on a free loopback port, after the
//!   checks, with packets framed and decoded by rumqttc's MQTT 3.1.1 codec; what is not checked
//!   (acks, pings, UNSUBSCRIBE, everything from the broker) passes as the bytes received. This
//!   keeps rumqttd doing the protocol (keep-alive, QoS 1 resends, sessions) instead of
//!   re-implementing it over its local links. The front presents a per-process random password
//!   to rumqttd, which admits nobody else, so the internal port is no way around the checks;
//!   and it prefixes client ids with the identity, so that nobody takes over another user's
//!   session (and its subscriptions) or the stack's link by reusing a client id.
//! * **Lifetime**: rumqttd has no shutdown; its threads (router, one per listener) live until
//!   the process exits. Start one broker per process.

mod front;
pub mod policy;

use crate::outbox::RealtimeLog;
use front::Front;
use local::gateway::LocalAuth;
use rumqttd::local::{LinkRx, LinkTx};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// The start of the client id of the broker's in-process link that realtime messages come
/// from. A random suffix follows: a client connecting with the same id would take the link's
/// session over (MQTT's rule for duplicate client ids), and the forwarding would silently stop.
pub const LINK_ID_PREFIX: &str = "coffee-local-";

/// AWS IoT Core's largest message (128 KiB); anything larger would fail in AWS too.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 128 * 1024;

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
    /// The listeners are bound when this returns; rumqttd behind them starts a few milliseconds
    /// later, which a client's connection waits for.
    pub fn start(
        tcp: SocketAddr,
        ws: SocketAddr,
        realtime: &RealtimeLog,
    ) -> Result<MqttBroker, String> {
        Self::start_with(tcp, ws, realtime, None)
    }

    /// [`MqttBroker::start`], admitting only clients whose MQTT password is a token `auth`
    /// verifies, each to the topics [`policy`] allows its identity.
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
        // The public listeners are the front's: bound here, so a port in use is reported now.
        let tcp_listener = listen(tcp, "MQTT (TCP)", "--mqtt-port")?;
        let ws_listener = listen(ws, "MQTT over WebSocket", "--mqtt-ws-port")?;
        let broker = MqttBroker {
            tcp_addr: local_addr(&tcp_listener)?,
            ws_addr: local_addr(&ws_listener)?,
        };
        // rumqttd binds its own listener, inside `Broker::start`, and tells the caller neither
        // the port it bound nor that binding failed. So a free loopback port is found by binding
        // port 0 and released just before rumqttd binds it; another process could take it in
        // that window: rumqttd then logs "Server error" and clients get CONNACK "server
        // unavailable".
        let internal_probe = std::net::TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| format!("no free loopback port for the MQTT broker: {e}"))?;
        let front = Arc::new(Front {
            auth,
            broker: local_addr(&internal_probe)?,
            secret: uuid::Uuid::new_v4().simple().to_string(),
        });

        let mut server = Broker::new(config(front.broker, front.secret.clone()));
        // Waits (briefly, on this thread) for the router's acknowledgement of the link.
        let (link_tx, link_rx) = server
            .link(&format!(
                "{LINK_ID_PREFIX}{}",
                uuid::Uuid::new_v4().simple()
            ))
            .map_err(|e| format!("the MQTT broker refused its local link: {e}"))?;
        let live = realtime.subscribe();
        let tcp_listener = tokio_listener(tcp_listener)?;
        let ws_listener = tokio_listener(ws_listener)?;

        drop(internal_probe);
        std::thread::Builder::new()
            .name("mqtt-broker".to_owned())
            .spawn(move || match server.start() {
                // `start` returns only when every listener has ended (e.g. failed to bind).
                Ok(()) => tracing::error!("the MQTT broker stopped: none of its listeners runs"),
                Err(e) => tracing::error!(error = %e, "the MQTT broker could not start"),
            })
            .map_err(|e| format!("cannot start the MQTT broker thread: {e}"))?;
        runtime.spawn(forward(live, link_tx, link_rx));
        runtime.spawn(front::serve_tcp(tcp_listener, front.clone()));
        runtime.spawn(front::serve_ws(ws_listener, front));
        tracing::debug!(tcp = %broker.tcp_addr, ws = %broker.ws_addr, "MQTT broker started");
        Ok(broker)
    }

    /// The URL a browser's MQTT client connects to.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/mqtt", self.ws_addr)
    }
}

/// Binds `addr`, with a message naming the flag to change if it is in use.
fn listen(addr: SocketAddr, what: &str, flag: &str) -> Result<std::net::TcpListener, String> {
    std::net::TcpListener::bind(addr).map_err(|e| {
        format!(
            "cannot listen for {what} on {addr}: {e} (is another MQTT broker, such as mosquitto, \
             running? choose another port with {flag}, or 0 for any free port)"
        )
    })
}

/// The front's listeners are bound synchronously (so that `start` can report a port in use)
/// and served by tokio.
fn tokio_listener(listener: std::net::TcpListener) -> Result<tokio::net::TcpListener, String> {
    listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
        .map_err(|e| format!("cannot serve the MQTT listener: {e}"))
}

fn local_addr(listener: &std::net::TcpListener) -> Result<SocketAddr, String> {
    listener
        .local_addr()
        .map_err(|e| format!("cannot read the MQTT listener's address: {e}"))
}

/// The broker's configuration, built in code (rumqttd usually reads a TOML file): one MQTT
/// 3.1.1 listener on the loopback address `internal`, admitting only the front (which presents
/// `secret` as its password).
fn config(internal: SocketAddr, secret: String) -> Config {
    let mut connections = ConnectionSettings {
        // The front sends CONNECT as soon as it connects: it checks the client's time itself.
        connection_timeout_ms: 60_000,
        max_payload_size: MAX_PAYLOAD_BYTES,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        // Clients do not publish (the front refuses it); the stack's link publishes to topics
        // nobody may have subscribed to yet, which must not be an error.
        dynamic_filters: true,
    };
    connections.set_auth_handler(move |_client_id: String, _user: String, password: String| {
        std::future::ready(password == secret)
    });
    let settings = ServerSettings {
        name: "mqtt-internal".to_owned(),
        listen: internal,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
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
        v4: Some(HashMap::from([("1".to_owned(), settings)])),
        v5: None,
        // WebSocket clients are the front's, relayed to the MQTT listener above.
        ws: None,
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
