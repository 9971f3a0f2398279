//! A relay socket: the UDP socket of one allocation, facing the peers.
//!
//! A small task waits for the socket to become readable and tells the event
//! loop, which then drains the socket itself into its one receive buffer. So a
//! relayed datagram is never copied into a fresh allocation on its way to the
//! core, and one wake-up carries as many datagrams as arrived meanwhile.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use super::Event;
use crate::core::AllocationId;

pub(crate) struct RelaySocket {
    pub socket: Arc<UdpSocket>,
    /// The loop signals here once it drained the socket, so the watcher does
    /// not report the same readiness twice.
    pub drained: Arc<Notify>,
    watcher: JoinHandle<()>,
}

impl RelaySocket {
    /// Binds synchronously (a bind never waits) so the event loop can answer
    /// the core at once.
    pub fn bind(
        addr: SocketAddr,
        allocation: AllocationId,
        events: mpsc::Sender<Event>,
    ) -> io::Result<Self> {
        let std_socket = std::net::UdpSocket::bind(addr)?;
        std_socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(std_socket)?);
        let drained = Arc::new(Notify::new());
        let watcher = tokio::spawn(watch(socket.clone(), drained.clone(), allocation, events));
        Ok(RelaySocket {
            socket,
            drained,
            watcher,
        })
    }
}

impl Drop for RelaySocket {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

async fn watch(
    socket: Arc<UdpSocket>,
    drained: Arc<Notify>,
    allocation: AllocationId,
    events: mpsc::Sender<Event>,
) {
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        if events.send(Event::PeerReadable(allocation)).await.is_err() {
            return;
        }
        drained.notified().await;
    }
}
