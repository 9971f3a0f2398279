//! The hop between SFU workers that carry members of one room, as mediasoup pipes a producer
//! from one router to another: each packet published on one worker crosses to each other worker
//! of the room once, however many subscribers are there; layer choice, keyframes asked,
//! retransmissions and pacing stay with each subscriber's worker. Plain values, so the same hop
//! can later cross between nodes.

use str0m::media::{KeyframeRequestKind, MediaKind, Rid};

use crate::forward::LayerKey;
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::packet::Packet;

/// Another SFU worker (the driver's worker index).
pub type PeerId = usize;

/// What one worker tells another about a room they both carry members of.
#[derive(Debug, Clone)]
pub enum Relay {
    /// A track of a publisher on the sending worker: the receiving worker's members subscribe.
    TrackPublished {
        room: RoomId,
        track: TrackId,
        kind: MediaKind,
        /// Simulcast layers, lowest first; empty without simulcast.
        rids: Vec<Rid>,
    },
    TrackUnpublished {
        room: RoomId,
        track: TrackId,
    },
    Packet {
        room: RoomId,
        track: TrackId,
        packet: Packet,
    },
    /// A subscriber on the sending worker needs a keyframe of a track published on the receiving one.
    KeyframeRequest {
        track: TrackId,
        layer: LayerKey,
        kind: KeyframeRequestKind,
    },
    /// A data channel message, its sender's id already sealed in (see [`crate::envelope`]).
    ChannelData {
        room: RoomId,
        from: ParticipantId,
        label: String,
        sealed: Vec<u8>,
    },
}
