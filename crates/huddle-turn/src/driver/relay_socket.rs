//! A relay socket: the UDP socket of one allocation, facing the peers.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Event;
use crate::core::AllocationId;

pub(crate) struct RelaySocket {
    pub socket: Arc<UdpSocket>,
    reader: JoinHandle<()>,
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
        let reader = tokio::spawn(read_peers(socket.clone(), allocation, events));
        Ok(RelaySocket { socket, reader })
    }
}

impl Drop for RelaySocket {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_peers(socket: Arc<UdpSocket>, allocation: AllocationId, events: mpsc::Sender<Event>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((len, from)) => {
                let packet = buf[..len].to_vec();
                let event = Event::Peer {
                    allocation,
                    from,
                    packet,
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
            // ICMP errors from earlier sends surface here; the socket is fine.
            Err(e) => tracing::debug!(?allocation, "relay recv error: {e}"),
        }
    }
}
