//! The signaling protocol, version 1: what travels over `/ws` as JSON text frames.
//!
//! Both directions are serde tagged enums (`"type": "..."`), so an unknown type or a missing field is a
//! decoding error the server answers with a typed `error`. docs/protocol.md describes every message in
//! prose; keep the two in step.

use serde::{Deserialize, Serialize};

/// The protocol version this server speaks; a `join` with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame the server reads; anything bigger is answered with `message_too_large`.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Server-assigned, opaque participant id, unique on this server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub String);

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a participant currently sends, shown to everybody on their tile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaState {
    pub audio: bool,
    pub video: bool,
    pub screen: bool,
}

/// A participant as the others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: ParticipantId,
    pub name: String,
    #[serde(flatten)]
    pub media: MediaState,
}

/// One entry of `RTCConfiguration.iceServers`, handed to the browser as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// How a room carries media: peer to peer between every pair (`mesh`), or through the server's
/// SFU, one connection per participant (`sfu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaMode {
    Mesh,
    Sfu,
}

impl MediaMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mesh => "mesh",
            Self::Sfu => "sfu",
        }
    }
}

/// What a track of a publisher carries, as the tiles show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Audio,
    Video,
    Screen,
}

/// How one remote participant's camera is shown (`view`): size in device pixels, and whether it
/// is on screen at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tile {
    pub participant: ParticipantId,
    pub visible: bool,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
}

/// Room-wide settings every participant needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    pub media_mode: MediaMode,
    pub capacity: usize,
}

/// `RTCSessionDescriptionInit`: the SDP kinds perfect negotiation exchanges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    #[serde(rename = "type")]
    pub kind: SdpKind,
    #[serde(default)]
    pub sdp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpKind {
    Offer,
    Answer,
    Pranswer,
    Rollback,
}

/// `RTCIceCandidateInit`, field names as the browser spells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default)]
    pub sdp_mid: Option<String>,
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// What one peer connection sends another through the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    Description {
        description: SessionDescription,
    },
    /// `candidate: null` marks the end of candidates.
    Candidate {
        candidate: Option<IceCandidate>,
    },
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Join {
        room: String,
        name: String,
        version: u32,
        #[serde(default)]
        media: MediaState,
    },
    Update {
        media: MediaState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    Signal {
        to: ParticipantId,
        signal: Signal,
    },
    /// The client's side of its one connection to the SFU (sfu rooms).
    SfuSignal {
        signal: Signal,
    },
    /// How the client shows the others' cameras, so the SFU can pick layers (sfu rooms).
    View {
        tiles: Vec<Tile>,
    },
    Ping,
    Leave,
}

impl ClientMessage {
    /// The `type` tag, used as a metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Join { .. } => "join",
            Self::Update { .. } => "update",
            Self::Signal { .. } => "signal",
            Self::SfuSignal { .. } => "sfu_signal",
            Self::View { .. } => "view",
            Self::Ping => "ping",
            Self::Leave => "leave",
        }
    }
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Joined {
        version: u32,
        you: ParticipantId,
        room: String,
        participants: Vec<Participant>,
        ice_servers: Vec<IceServer>,
        settings: RoomSettings,
    },
    ParticipantJoined {
        participant: Participant,
    },
    ParticipantUpdated {
        participant: Participant,
    },
    ParticipantLeft {
        id: ParticipantId,
        reason: LeaveReason,
    },
    Signal {
        from: ParticipantId,
        signal: Signal,
    },
    /// The SFU's side of the client's connection: answers and the SFU's own offers.
    SfuSignal {
        signal: Signal,
    },
    /// The transceiver `mid` of the receiving client's connection carries this publisher's source.
    SfuTrack {
        participant: ParticipantId,
        source: TrackSource,
        mid: String,
    },
    ActiveSpeaker {
        participant: ParticipantId,
    },
    /// The room now carries media this way (auto rooms): connect the new way, then close the old.
    MediaMode {
        mode: MediaMode,
    },
    Pong,
    Error {
        code: ErrorCode,
        message: String,
    },
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }
}

/// Why a participant left, so the others' UI can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Disconnected,
}

/// Stable error codes: clients branch on these, humans read `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedMessage,
    MessageTooLarge,
    UnknownType,
    UnsupportedVersion,
    NotJoined,
    AlreadyJoined,
    InvalidRoom,
    InvalidName,
    RoomFull,
    UnknownParticipant,
    RateLimited,
    /// A message of the other media mode: `sfu_signal`/`view` in a mesh room, `signal` in an sfu room.
    WrongMediaMode,
    /// The SFU could not accept the SDP or candidate.
    SfuRejected,
    /// The SFU is not running or stopped.
    SfuUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedMessage => "malformed_message",
            Self::MessageTooLarge => "message_too_large",
            Self::UnknownType => "unknown_type",
            Self::UnsupportedVersion => "unsupported_version",
            Self::NotJoined => "not_joined",
            Self::AlreadyJoined => "already_joined",
            Self::InvalidRoom => "invalid_room",
            Self::InvalidName => "invalid_name",
            Self::RoomFull => "room_full",
            Self::UnknownParticipant => "unknown_participant",
            Self::RateLimited => "rate_limited",
            Self::WrongMediaMode => "wrong_media_mode",
            Self::SfuRejected => "sfu_rejected",
            Self::SfuUnavailable => "sfu_unavailable",
        }
    }
}

/// Why a text frame could not become a [`ClientMessage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {0} bytes is over the {MAX_MESSAGE_BYTES} byte limit")]
    TooLarge(usize),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge(_) => ErrorCode::MessageTooLarge,
            Self::UnknownType(_) => ErrorCode::UnknownType,
            Self::Malformed(_) => ErrorCode::MalformedMessage,
        }
    }
}

const CLIENT_TYPES: &[&str] = &[
    "join",
    "update",
    "signal",
    "sfu_signal",
    "view",
    "ping",
    "leave",
];

/// Decodes one text frame, telling an unknown `type` apart from a malformed known one.
pub fn decode_client(text: &str) -> Result<ClientMessage, DecodeError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge(text.len()));
    }
    serde_json::from_str(text).map_err(|err| {
        #[derive(Deserialize)]
        struct Tag {
            #[serde(rename = "type")]
            kind: String,
        }
        match serde_json::from_str::<Tag>(text) {
            Ok(tag) if !CLIENT_TYPES.contains(&tag.kind.as_str()) => {
                DecodeError::UnknownType(tag.kind)
            }
            _ => DecodeError::Malformed(err.to_string()),
        }
    })
}

pub fn encode_server(message: &ServerMessage) -> String {
    serde_json::to_string(message).expect("server messages always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_round_trips() {
        let text = r#"{"type":"join","room":"blue-fox","name":"Ada","version":1}"#;
        let message = decode_client(text).unwrap();
        assert_eq!(
            message,
            ClientMessage::Join {
                room: "blue-fox".into(),
                name: "Ada".into(),
                version: 1,
                media: MediaState::default(),
            }
        );
        let again = serde_json::to_string(&message).unwrap();
        assert_eq!(decode_client(&again).unwrap(), message);
    }

    #[test]
    fn signal_carries_browser_shaped_candidates() {
        let text = r#"{"type":"signal","to":"p1","signal":{"kind":"candidate","candidate":
            {"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}}"#;
        let ClientMessage::Signal { to, signal } = decode_client(text).unwrap() else {
            panic!("expected a signal");
        };
        assert_eq!(to, ParticipantId("p1".into()));
        let Signal::Candidate {
            candidate: Some(candidate),
        } = signal
        else {
            panic!("expected a candidate");
        };
        assert_eq!(candidate.sdp_m_line_index, Some(0));
        assert_eq!(candidate.sdp_mid.as_deref(), Some("0"));
    }

    #[test]
    fn end_of_candidates_is_null() {
        let text = r#"{"type":"signal","to":"p1","signal":{"kind":"candidate","candidate":null}}"#;
        assert!(matches!(
            decode_client(text),
            Ok(ClientMessage::Signal {
                signal: Signal::Candidate { candidate: None },
                ..
            })
        ));
    }

    #[test]
    fn description_keeps_sdp_type() {
        let signal = Signal::Description {
            description: SessionDescription {
                kind: SdpKind::Offer,
                sdp: "v=0".into(),
            },
        };
        let json = serde_json::to_value(&signal).unwrap();
        assert_eq!(json["description"]["type"], "offer");
        assert_eq!(json["kind"], "description");
    }

    #[test]
    fn unknown_type_is_told_apart_from_malformed() {
        assert_eq!(
            decode_client(r#"{"type":"dance"}"#),
            Err(DecodeError::UnknownType("dance".into()))
        );
        assert_eq!(
            decode_client(r#"{"type":"join","room":5}"#)
                .unwrap_err()
                .code(),
            ErrorCode::MalformedMessage
        );
        assert_eq!(
            decode_client("not json").unwrap_err().code(),
            ErrorCode::MalformedMessage
        );
        assert_eq!(
            decode_client(r#"{"no_type":1}"#).unwrap_err().code(),
            ErrorCode::MalformedMessage
        );
    }

    #[test]
    fn oversized_frames_are_refused_before_parsing() {
        let text = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        assert!(matches!(
            decode_client(&text),
            Err(DecodeError::TooLarge(_))
        ));
    }

    #[test]
    fn server_messages_are_tagged() {
        let text = encode_server(&ServerMessage::error(ErrorCode::RoomFull, "full"));
        assert_eq!(
            text,
            r#"{"type":"error","code":"room_full","message":"full"}"#
        );
        let left = ServerMessage::ParticipantLeft {
            id: ParticipantId("p2".into()),
            reason: LeaveReason::Disconnected,
        };
        let json = serde_json::to_value(&left).unwrap();
        assert_eq!(json["type"], "participant_left");
        assert_eq!(json["reason"], "disconnected");
    }

    #[test]
    fn participant_state_is_flat() {
        let participant = Participant {
            id: ParticipantId("p1".into()),
            name: "Ada".into(),
            media: MediaState {
                audio: true,
                video: false,
                screen: false,
            },
        };
        let json = serde_json::to_value(&participant).unwrap();
        assert_eq!(json["audio"], true);
        assert_eq!(json["video"], false);
    }

    #[test]
    fn sfu_signal_and_view_decode() {
        let text = r#"{"type":"sfu_signal","signal":{"kind":"description",
            "description":{"type":"offer","sdp":"v=0"}}}"#;
        let ClientMessage::SfuSignal { signal } = decode_client(text).unwrap() else {
            panic!("expected sfu_signal");
        };
        assert!(matches!(
            signal,
            Signal::Description { description } if description.kind == SdpKind::Offer
        ));
        let text = r#"{"type":"view","tiles":[{"participant":"00000000000000ab",
            "visible":true,"width":320,"height":180},{"participant":"p2","visible":false}]}"#;
        let ClientMessage::View { tiles } = decode_client(text).unwrap() else {
            panic!("expected view");
        };
        assert_eq!(
            tiles[0].participant,
            ParticipantId("00000000000000ab".into())
        );
        assert_eq!((tiles[0].width, tiles[0].height), (320, 180));
        assert!(!tiles[1].visible);
        assert_eq!(
            decode_client(r#"{"type":"view"}"#).unwrap_err().code(),
            ErrorCode::MalformedMessage
        );
    }

    #[test]
    fn sfu_server_messages_are_tagged() {
        let track = ServerMessage::SfuTrack {
            participant: ParticipantId("p1".into()),
            source: TrackSource::Screen,
            mid: "3".into(),
        };
        assert_eq!(
            encode_server(&track),
            r#"{"type":"sfu_track","participant":"p1","source":"screen","mid":"3"}"#
        );
        let speaker = ServerMessage::ActiveSpeaker {
            participant: ParticipantId("p1".into()),
        };
        assert_eq!(
            encode_server(&speaker),
            r#"{"type":"active_speaker","participant":"p1"}"#
        );
        let switch = ServerMessage::MediaMode {
            mode: MediaMode::Sfu,
        };
        assert_eq!(
            encode_server(&switch),
            r#"{"type":"media_mode","mode":"sfu"}"#
        );
        let answer = ServerMessage::SfuSignal {
            signal: Signal::Candidate { candidate: None },
        };
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["type"], "sfu_signal");
        assert_eq!(json["signal"]["kind"], "candidate");
        let settings = RoomSettings {
            media_mode: MediaMode::Sfu,
            capacity: 100,
        };
        assert_eq!(serde_json::to_value(settings).unwrap()["media_mode"], "sfu");
    }

    #[test]
    fn sfu_error_codes_are_snake_case() {
        for code in [
            ErrorCode::WrongMediaMode,
            ErrorCode::SfuRejected,
            ErrorCode::SfuUnavailable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::WrongMediaMode.as_str(), "wrong_media_mode");
    }
}
