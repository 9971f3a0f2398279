//! Everything one step of the SFU produces, gathered in one place so that a
//! participant can hand effects to the worker loop without knowing the others.

use std::collections::VecDeque;

use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};

use crate::event::{SfuEvent, Transmit};
use crate::forward::LayerKey;
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::packet::Packet;
use crate::relay::{PeerId, Relay};

/// Effects from one participant that concern others in its room: values that the
/// worker routes, as `Propagated` in str0m's chat example.
///
/// `Media` is large, but values live only until the same step routes them; boxing
/// would cost an allocation per forwarded packet.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Propagated {
    TrackPublished {
        from: ParticipantId,
        mid: Mid,
        kind: MediaKind,
        rids: Vec<Rid>,
        msid_track: String,
    },
    /// Carries the room: the publisher may be gone already.
    TrackUnpublished {
        room: RoomId,
        track: TrackId,
    },
    /// A packet from a publisher.
    Media {
        track: TrackId,
        packet: Packet,
    },
    /// Someone needs a keyframe of this track's layer (new subscriber, PLI, switch).
    KeyframeRequest {
        track: TrackId,
        layer: LayerKey,
        kind: KeyframeRequestKind,
    },
    AudioLevel {
        from: ParticipantId,
        level: i8,
    },
    ChannelData {
        from: ParticipantId,
        label: String,
        binary: bool,
        data: Vec<u8>,
    },
}

/// Counters the core keeps as plain integers; the driver publishes them to
/// prometheus (atomics stay out of the packet path of the core).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SfuStats {
    pub packets_forwarded: u64,
    pub bytes_forwarded: u64,
    pub keyframe_requests: u64,
    pub nacks: u64,
    /// Video frames not forwarded to a subscriber whose queue was too far behind.
    pub frames_skipped: u64,
    /// Data channel messages not relayed to a participant: its backlog was full, or
    /// its channel refused or closed.
    pub data_channel_dropped: u64,
    /// Frames not forwarded at all: they came in after waiting past the worker's delay bound.
    pub frames_late: u64,
    /// Datagrams dropped unread: they waited more than twice the delay bound.
    pub datagrams_stale: u64,
    /// Newcomers refused because the worker sheds load.
    pub joins_refused: u64,
}

impl SfuStats {
    /// The growth since an earlier snapshot.
    pub fn since(&self, earlier: &SfuStats) -> SfuStats {
        SfuStats {
            packets_forwarded: self
                .packets_forwarded
                .saturating_sub(earlier.packets_forwarded),
            bytes_forwarded: self.bytes_forwarded.saturating_sub(earlier.bytes_forwarded),
            keyframe_requests: self
                .keyframe_requests
                .saturating_sub(earlier.keyframe_requests),
            nacks: self.nacks.saturating_sub(earlier.nacks),
            frames_skipped: self.frames_skipped.saturating_sub(earlier.frames_skipped),
            data_channel_dropped: self
                .data_channel_dropped
                .saturating_sub(earlier.data_channel_dropped),
            frames_late: self.frames_late.saturating_sub(earlier.frames_late),
            datagrams_stale: self.datagrams_stale.saturating_sub(earlier.datagrams_stale),
            joins_refused: self.joins_refused.saturating_sub(earlier.joins_refused),
        }
    }
}

#[derive(Debug, Default)]
pub struct Outbox {
    pub transmits: VecDeque<Transmit>,
    pub propagated: VecDeque<Propagated>,
    pub events: VecDeque<SfuEvent>,
    /// Values for the other workers of a room (see [`crate::relay`]).
    pub relays: VecDeque<(PeerId, Relay)>,
    pub stats: SfuStats,
}
