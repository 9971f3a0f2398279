//! WebSocket signaling: one session per connection, speaking [`crate::protocol`] and acting on the
//! room registry.

mod collaboration;
mod entry;
mod moderation;
mod publishing;
mod rate_limit;
mod session;
mod sfu_side;
#[cfg(test)]
mod tests;
mod transport;

pub use rate_limit::{RateLimit, RateSettings, Verdict};

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::access::Access;
use crate::collab::Collab;
use crate::ice::IceServers;
use crate::metrics::Metrics;
use crate::rooms::RoomRegistry;
use crate::sfu::SfuBridge;

/// Close codes the server uses; clients act on them (docs/protocol.md).
pub mod close_code {
    /// After the client's `leave`.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down: reconnect later.
    pub const GOING_AWAY: u16 = 1001;
    /// Rate limit exceeded, or removed by a host: do not come back at once.
    pub const POLICY: u16 = 1008;
    /// Too slow to follow the room: reconnect and join again.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

#[derive(Debug, Clone)]
pub struct SignalingSettings {
    pub ice: IceServers,
    /// How often the server pings an idle connection.
    pub keepalive_interval: Duration,
    /// A connection silent for this long is dead; its participant leaves the room.
    pub keepalive_timeout: Duration,
    pub rate: RateSettings,
}

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// How the browser reached us (the `Host` header), for the ICE server URLs.
    pub host: String,
    /// The client's address, for per-address limits and bans.
    pub ip: IpAddr,
}

/// What every signaling session shares.
pub struct Signaling {
    /// Chat, whiteboard and the rest, and through it the room registry.
    pub collab: Collab,
    /// Tokens, passwords, each room's entrance, and abuse limits.
    pub access: Access,
    pub metrics: Arc<Metrics>,
    pub settings: SignalingSettings,
    /// The SFU, when rooms may be sfu rooms.
    pub sfu: Option<SfuBridge>,
    /// Cancelled when the server shuts down: sessions tell their clients and close.
    pub shutdown: CancellationToken,
}

impl Signaling {
    pub fn registry(&self) -> &Arc<dyn RoomRegistry> {
        self.collab.registry()
    }
}
