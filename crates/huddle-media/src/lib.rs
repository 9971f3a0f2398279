//! huddle-media: the sans-IO SFU core of huddle, built on str0m.
//!
//! Packets and time go in, packets, events and timeouts come out; this crate opens
//! no socket, spawns no thread and takes no lock. See [`Sfu`] for the state machine
//! and `driver` for the thin layer that owns a UDP socket and the clock.
//!
//! Imports go one way: this crate knows nothing of rooms' signaling or HTTP.

pub mod ids;
pub mod keyframe;
pub mod layer;
pub mod speaker;

pub use ids::{MediaKind, Mid, ParticipantId, Rid, RoomId, TrackId};
pub use keyframe::KeyframeLimiter;
pub use layer::{select_layer, LayerInfo, SubscriptionSpec};
pub use speaker::{SpeakerConfig, SpeakerDetector};

/// Re-exported so callers use the exact str0m version this crate is built on.
pub use str0m;
