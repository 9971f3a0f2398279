//! One allocation: a relay address owned by one client 5-tuple (RFC 8656 section 2.2).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stun_codec::rfc5389::attributes::Username;
use stun_codec::TransactionId;

use super::bandwidth::TokenBucket;
use super::channel::Channels;
use super::permission::Permissions;
use super::stun::StunMessage;
use super::ClientAddr;

/// Identifies an allocation between the core and the driver (which owns its socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllocationId(pub u64);

#[derive(Debug)]
pub enum AllocationState {
    /// The driver is binding the relay socket; the Allocate success response
    /// waits for it so we never advertise a port we could not get.
    Binding {
        request: Box<StunMessage>,
        attempts: u8,
        lifetime: Duration,
        /// The next port is held for a RESERVATION-TOKEN (EVEN-PORT with R).
        reserves_next: bool,
    },
    Active,
}

/// The long-term credential an allocation was created with: later requests on
/// the same 5-tuple must use the same username (else 441), and responses are
/// signed with it.
#[derive(Debug, Clone)]
pub struct Owner {
    pub username: Username,
    pub password: String,
    pub user_id: String,
}

#[derive(Debug)]
pub struct Allocation {
    pub client: ClientAddr,
    pub owner: Owner,
    /// Local address of the relay socket.
    pub relay: SocketAddr,
    /// What the client is told its relayed address is (external IP, same port).
    pub advertised: SocketAddr,
    pub state: AllocationState,
    pub expires: Instant,
    /// The wake-up queued for this allocation in the server's deadline heap.
    pub wake_at: Option<Instant>,
    /// The Allocate transaction, to recognise a retransmission (answered again
    /// with success) from a second Allocate (answered 437).
    pub allocate_txid: TransactionId,
    pub permissions: Permissions,
    pub channels: Channels,
    pub bandwidth: TokenBucket,
}

impl Allocation {
    pub fn is_active(&self) -> bool {
        matches!(self.state, AllocationState::Active)
    }

    /// Seconds left, for the LIFETIME attribute of a retransmitted success.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.expires.saturating_duration_since(now)
    }

    /// The next moment this allocation needs looking at.
    pub fn next_deadline(&self, now: Instant) -> Instant {
        [
            Some(self.expires),
            self.permissions.next_expiry(),
            self.channels.next_expiry(now),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("expires is always there")
    }

    /// Whether `peer`'s address family matches the relay's (else 443).
    pub fn same_family(&self, peer: SocketAddr) -> bool {
        peer.is_ipv4() == self.relay.is_ipv4()
    }
}
