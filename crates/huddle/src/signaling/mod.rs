//! WebSocket signaling: one session per connection, speaking [`crate::protocol`] and acting on the
//! room registry.

mod rate_limit;
mod session;
mod transport;

pub use rate_limit::{RateLimit, RateSettings, Verdict};

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

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
    /// Rate limit exceeded: do not come back at once.
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

/// What every signaling session shares.
pub struct Signaling {
    pub registry: Arc<dyn RoomRegistry>,
    pub metrics: Arc<Metrics>,
    pub settings: SignalingSettings,
    /// The SFU, when rooms may be sfu rooms.
    pub sfu: Option<SfuBridge>,
    /// Cancelled when the server shuts down: sessions tell their clients and close.
    pub shutdown: CancellationToken,
}
