//! The access-checking front: the listeners clients connect to (TCP, and WebSocket with an
//! `Origin` check), relaying each client to rumqttd's internal listener after checking its
//! CONNECT (token → [`Identity`]), every SUBSCRIBE (per filter, [`Identity::may_subscribe`])
//! and refusing any PUBLISH. Packets are framed and decoded with rumqttc's MQTT 3.1.1 codec;
//! everything not checked is forwarded as the bytes received.

use super::MAX_PAYLOAD_BYTES;
use super::policy::Identity;
use async_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use async_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use bytes::BytesMut;
use local::gateway::LocalAuth;
use rumqttc::mqttbytes::v4::{
    ConnAck, Connect, ConnectReturnCode, Login, Packet, SubAck, Subscribe, SubscribeReasonCode,
};
use rumqttc::mqttbytes::{Error as CodecError, PacketType, check};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};
use ws_stream_tungstenite::WsStream;

/// A client must send CONNECT (and a WebSocket client finish its handshake) within this time
/// after opening the connection, so that idle sockets do not pile up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client's connection waits for rumqttd's internal listener, which binds a few
/// milliseconds after the broker is started.
const BROKER_PATIENCE: Duration = Duration::from_secs(5);
/// The largest packet read from the broker: a largest message plus its topic and header.
const MAX_BROKER_PACKET: usize = MAX_PAYLOAD_BYTES + 64 * 1024;

/// What every client connection needs: how to authenticate it and where the broker is.
pub(super) struct Front {
    /// `None`: every client is [`Identity::Anyone`].
    pub auth: Option<LocalAuth>,
    /// rumqttd's internal listener (loopback).
    pub broker: SocketAddr,
    /// The password rumqttd takes, known only to this process, so that nobody can connect to
    /// the internal listener directly and skip the checks.
    pub secret: String,
}

/// Accepts MQTT over TCP on `listener` for as long as the runtime runs.
pub(super) async fn serve_tcp(listener: TcpListener, front: Arc<Front>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(relay(stream, front.clone(), peer));
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Accepts MQTT over WebSocket on `listener` (any path; `/mqtt` is IoT Core's), refusing
/// browsers of foreign origins (see [`local_origin`]).
pub(super) async fn serve_ws(listener: TcpListener, front: Arc<Front>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let front = front.clone();
                tokio::spawn(async move {
                    let handshake = async_tungstenite::tokio::accept_hdr_async(stream, OriginCheck);
                    match timeout(CONNECT_TIMEOUT, handshake).await {
                        Ok(Ok(ws)) => relay(WsStream::new(ws), front, peer).await,
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "WebSocket refused"),
                        Err(_) => tracing::info!(%peer, "WebSocket handshake timed out"),
                    }
                });
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Out of file descriptors and the like: pause instead of spinning, the condition may pass.
async fn accept_failed(e: std::io::Error) {
    tracing::warn!(error = %e, "cannot accept an MQTT connection");
    sleep(Duration::from_millis(100)).await;
}

/// The WebSocket handshake's check: refuses foreign origins and, as rumqttd does, answers the
/// `mqtt` subprotocol that MQTT clients ask for.
struct OriginCheck;

impl Callback for OriginCheck {
    fn on_request(
        self,
        request: &Request,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        let origins = request.headers().get_all("origin");
        if let Some(bad) = origins.iter().find(|o| !o.to_str().is_ok_and(local_origin)) {
            tracing::info!(origin = ?bad, "MQTT WebSocket from a foreign origin refused");
            let mut refusal = ErrorResponse::new(Some("foreign origin".to_owned()));
            *refusal.status_mut() = StatusCode::FORBIDDEN;
            return Err(refusal);
        }
        response
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
        Ok(response)
    }
}

/// Whether a browser's `Origin` is a page of this machine: `http(s)://` and `localhost`,
/// `127.0.0.1` or `[::1]`, with any port or none. Another site's page must not read the
/// realtime topics with the token a developer's browser holds. (No `Origin` header at all is a
/// non-browser client, which could send any header it likes: it is let through.)
pub(crate) fn local_origin(origin: &str) -> bool {
    let origin = origin.to_ascii_lowercase();
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    ["localhost", "127.0.0.1", "[::1]"].iter().any(|host| {
        rest.strip_prefix(host).is_some_and(|port| {
            port.is_empty()
                || port.strip_prefix(':').is_some_and(|digits| {
                    !digits.is_empty()
                        && digits.len() <= 5
                        && digits.bytes().all(|b| b.is_ascii_digit())
                })
        })
    })
}

/// One client's connection, from CONNECT to either side closing.
async fn relay<S>(mut client: S, front: Arc<Front>, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut from_client = BytesMut::with_capacity(1024);
    let connect = match timeout(CONNECT_TIMEOUT, read_connect(&mut client, &mut from_client)).await
    {
        Ok(Some(connect)) => connect,
        Ok(None) => return,
        Err(_) => {
            tracing::info!(%peer, "no MQTT CONNECT in time");
            return;
        }
    };
    let identity = match admit(&front, &connect) {
        Ok(identity) => identity,
        Err(code) => {
            tracing::info!(%peer, client_id = %connect.client_id, ?code, "MQTT connection refused");
            let _ = write_packet(&mut client, Packet::ConnAck(ConnAck::new(code, false))).await;
            return;
        }
    };
    let Some(mut broker) = connect_broker(front.broker).await else {
        let refusal = ConnAck::new(ConnectReturnCode::ServiceUnavailable, false);
        let _ = write_packet(&mut client, Packet::ConnAck(refusal)).await;
        return;
    };
    let mut upstream = connect;
    upstream.client_id = identity.broker_client_id(&upstream.client_id);
    upstream.login = Some(Login::new("coffee-local-front", front.secret.clone()));
    if write_packet(&mut broker, Packet::Connect(upstream))
        .await
        .is_err()
    {
        return;
    }
    let why = pump(client, broker, from_client, &identity).await;
    tracing::debug!(%peer, ?identity, why, "MQTT connection closed");
}

/// Reads the client's first packet, which must be CONNECT; `None` if it is not, or the
/// connection ends first.
async fn read_connect<S: AsyncRead + Unpin>(client: &mut S, buf: &mut BytesMut) -> Option<Connect> {
    loop {
        match Packet::read(buf, MAX_PAYLOAD_BYTES) {
            Ok(Packet::Connect(connect)) => return Some(connect),
            Ok(_) => return None,
            Err(CodecError::InsufficientBytes(_)) => {}
            Err(e) => {
                tracing::info!(error = %e, "not an MQTT 3.1.1 CONNECT");
                return None;
            }
        }
        if client.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

/// Who the client is, or the CONNACK code refusing it.
fn admit(front: &Front, connect: &Connect) -> Result<Identity, ConnectReturnCode> {
    // A will is a message the broker publishes for the client: only the stack publishes.
    if connect.last_will.is_some() {
        return Err(ConnectReturnCode::NotAuthorized);
    }
    let Some(auth) = &front.auth else {
        return Ok(Identity::Anyone);
    };
    let password = connect
        .login
        .as_ref()
        .map(|l| l.password.as_str())
        .unwrap_or("");
    match auth.verify(password) {
        Ok(claims) => Identity::from_claims(&claims).ok_or(ConnectReturnCode::NotAuthorized),
        Err(why) => {
            // The reason only (expired, bad signature): never the password, a token.
            tracing::info!(reason = %why, "MQTT token refused");
            Err(ConnectReturnCode::BadUserNamePassword)
        }
    }
}

/// Connects to rumqttd's internal listener, retrying while it is still being bound.
async fn connect_broker(addr: SocketAddr) -> Option<TcpStream> {
    let deadline = Instant::now() + BROKER_PATIENCE;
    loop {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Some(stream),
            Err(e) if Instant::now() >= deadline => {
                tracing::error!(%addr, error = %e, "the MQTT broker's internal listener is not reachable");
                return None;
            }
            Err(_) => sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn write_packet<W: AsyncWrite + Unpin>(to: &mut W, packet: Packet) -> std::io::Result<()> {
    let mut buf = BytesMut::new();
    packet
        .write(&mut buf, MAX_BROKER_PACKET)
        .map_err(std::io::Error::other)?;
    to.write_all(&buf).await?;
    to.flush().await
}

/// Relays both directions until one side closes or the client breaks a rule; returns why.
async fn pump<S>(
    client: S,
    broker: TcpStream,
    mut from_client: BytesMut,
    identity: &Identity,
) -> &'static str
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut client_rx, mut client_tx) = tokio::io::split(client);
    let (mut broker_rx, mut broker_tx) = broker.into_split();
    let mut from_broker = BytesMut::with_capacity(4096);
    // SUBSCRIBEs forwarded with some filters removed: which of the client's filters were
    // forwarded, by packet id, to put the refusals back into the broker's SUBACK.
    let mut partial: HashMap<u16, Vec<bool>> = HashMap::new();
    loop {
        let (mut to_client, mut to_broker) = (BytesMut::new(), BytesMut::new());
        if let Err(why) = from_client_packets(
            &mut from_client,
            identity,
            &mut partial,
            &mut to_client,
            &mut to_broker,
        ) {
            return why;
        }
        if let Err(why) = from_broker_packets(&mut from_broker, &mut partial, &mut to_client) {
            return why;
        }
        if !to_broker.is_empty() && broker_tx.write_all(&to_broker).await.is_err() {
            return "the broker closed";
        }
        if !to_client.is_empty()
            && (client_tx.write_all(&to_client).await.is_err() || client_tx.flush().await.is_err())
        {
            return "the client closed";
        }
        // `read_buf` is cancel-safe: the branch not taken has read nothing.
        tokio::select! {
            read = client_rx.read_buf(&mut from_client) => {
                if !matches!(read, Ok(n) if n > 0) { return "the client closed"; }
            }
            read = broker_rx.read_buf(&mut from_broker) => {
                if !matches!(read, Ok(n) if n > 0) { return "the broker closed"; }
            }
        }
    }
}

/// Checks every complete packet the client sent, moving what may pass to `to_broker` and the
/// front's own answers to `to_client`; an error (the reason) closes the connection.
fn from_client_packets(
    buf: &mut BytesMut,
    identity: &Identity,
    partial: &mut HashMap<u16, Vec<bool>>,
    to_client: &mut BytesMut,
    to_broker: &mut BytesMut,
) -> Result<(), &'static str> {
    while let Some((kind, frame)) = next_frame(buf, MAX_PAYLOAD_BYTES)? {
        match kind {
            PacketType::Publish => {
                tracing::info!(?identity, "MQTT client tried to publish: disconnected");
                return Err("the client published");
            }
            PacketType::Connect => return Err("a second CONNECT"),
            PacketType::Subscribe => {
                let Ok(Packet::Subscribe(subscribe)) =
                    Packet::read(&mut frame.clone(), MAX_PAYLOAD_BYTES)
                else {
                    return Err("a malformed SUBSCRIBE");
                };
                let allowed: Vec<bool> = subscribe
                    .filters
                    .iter()
                    .map(|f| identity.may_subscribe(&f.path))
                    .collect();
                check_subscribe(subscribe, allowed, &frame, partial, to_client, to_broker)?;
            }
            _ => to_broker.extend_from_slice(&frame),
        }
    }
    Ok(())
}

/// Forwards a SUBSCRIBE whole, without its refused filters, or not at all (answering SUBACK
/// failure for every filter itself).
fn check_subscribe(
    subscribe: Subscribe,
    allowed: Vec<bool>,
    frame: &[u8],
    partial: &mut HashMap<u16, Vec<bool>>,
    to_client: &mut BytesMut,
    to_broker: &mut BytesMut,
) -> Result<(), &'static str> {
    for (filter, _) in subscribe
        .filters
        .iter()
        .zip(&allowed)
        .filter(|(_, ok)| !**ok)
    {
        tracing::info!(filter = %filter.path, "MQTT subscription refused");
    }
    if allowed.iter().all(|ok| *ok) {
        to_broker.extend_from_slice(frame);
        return Ok(());
    }
    let pkid = subscribe.pkid;
    if allowed.iter().any(|ok| *ok) {
        let filters = subscribe
            .filters
            .into_iter()
            .zip(&allowed)
            .filter_map(|(f, ok)| ok.then_some(f))
            .collect();
        partial.insert(pkid, allowed);
        encode(Packet::Subscribe(Subscribe { pkid, filters }), to_broker)
    } else {
        let refused = vec![SubscribeReasonCode::Failure; allowed.len()];
        encode(Packet::SubAck(SubAck::new(pkid, refused)), to_client)
    }
}

fn encode(packet: Packet, into: &mut BytesMut) -> Result<(), &'static str> {
    packet
        .write(into, MAX_BROKER_PACKET)
        .map(|_| ())
        .map_err(|_| "cannot encode a packet")
}

/// Moves every complete packet from the broker to `to_client` unchanged, except the SUBACKs of
/// partly refused SUBSCRIBEs, which get the refusals back in their places.
fn from_broker_packets(
    buf: &mut BytesMut,
    partial: &mut HashMap<u16, Vec<bool>>,
    to_client: &mut BytesMut,
) -> Result<(), &'static str> {
    while let Some((kind, frame)) = next_frame(buf, MAX_BROKER_PACKET)? {
        if kind != PacketType::SubAck || partial.is_empty() {
            to_client.extend_from_slice(&frame);
            continue;
        }
        let Ok(Packet::SubAck(ack)) = Packet::read(&mut frame.clone(), MAX_BROKER_PACKET) else {
            return Err("a malformed SUBACK from the broker");
        };
        let Some(allowed) = partial.remove(&ack.pkid) else {
            to_client.extend_from_slice(&frame);
            continue;
        };
        let mut granted = ack.return_codes.into_iter();
        let codes = allowed
            .iter()
            .map(|ok| match ok {
                true => granted.next().unwrap_or(SubscribeReasonCode::Failure),
                false => SubscribeReasonCode::Failure,
            })
            .collect();
        encode(Packet::SubAck(SubAck::new(ack.pkid, codes)), to_client)?;
    }
    Ok(())
}

/// The next complete packet in `buf` (its type and bytes, taken out of `buf`), `None` until
/// one is complete; an error for a malformed or too large packet.
fn next_frame(
    buf: &mut BytesMut,
    max: usize,
) -> Result<Option<(PacketType, BytesMut)>, &'static str> {
    match check(buf.iter(), max) {
        Ok(header) => {
            let kind = header.packet_type().map_err(|_| "an unknown packet type")?;
            Ok(Some((kind, buf.split_to(header.frame_length()))))
        }
        Err(CodecError::InsufficientBytes(_)) => Ok(None),
        Err(CodecError::PayloadSizeLimitExceeded(_)) => Err("a packet too large"),
        Err(_) => Err("a malformed packet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_this_machine_only() {
        for ok in [
            "http://localhost",
            "http://localhost:5173",
            "https://127.0.0.1:8443",
            "http://[::1]:3000",
            "HTTP://LOCALHOST:80",
        ] {
            assert!(local_origin(ok), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "http://localhost.evil.example",
            "http://localhost:5173.evil.example",
            "http://localhost@evil.example",
            "http://127.0.0.1.nip.io",
            "http://localhost:",
            "file://",
            "null",
            "ws://localhost",
            "",
        ] {
            assert!(!local_origin(bad), "{bad}");
        }
    }
}
