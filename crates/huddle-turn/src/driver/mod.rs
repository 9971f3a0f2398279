//! The thin tokio driver: owns the sockets and the clock, and shuttles bytes
//! between them and the sans-IO [`crate::core::Server`].

mod event_loop;
mod relay_socket;
mod stream;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::net::{TcpListener, UdpSocket};

use crate::core::{ClientAddr, Server};
use crate::{TurnConfig, TurnMetrics};

/// Asked for on the listening socket; the kernel caps it at `net.core.rmem_max`.
const LISTEN_BUFFER: usize = 4 << 20;
/// Asked for on each relay socket (there may be thousands).
const RELAY_BUFFER: usize = 1 << 20;

/// What tasks tell the event loop.
pub(crate) enum Event {
    StreamFrame { client: ClientAddr, frame: Vec<u8> },
    StreamClosed(ClientAddr),
}

/// A byte stream a client connected with, from another listener than ours (TURN over TLS).
pub type ClientStream = Box<dyn StreamIo>;

/// What [`ClientStream`] needs: a duplex byte stream that can move between tasks.
pub trait StreamIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> StreamIo for T {}

/// Streams accepted elsewhere queued for the event loop before new ones wait.
const INTAKE_QUEUE: usize = 64;

/// Hands streams that another listener accepted (and, for TLS, decrypted) to a running TURN
/// server, which serves them like its own TCP clients. Keeps huddle-turn free of TLS.
#[derive(Clone)]
pub struct StreamIntake(tokio::sync::mpsc::Sender<(ClientStream, SocketAddr)>);

impl StreamIntake {
    /// False when the server has stopped.
    pub async fn hand_in(&self, stream: ClientStream, peer: SocketAddr) -> bool {
        self.0.send((stream, peer)).await.is_ok()
    }
}

/// A bound TURN server, ready to [`run`](TurnServer::run).
pub struct TurnServer {
    config: TurnConfig,
    metrics: Arc<TurnMetrics>,
    udp: UdpSocket,
    tcp: TcpListener,
    intake: StreamIntake,
    intake_rx: tokio::sync::mpsc::Receiver<(ClientStream, SocketAddr)>,
}

impl TurnServer {
    /// Binds UDP and TCP on `config.listen`. With port 0 both get the same free port.
    pub async fn bind(mut config: TurnConfig, metrics: Arc<TurnMetrics>) -> io::Result<TurnServer> {
        // With port 0 the UDP port is free but TCP may not be: retry a few times.
        let mut last_error = None;
        for _ in 0..16 {
            let udp = UdpSocket::bind(config.listen).await?;
            let addr = udp.local_addr()?;
            match huddle_udp::set_buffers(&udp, LISTEN_BUFFER) {
                Ok(granted) => tracing::debug!(%addr, granted, "TURN UDP receive buffer"),
                Err(e) => tracing::warn!(%addr, "could not size TURN UDP buffers: {e}"),
            }
            match TcpListener::bind(addr).await {
                Ok(tcp) => {
                    config.listen = addr;
                    if config.advertised_relay_ip().is_unspecified() {
                        tracing::warn!(
                            "TURN relayed addresses would be advertised as unspecified: \
                             set external_ips or relay_bind_ip"
                        );
                    }
                    let (intake, intake_rx) = tokio::sync::mpsc::channel(INTAKE_QUEUE);
                    return Ok(TurnServer {
                        config,
                        metrics,
                        udp,
                        tcp,
                        intake: StreamIntake(intake),
                        intake_rx,
                    });
                }
                Err(e) if config.listen.port() == 0 => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("the loop ran at least once"))
    }

    /// The address both UDP and TCP listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.config.listen
    }

    /// Where other listeners hand in their clients' streams.
    pub fn stream_intake(&self) -> StreamIntake {
        self.intake.clone()
    }

    /// Serves until `shutdown` completes; relay sockets and connections close then.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let core = Server::new(
            self.config.clone(),
            (*self.metrics).clone(),
            rand::random(),
            Instant::now(),
            now_unix,
        );
        let metrics = (*self.metrics).clone();
        event_loop::EventLoop::new(core, self.udp, self.tcp, self.intake_rx, metrics)
            .run(shutdown)
            .await
    }
}

/// Binds and serves in one call, for callers that do not need the bound port.
pub async fn run(
    config: TurnConfig,
    metrics: Arc<TurnMetrics>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    TurnServer::bind(config, metrics).await?.run(shutdown).await
}
