//! Identifiers shared between the SFU and the layers above it.
//!
//! They are small `Copy` values so that effects between participants can carry them
//! by value on the packet path without allocation. The signaling layer maps its own
//! names (room slugs, session tokens) onto these numbers.

use std::fmt;

pub use str0m::media::{MediaKind, Mid, Rid};

/// A room: the set of participants that see each other's tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u64);

/// One browser connection (one `RTCPeerConnection`) in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

/// A published track: the publisher and the m-line (mid) it arrives on at the SFU.
///
/// The mid is the publisher's; subscribers receive the track on a mid of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrackId {
    pub publisher: ParticipantId,
    pub mid: Mid,
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "room-{}", self.0)
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p-{}", self.0)
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.publisher, self.mid)
    }
}
