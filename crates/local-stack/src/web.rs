//! The HTTP side of the local stack: the API gateway (from the template's OpenAPI body) on the
//! hub's functions and queues, its OpenAPI document (`/openapi.json`, and `/docs` to read),
//! plus a few `/local/...` pages to look inside: the notification
//! outbox, the realtime messages, and an order's workflow execution.
//!
//! The pages need no token, so they are for the machine's own user only: the server binds
//! 127.0.0.1, the pages also refuse any peer that is not loopback (should the listener ever be
//! bound wider), and what they show has card numbers and task tokens masked
//! ([`crate::redact`]).

use crate::hub::Hub;
use crate::{Stack, outbox, redact};
use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::routing::get;
use local::gateway::{
    ApiSpec, Backend, BoxFuture, GatewayConfig, GatewayError, LocalAuth, Throttle, router,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::Arc;

/// The issuer of local tokens (what a Cognito user pool URL is in AWS).
pub const LOCAL_ISSUER: &str = "https://coffee-local.invalid/local-user-pool";

struct HubBackend(Arc<Hub>);

impl Backend for HubBackend {
    fn invoke(&self, function: &str, event: Value) -> BoxFuture<'static, Result<Value, String>> {
        let (hub, function) = (self.0.clone(), function.to_owned());
        Box::pin(async move {
            hub.functions
                .invoke(&function, event)
                .await
                .map_err(|e| format!("{}: {}", e.error_type, e.message))
        })
    }

    fn send_message(
        &self,
        queue: &str,
        body: String,
    ) -> BoxFuture<'static, Result<String, String>> {
        let (hub, queue) = (self.0.clone(), queue.to_owned());
        Box::pin(async move {
            hub.queues
                .send(&queue, &body, chrono::Utc::now().timestamp_millis())
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The signing key of local tokens, kept in the data directory so tokens minted by
/// `coffee-local token` work with a running stack (created on first use).
pub fn auth_key(data_dir: &FsPath) -> std::io::Result<LocalAuth> {
    let path = data_dir.join("signing.key");
    let key = match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => k,
        _ => {
            std::fs::create_dir_all(data_dir)?;
            let key: Vec<u8> = (0..2)
                .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
                .collect();
            write_private(&path, &key)?;
            key
        }
    };
    Ok(LocalAuth::new(&key, LOCAL_ISSUER))
}

/// Writes a secret readable by its owner only.
fn write_private(path: &FsPath, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The whole HTTP surface: the API plus `/local/...`, throttled as the template deploys it.
pub fn app(stack: &Stack, auth: &LocalAuth) -> Result<axum::Router, GatewayError> {
    app_with_throttle(stack, auth, None)
}

/// [`app`] with another stage throttle than the template's and no per-method throttles (the
/// benchmark lifts them).
pub fn app_with_throttle(
    stack: &Stack,
    auth: &LocalAuth,
    throttle: Option<Throttle>,
) -> Result<axum::Router, GatewayError> {
    let spec = ApiSpec::from_template_document(stack.template.document(), None)?;
    let document = Arc::new(spec.document().clone());
    let mut config = GatewayConfig::new(spec, auth.clone());
    if let Some(t) = throttle {
        config.throttle = t;
        config.method_throttles.clear();
    }
    let gateway = router(config, Arc::new(HubBackend(stack.hub.clone())));
    let inspect = axum::Router::new()
        .route("/local/notifications", get(notifications))
        .route("/local/realtime", get(realtime))
        .route("/local/dead-letters", get(dead_letters))
        .route("/local/orders/{id}/execution", get(execution))
        .layer(axum::middleware::from_fn(loopback_only))
        .with_state(stack.hub.clone());
    // The API's own contract, as API Gateway exports it (the AWS extensions included), and
    // the same document as a page to read, rendered once here.
    let page = Arc::new(crate::docs::render(&document));
    let openapi = axum::Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .route(
            "/docs",
            get(move || {
                let page = page.clone();
                async move { axum::response::Html(page.as_ref().clone()) }
            }),
        );
    let assets = axum::Router::new().route("/assets/{key}", get(crate::assets::serve));
    Ok(inspect.merge(openapi).merge(assets).merge(gateway))
}

/// Serves `app` on `listener` until the process stops.
/// `throttle` replaces the template's throttling (see [`app_with_throttle`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    stack: &Stack,
    auth: &LocalAuth,
    throttle: Option<Throttle>,
) -> std::io::Result<()> {
    let app = app_with_throttle(stack, auth, throttle).map_err(std::io::Error::other)?;
    // With the peer address, so events carry the caller's IP as `identity.sourceIp`.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}

/// Refuses the inspection pages to peers that are not loopback. A request without a peer
/// address (served in-process, as the tests do) never came over the network.
async fn loopback_only(req: Request, next: Next) -> axum::response::Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>();
    if peer.is_some_and(|ConnectInfo(addr)| !addr.ip().is_loopback()) {
        let body = json!({ "message": "The /local pages are served to this machine only" });
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    next.run(req).await
}

fn shown(items: Vec<Value>) -> Json<Value> {
    Json(redact::for_display(&Value::Array(items)))
}

/// `?offset=&limit=` of a log page: without them, the newest items.
#[derive(serde::Deserialize)]
struct Paging {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// A log page: the items, with the log's size in `X-Total-Count`.
fn log_page(
    paging: &Paging,
    recent: impl FnOnce() -> Vec<Value>,
    page: impl FnOnce(usize, usize) -> outbox::Page,
) -> axum::response::Response {
    let Some(offset) = paging.offset else {
        return shown(recent()).into_response();
    };
    let limit = paging.limit.unwrap_or(100).min(outbox::WINDOW);
    let page = page(offset, limit);
    let mut response = shown(page.items).into_response();
    if let Ok(total) = axum::http::HeaderValue::from_str(&page.total.to_string()) {
        response.headers_mut().insert("x-total-count", total);
    }
    response
}

async fn notifications(
    State(hub): State<Arc<Hub>>,
    Query(paging): Query<Paging>,
) -> axum::response::Response {
    log_page(
        &paging,
        || hub.outbox.notifications(),
        |o, l| hub.outbox.notifications_page(o, l),
    )
}

async fn realtime(
    State(hub): State<Arc<Hub>>,
    Query(paging): Query<Paging>,
) -> axum::response::Response {
    log_page(
        &paging,
        || hub.realtime.messages(),
        |o, l| hub.realtime.messages_page(o, l),
    )
}

async fn dead_letters(
    State(hub): State<Arc<Hub>>,
    Query(paging): Query<Paging>,
) -> axum::response::Response {
    log_page(
        &paging,
        || hub.outbox.dead_letters(),
        |o, l| hub.outbox.dead_letters_page(o, l),
    )
}

/// An order's workflow execution: status, input, output and the state-by-state history.
async fn execution(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
) -> (StatusCode, Json<Value>) {
    // Execution names are order ids: anything else names no execution.
    let id = match domain::OrderId::parse(&id) {
        Ok(id) => id,
        Err(err) => return (StatusCode::BAD_REQUEST, Json(err.body())),
    };
    let arn = format!(
        "{}:{id}",
        hub.state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1)
    );
    match (
        hub.engine.describe_execution(&arn),
        hub.engine.get_execution_history(&arn),
    ) {
        (Ok(d), Ok(h)) => (
            StatusCode::OK,
            Json(redact::for_display(&json!({
                "executionArn": arn,
                "status": d.status,
                "input": d.input,
                "output": d.output,
                "error": d.error,
                "cause": d.cause,
                "startDate": d.start_date.to_rfc3339(),
                "stopDate": d.stop_date.map(|t| t.to_rfc3339()),
                "history": serde_json::to_value(&h).unwrap_or(Value::Null),
            }))),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": format!("No workflow execution for order {id}") })),
        ),
    }
}
