//! The web servers' accept loop: hyper with a header read timeout (which also closes keep-alive
//! connections left idle), a cap on the connections one client address holds open, and graceful
//! shutdown. axum's own `serve` has neither limit: silent connections stayed open for ever, and
//! one address could take every file descriptor of the process.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use super::ClientAddr;
use crate::access::{ConnectionCounter, ConnectionSlot};
use crate::metrics::Metrics;

/// At most one warning about refused connections in this long: a flood must not flood the log.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What every accepted connection is held to.
#[derive(Clone)]
pub struct ConnectionLimits {
    pub per_address: ConnectionCounter,
    /// How long a client may take to send a request's headers, and so how long a connection may
    /// sit idle between requests.
    pub header_timeout: Duration,
    pub metrics: Arc<Metrics>,
}

/// Serves `router` on `listener` until `shutdown`, then waits for open requests to finish.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let open = TaskTracker::new();
    let mut refusals = RefusalLog::default();
    loop {
        let (io, client) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Some(slot) = limits.per_address.open(client.ip()) else {
            limits.metrics.count_refusal("http_connections_per_ip");
            refusals.note(client);
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo(ClientAddr(client)));
            router.clone().oneshot(request)
        });
        // The slot travels with the stream, so a connection upgraded to a WebSocket still
        // counts until it closes.
        let io = TokioIo::new(Counted { io, _slot: slot });
        let connection = http.serve_connection(io, service).with_upgrades();
        let shutdown = shutdown.clone();
        open.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = shutdown.cancelled() => {
                    // Finish the request in progress, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(%client, "HTTP connection ended: {err}");
            }
        });
    }
    open.close();
    open.wait().await;
    Ok(())
}

/// A connection's stream holding its place in the per-address count.
struct Counted<Io> {
    io: Io,
    _slot: ConnectionSlot,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Counted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Counted<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Warns about refused connections, once per [`REFUSAL_LOG_INTERVAL`] at most.
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
}

impl RefusalLog {
    fn note(&mut self, client: SocketAddr) {
        let now = Instant::now();
        if self
            .last
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_LOG_INTERVAL)
        {
            self.last = Some(now);
            tracing::warn!(
                client = %client.ip(),
                "refusing connections: this address holds as many as it may \
                 (--max-http-connections-per-ip; counted in huddle_abuse_refusals_total)"
            );
        }
    }
}
