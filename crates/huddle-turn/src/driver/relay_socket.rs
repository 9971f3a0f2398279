//! A relay socket: the UDP socket of one allocation, facing the peers.
//!
//! The event loop waits on the readiness of all relay sockets at once (a
//! `FuturesUnordered` only polls the ones that were woken) and then drains a
//! ready socket itself into its one receive buffer. So a relayed datagram
//! crosses no task boundary and is never copied into a fresh allocation on its
//! way to the core, and one wake-up carries every datagram that arrived meanwhile.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use futures_util::future::{AbortHandle, Abortable, Aborted, BoxFuture};
use futures_util::FutureExt;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::core::AllocationId;

/// Resolves when the relay socket of an allocation has datagrams waiting.
pub(crate) type Readiness = BoxFuture<'static, Result<AllocationId, Aborted>>;

pub(crate) struct RelaySocket {
    /// Registered for readability only: sends never wait (a full send buffer
    /// drops the datagram, as a router would), and a socket registered for
    /// writability too would post an epoll event after every datagram sent.
    pub socket: Arc<AsyncFd<UdpSocket>>,
    /// Cancels the pending readiness future, which holds the socket open.
    waiting: Option<AbortHandle>,
}

impl RelaySocket {
    /// Binds synchronously (a bind never waits) so the event loop can answer
    /// the core at once.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let std_socket = std::net::UdpSocket::bind(addr)?;
        std_socket.set_nonblocking(true)?;
        // Best effort: the default buffers still work, with less slack.
        if let Err(e) = huddle_udp::set_buffers(&std_socket, super::RELAY_BUFFER) {
            tracing::debug!(%addr, "could not size relay buffers: {e}");
        }
        // SAFETY: a std UdpSocket owns its descriptor and always returns the
        // same one; the AsyncFd owns the socket until it is dropped.
        let registered = unsafe { AsyncFd::register_with_interest(std_socket, Interest::READABLE) };
        let socket = Arc::new(registered.map_err(|e| e.into_parts().1)?);
        Ok(RelaySocket {
            socket,
            waiting: None,
        })
    }

    /// A future for the next readiness; the previous one must have resolved.
    pub fn wait_readable(&mut self, allocation: AllocationId) -> Readiness {
        let (handle, registration) = AbortHandle::new_pair();
        self.waiting = Some(handle);
        let socket = self.socket.clone();
        let readable = async move {
            // An error here (socket gone) reports readiness; the read that
            // follows then sees the error and the loop simply moves on.
            // The guard is dropped without clearing: the read that follows
            // clears the readiness when it finds the socket empty.
            let _ = socket.readable().await;
            allocation
        };
        Abortable::new(readable, registration).boxed()
    }
}

impl Drop for RelaySocket {
    fn drop(&mut self) {
        // Without this the readiness future would keep the port bound until
        // some peer happened to send to it.
        if let Some(waiting) = self.waiting.take() {
            waiting.abort();
        }
    }
}
