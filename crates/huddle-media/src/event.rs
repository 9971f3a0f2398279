//! What the SFU tells the layer above it (signaling), and its poll output.

use std::net::SocketAddr;
use std::time::Instant;

use crate::ids::{MediaKind, ParticipantId, Rid, RoomId, TrackId};
use crate::relay::{PeerId, Relay};

/// Events for the signaling layer. Plain values: the server routes them to the
/// right websocket, the SFU does not know websockets exist.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SfuEvent {
    /// The SFU needs to renegotiate with this participant (tracks to add or remove):
    /// send this offer, and hand the answer to [`crate::Sfu::accept_answer`].
    Offer {
        participant: ParticipantId,
        sdp: String,
    },
    /// ICE and DTLS are up: media can flow.
    Connected {
        room: RoomId,
        participant: ParticipantId,
    },
    /// The connection died (ICE consent lost, DTLS closed). The participant is gone
    /// from the SFU; its tracks were unpublished.
    Disconnected {
        room: RoomId,
        participant: ParticipantId,
    },
    /// A participant started sending a track.
    TrackPublished {
        room: RoomId,
        track: TrackId,
        kind: MediaKind,
        /// Simulcast layers, lowest quality first; empty without simulcast.
        rids: Vec<Rid>,
        /// The browser's `MediaStreamTrack.id`-ish msid, to tell camera from screen.
        msid_track: String,
    },
    TrackUnpublished {
        room: RoomId,
        track: TrackId,
    },
    /// A subscriber now receives `track` on its own `mid` (after renegotiation): the
    /// client needs this mapping to put the right video in the right tile.
    TrackSubscribed {
        participant: ParticipantId,
        track: TrackId,
        mid: String,
    },
    ActiveSpeaker {
        room: RoomId,
        participant: ParticipantId,
    },
}

/// A datagram to send, owned so it can cross to the socket owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// The result of [`crate::Sfu::poll_output`].
#[derive(Debug)]
pub enum Output {
    Transmit(Transmit),
    Event(SfuEvent),
    /// A value for another worker of a room spread over several (see [`crate::relay`]).
    Relay {
        to: PeerId,
        relay: Relay,
    },
    /// Nothing more until this time, or until new input.
    Timeout(Instant),
}
