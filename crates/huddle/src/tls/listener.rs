//! Accepting TLS: TCP connections are handshaken on their own tasks (a slow or silent client
//! holds up nobody), and the finished streams come out of a channel.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Longest a client may take over its handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; connections beyond are closed at once.
const MAX_HANDSHAKES: usize = 512;
/// Finished streams waiting for the server to take them.
const ACCEPTED_QUEUE: usize = 64;

pub type Accepted = (TlsStream<TcpStream>, SocketAddr);

/// Accepts on `tcp` until the receiver is dropped.
pub fn spawn_handshakes(tcp: TcpListener, config: Arc<ServerConfig>) -> mpsc::Receiver<Accepted> {
    let (accepted, receiver) = mpsc::channel(ACCEPTED_QUEUE);
    let acceptor = TlsAcceptor::from(config);
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = accepted.closed() => return,
                result = tcp.accept() => match result {
                    Ok(connection) => connection,
                    Err(err) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!("TLS accept error: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Ok(permit) = Arc::clone(&handshakes).try_acquire_owned() else {
                continue;
            };
            let (acceptor, accepted) = (acceptor.clone(), accepted.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        drop(permit);
                        let _ = accepted.send((stream, peer)).await;
                    }
                    Ok(Err(err)) => tracing::debug!(%peer, "TLS handshake failed: {err}"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    receiver
}

/// HTTPS for axum: a [`axum::serve::Listener`] of finished TLS streams.
pub struct TlsListener {
    local_addr: SocketAddr,
    accepted: mpsc::Receiver<Accepted>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        Ok(Self {
            local_addr,
            accepted: spawn_handshakes(tcp, config),
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The acceptor task only stops once this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
