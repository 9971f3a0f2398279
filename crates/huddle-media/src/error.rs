//! Errors at the crate boundary. Network input never panics: it either is handled,
//! is dropped (and counted), or comes back as one of these.

use std::fmt;

use crate::ids::{ParticipantId, RoomId, TrackId};

#[derive(Debug)]
#[non_exhaustive]
pub enum SfuError {
    /// No participant with this id is in the SFU (never joined, or already left).
    UnknownParticipant(ParticipantId),
    /// A participant id that is already in use, maybe in another room.
    ParticipantExists(ParticipantId, RoomId),
    /// No published track with this id in the subscriber's room.
    UnknownTrack(TrackId),
    /// An answer came when no offer from the SFU was outstanding.
    NoPendingOffer(ParticipantId),
    /// A datagram that is neither STUN, DTLS, RTP nor RTCP.
    UnrecognisedDatagram,
    /// No participant claims this datagram (e.g. it arrived before `join`).
    NoParticipantForDatagram,
    /// SDP or candidate text that does not parse.
    BadSdp(String),
    /// The worker of this room sheds load: it takes no newcomers until it caught up.
    Overloaded(RoomId),
    /// The SFU driver was shut down.
    Stopped,
    /// str0m refused an operation (bad offer, bad candidate, broken session).
    Rtc(str0m::RtcError),
}

impl fmt::Display for SfuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SfuError::UnknownParticipant(p) => write!(f, "unknown participant {p}"),
            SfuError::ParticipantExists(p, r) => write!(f, "participant {p} already in {r}"),
            SfuError::UnknownTrack(t) => write!(f, "unknown track {t}"),
            SfuError::NoPendingOffer(p) => write!(f, "no offer pending for {p}"),
            SfuError::UnrecognisedDatagram => write!(f, "unrecognised datagram"),
            SfuError::NoParticipantForDatagram => write!(f, "no participant for datagram"),
            SfuError::BadSdp(e) => write!(f, "bad sdp: {e}"),
            SfuError::Overloaded(r) => {
                write!(f, "room {r} is overloaded: its SFU worker sheds load")
            }
            SfuError::Stopped => write!(f, "sfu stopped"),
            SfuError::Rtc(e) => write!(f, "rtc: {e}"),
        }
    }
}

impl std::error::Error for SfuError {}

impl From<str0m::RtcError> for SfuError {
    fn from(e: str0m::RtcError) -> Self {
        SfuError::Rtc(e)
    }
}
