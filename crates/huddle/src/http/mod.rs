//! The HTTP edge: pages, embedded assets, the signaling WebSocket, health and metrics.

mod assets;
mod guard;
mod pages;
pub mod redirect;
mod serve;
mod tokens;
mod turn_test;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use tokio::net::TcpListener;

use crate::cluster::Roster;
use crate::rooms::RoomName;
use crate::signaling::{Peer, Signaling};
use crate::tls::TlsListener;

/// Frames above this are refused by the WebSocket layer itself; frames between the protocol limit
/// (64 KiB) and this one still get a typed `message_too_large` reply.
const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// A WebSocket's read buffer, allocated whole for every connection: signaling messages are small,
/// and tungstenite's default (128 KiB) was most of what an idle participant cost.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// What a WebSocket may hold of frames written and not yet flushed before it writes them anyway.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// The whole HTTP application; `main` and the tests serve it the same way. `roster` is the
/// cluster node's view of the cluster, in cluster mode.
pub fn app(signaling: Arc<Signaling>, roster: Option<Roster>) -> Router {
    Router::new()
        .route(
            "/",
            get(|request: HeaderMap| async move { page("index.html", &request) }),
        )
        .route("/r/{room}", get(room_page))
        .route(
            "/turn-test",
            get(|request: HeaderMap| async move { page("turn-test.html", &request) }),
        )
        .route("/api/turn-test", post(turn_test::ice_servers))
        .route("/assets/{*path}", get(asset))
        .route("/ws", get(websocket))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get({
                let roster = roster.clone();
                move || ready(roster.clone())
            }),
        )
        .route("/metrics", get(metrics))
        .route("/api/rooms/{room}/tokens", post(tokens::mint))
        .fallback(|| async { not_found() })
        .layer(middleware::map_response_with_state(
            roster,
            guard::security_headers,
        ))
        .with_state(signaling)
}

/// Where the web server listens: plain HTTP, or HTTPS.
pub enum WebListener {
    Plain(TcpListener),
    Tls(TlsListener),
}

pub use serve::ConnectionLimits;

/// The client's address as the connection saw it (no proxy headers are trusted).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Serves until `signaling.shutdown` is cancelled and open requests have finished.
pub async fn serve(
    listener: WebListener,
    signaling: Arc<Signaling>,
    roster: Option<Roster>,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let shutdown = signaling.shutdown.clone();
    let app = app(signaling, roster);
    match listener {
        WebListener::Plain(tcp) => serve::serve(tcp, app, limits, shutdown).await,
        WebListener::Tls(tls) => serve::serve(tls, app, limits, shutdown).await,
    }
}

/// Whether to send this node new clients: always, but for a cluster node that cannot reach the
/// cluster's Redis. Liveness (`/healthz`) never depends on it.
async fn ready(roster: Option<Roster>) -> Response {
    match roster {
        Some(roster) if !roster.is_ready(std::time::Instant::now()) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the cluster's Redis does not answer\n",
        )
            .into_response(),
        _ => "ready\n".into_response(),
    }
}

fn page(file: &str, request: &HeaderMap) -> Response {
    assets::asset(file, request).unwrap_or_else(not_found)
}

async fn room_page(Path(room): Path<String>, request: HeaderMap) -> Response {
    match RoomName::parse(&room) {
        Ok(_) => page("room.html", &request),
        Err(err) => pages::error_page(StatusCode::BAD_REQUEST, "Not a room name", &err.to_string()),
    }
}

async fn asset(Path(path): Path<String>, request: HeaderMap) -> Response {
    assets::asset(&path, &request).unwrap_or_else(not_found)
}

async fn websocket(
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    State(signaling): State<Arc<Signaling>>,
) -> Response {
    let access = &signaling.access;
    if !guard::origin_allowed(&headers, &access.allowed_origins) {
        return refuse(
            &signaling,
            "origin",
            StatusCode::FORBIDDEN,
            guard::FOREIGN_ORIGIN,
        );
    }
    let Some(slot) = access.connections.open(client.ip()) else {
        return refuse(
            &signaling,
            "connections_per_ip",
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from your address",
        );
    };
    let peer = Peer {
        host: request_host(&headers).to_owned(),
        ip: client.ip(),
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        // Frames wait in the buffer until the session flushes (when no more are queued for it),
        // so what queued together goes out in one write; the buffer grows only as far as that.
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            signaling.run_session(socket, &peer).await;
            drop(slot);
        })
}

/// A request refused by an abuse limit, counted under `limit`.
fn refuse(signaling: &Signaling, limit: &'static str, status: StatusCode, why: &str) -> Response {
    signaling.metrics.count_refusal(limit);
    (status, why.to_owned()).into_response()
}

fn request_host(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default()
}

async fn metrics(State(signaling): State<Arc<Signaling>>) -> impl IntoResponse {
    let text = signaling.metrics.render(signaling.registry().census());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

fn not_found() -> Response {
    pages::error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address.",
    )
}
