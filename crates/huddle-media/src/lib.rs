//! huddle-media: the sans-IO SFU core of huddle, built on str0m.
//!
//! Packets and time go in, packets, events and timeouts come out; this crate opens
//! no socket and takes no lock. See [`Sfu`] for the state machine, and [`driver`]
//! for the thin layer that owns a UDP socket, the clock and a thread.
//!
//! Imports go one way: this crate knows nothing of signaling or HTTP.

mod channel_backlog;
pub mod demux;
pub mod driver;
pub mod envelope;
mod error;
mod event;
pub mod forward;
pub mod ids;
pub mod keyframe;
pub mod layer;
mod loss;
pub mod metrics;
mod outbox;
pub mod overload;
mod packet;
mod participant;
mod pressure;
mod publisher;
pub mod relay;
mod rewrite;
mod room;
mod route;
mod sfu;
mod shed;
pub mod speaker;
mod spread;
mod subscription;
mod tick;

pub use error::SfuError;
pub use event::{Output, SfuEvent, Transmit};
pub use ids::{MediaKind, Mid, ParticipantId, Rid, RoomId, TrackId};
pub use keyframe::KeyframeLimiter;
pub use layer::{select_layer, LayerInfo, SubscriptionSpec};
pub use metrics::{SfuMetrics, Strain};
pub use outbox::SfuStats;
pub use overload::Shedding;
pub use packet::Packet;
pub use participant::Forwarding;
pub use relay::{PeerId, Relay};
pub use sfu::{Arrival, Load, Sfu, SfuConfig};
pub use speaker::{SpeakerConfig, SpeakerDetector};

/// Re-exported so callers use the exact str0m version this crate is built on.
pub use str0m;
