//! The signaling protocol, version 1: what travels over `/ws` as JSON text frames.
//!
//! Both directions are serde tagged enums (`"type": "..."`), so an unknown type or a missing field is a
//! decoding error the server answers with a typed `error`. docs/protocol.md describes every message in
//! prose; keep the two in step.

mod collab;

pub use collab::{
    ChatKind, ChatMessage, Point, Scheduled, ScheduledRemoval, ShapeKind, WhiteboardItem, REACTIONS,
};

use serde::{Deserialize, Serialize};

mod access;
pub use access::{AccessState, Credentials, Knock, ModeratedAction, Moderation, Removal, Role};

mod media;
pub use media::{
    IceCandidate, IceServer, MediaMode, SdpKind, SessionDescription, Signal, Tile, TileSource,
    TrackSource, MAX_VIEW_TILES,
};

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
    #[serde(default)]
    pub role: Role,
}

/// Room-wide settings every participant needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    pub media_mode: MediaMode,
    pub capacity: usize,
}

/// What `join` carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub room: String,
    pub name: String,
    pub version: u32,
    #[serde(default)]
    pub media: MediaState,
    /// A secret the browser keeps so that a person owns their things across reloads
    /// (crate::identity); 16 to 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(flatten)]
    pub credentials: Credentials,
    /// In a cluster, the node a `redirect` named as the room's home: the join came here to be
    /// placed, so this node takes a room that has no home yet rather than placing it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// In a cluster, the pass a `migrate` gave: the join takes the member's place in the room on
    /// its new home (same id, role and raised hand), without the entrance's checks again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Join(JoinRequest),
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
    /// The client starts a new connection to the SFU (after `sfu_ended`); its offer follows.
    SfuConnect,
    /// How the client shows the others' cameras, so the SFU can pick layers (sfu rooms).
    View {
        tiles: Vec<Tile>,
    },
    /// A host's moderation request.
    Moderate {
        action: Moderation,
    },
    Ping,
    Leave,
    /// Posts to the room's chat; `/prompt <question>` also asks the bot.
    ChatSend {
        text: String,
    },
    /// Older messages than the message `before`.
    ChatHistory {
        before: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    ScheduleMessage {
        text: String,
        at: i64,
    },
    CancelScheduled {
        id: i64,
    },
    /// An empty title clears it.
    SetTitle {
        title: String,
    },
    WhiteboardAdd {
        item: WhiteboardItem,
    },
    /// More points of the sender's own pen or eraser stroke.
    WhiteboardExtend {
        id: String,
        points: Vec<Point>,
    },
    WhiteboardUndo,
    WhiteboardClear,
    RaiseHand {
        raised: bool,
    },
    React {
        emoji: String,
    },
}

impl ClientMessage {
    /// The `type` tag, used as a metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Join(_) => "join",
            Self::Update { .. } => "update",
            Self::Signal { .. } => "signal",
            Self::SfuSignal { .. } => "sfu_signal",
            Self::SfuConnect => "sfu_connect",
            Self::View { .. } => "view",
            Self::Moderate { .. } => "moderate",
            Self::Ping => "ping",
            Self::Leave => "leave",
            Self::ChatSend { .. } => "chat_send",
            Self::ChatHistory { .. } => "chat_history",
            Self::ScheduleMessage { .. } => "schedule_message",
            Self::CancelScheduled { .. } => "cancel_scheduled",
            Self::SetTitle { .. } => "set_title",
            Self::WhiteboardAdd { .. } => "whiteboard_add",
            Self::WhiteboardExtend { .. } => "whiteboard_extend",
            Self::WhiteboardUndo => "whiteboard_undo",
            Self::WhiteboardClear => "whiteboard_clear",
            Self::RaiseHand { .. } => "raise_hand",
            Self::React { .. } => "react",
        }
    }

    /// What people type, draw or send at each other, which has its own, slower rate limit
    /// (`--chat-rate`, `--whiteboard-rate`) on top of the signaling one.
    pub fn rate_class(&self) -> Option<&'static str> {
        match self {
            Self::ChatSend { .. }
            | Self::ScheduleMessage { .. }
            | Self::CancelScheduled { .. }
            | Self::SetTitle { .. }
            | Self::RaiseHand { .. }
            | Self::React { .. } => Some("chat"),
            Self::WhiteboardAdd { .. }
            | Self::WhiteboardExtend { .. }
            | Self::WhiteboardUndo
            | Self::WhiteboardClear => Some("whiteboard"),
            _ => None,
        }
    }

    /// Whether a viewer may send this. Viewers receive media and take part without it: they
    /// raise hands, react, read the chat history and, where the room allows it, chat; they do
    /// not draw, title the room or schedule messages. Media messages are allowed here and their
    /// content checked where they are handled (a viewer's SDP must not send).
    pub fn viewer_rule(&self) -> ViewerRule {
        match self {
            Self::Join { .. }
            | Self::Update { .. }
            | Self::Signal { .. }
            | Self::SfuSignal { .. }
            | Self::SfuConnect
            | Self::View { .. }
            | Self::Moderate { .. }
            | Self::Ping
            | Self::Leave
            | Self::ChatHistory { .. }
            | Self::RaiseHand { .. }
            | Self::React { .. } => ViewerRule::Allowed,
            Self::ChatSend { .. } => ViewerRule::IfViewersChat,
            Self::ScheduleMessage { .. }
            | Self::CancelScheduled { .. }
            | Self::SetTitle { .. }
            | Self::WhiteboardAdd { .. }
            | Self::WhiteboardExtend { .. }
            | Self::WhiteboardUndo
            | Self::WhiteboardClear => ViewerRule::Forbidden,
        }
    }
}

/// What a viewer may send of one kind of message ([`ClientMessage::viewer_rule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewerRule {
    Allowed,
    /// When a host lets the room's viewers chat (`viewers_chat`).
    IfViewersChat,
    Forbidden,
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
        title: Option<String>,
        /// Raised hands, in the order they were raised.
        hands: Vec<ParticipantId>,
        #[serde(default)]
        role: Role,
        #[serde(default)]
        access: AccessState,
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
    /// The SFU dropped your connection (ICE lost and not restarted in time): close it and
    /// connect to the SFU anew with a fresh offer.
    SfuEnded,
    /// You wait in the lobby until a host admits you (`joined`) or not (`removed`).
    Waiting {
        room: String,
    },
    /// To hosts: someone waits in the lobby.
    Knocking {
        participant: Knock,
    },
    /// To hosts: nobody needs to answer this knock any more (admitted, denied or gone).
    KnockEnded {
        id: ParticipantId,
    },
    /// A host turned your microphone or camera off.
    Moderated {
        action: ModeratedAction,
        by: ParticipantId,
    },
    /// The room's lock, lobby or password changed.
    AccessChanged {
        access: AccessState,
    },
    /// The server ends your session for this reason, then closes the connection.
    Removed {
        reason: Removal,
        message: String,
    },
    /// In a cluster, the room lives on another node: join again there (`url`, its public URL),
    /// with `home` set to `node`. Answers a `join`, or ends a session whose room moved away.
    Redirect {
        url: String,
        node: String,
    },
    /// In a cluster, the room moves to another node (this one drains): join it there (`url`,
    /// `node` as in `redirect`) with `pass`, keep this session and its media until the new
    /// session's media shows, then leave this one. Nobody's id changes.
    Migrate {
        url: String,
        node: String,
        pass: String,
    },
    /// The room now carries media this way (auto rooms): connect the new way, then close the old.
    MediaMode {
        mode: MediaMode,
    },
    Pong,
    /// Chat messages, oldest first: the last ones after `joined`, older pages on request.
    ChatHistory {
        messages: Vec<ChatMessage>,
        has_more: bool,
    },
    /// After `joined`: the room's pending scheduled messages, soonest first.
    ScheduledList {
        scheduled: Vec<Scheduled>,
    },
    /// After `joined`: the whole board, in drawing order.
    WhiteboardState {
        items: Vec<WhiteboardItem>,
    },
    ChatMessage {
        message: ChatMessage,
    },
    ScheduledAdded {
        scheduled: Scheduled,
    },
    ScheduledRemoved {
        id: i64,
        reason: ScheduledRemoval,
    },
    TitleChanged {
        title: Option<String>,
        by: ParticipantId,
    },
    WhiteboardAdded {
        item: WhiteboardItem,
        by: ParticipantId,
    },
    WhiteboardExtended {
        id: String,
        points: Vec<Point>,
    },
    WhiteboardRemoved {
        id: String,
    },
    WhiteboardCleared {
        by: ParticipantId,
    },
    /// The raised hands, in the order they were raised.
    Hands {
        queue: Vec<ParticipantId>,
    },
    Reaction {
        from: ParticipantId,
        emoji: String,
    },
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
    /// A `signal` to somebody with too much waiting for them already; it was not delivered.
    RecipientBusy,
    RateLimited,
    /// A message of the other media mode: `sfu_signal`/`view` in a mesh room, `signal` in an sfu room.
    WrongMediaMode,
    /// The SFU could not accept the SDP or candidate.
    SfuRejected,
    /// The SFU is not running or stopped.
    SfuUnavailable,
    /// The room's SFU worker sheds load: nobody new joins until it caught up.
    RoomOverloaded,
    ChatTooLong,
    EmptyMessage,
    /// A scheduled time in the past or more than 30 days ahead.
    InvalidScheduleTime,
    /// The room, or its author, has as many pending scheduled messages as it may.
    TooManyScheduled,
    UnknownScheduled,
    /// Only the author may cancel a scheduled message or extend a stroke.
    NotAuthor,
    TitleTooLong,
    /// The board holds as much as it may: undo or clear first.
    WhiteboardFull,
    InvalidWhiteboardItem,
    InvalidReaction,
    /// `/prompt` on a server without a chat bot.
    BotUnavailable,
    /// The database failed; nothing was changed.
    StorageFailed,
    /// The server only lets people in with a token.
    TokenRequired,
    TokenExpired,
    /// Not a token this server signed, or altered since.
    TokenInvalid,
    /// A token for another room.
    TokenWrongRoom,
    /// The room has a password and `join` carried none.
    PasswordRequired,
    WrongPassword,
    /// Too many joins or password attempts from this address; `message` says when to retry.
    TooManyAttempts,
    RoomLocked,
    /// Kicked from this meeting earlier: kept out until it ends.
    Banned,
    /// The sender's role does not allow this message (a viewer publishing, a non-host moderating).
    Forbidden,
    /// In a cluster, the room's home cannot be told now (its node went away and its lease has not
    /// expired yet, or the cluster's Redis does not answer): join again in a few seconds.
    RoomMoving,
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
            Self::RecipientBusy => "recipient_busy",
            Self::RateLimited => "rate_limited",
            Self::WrongMediaMode => "wrong_media_mode",
            Self::SfuRejected => "sfu_rejected",
            Self::SfuUnavailable => "sfu_unavailable",
            Self::RoomOverloaded => "room_overloaded",
            Self::ChatTooLong => "chat_too_long",
            Self::EmptyMessage => "empty_message",
            Self::InvalidScheduleTime => "invalid_schedule_time",
            Self::TooManyScheduled => "too_many_scheduled",
            Self::UnknownScheduled => "unknown_scheduled",
            Self::NotAuthor => "not_author",
            Self::TitleTooLong => "title_too_long",
            Self::WhiteboardFull => "whiteboard_full",
            Self::InvalidWhiteboardItem => "invalid_whiteboard_item",
            Self::InvalidReaction => "invalid_reaction",
            Self::BotUnavailable => "bot_unavailable",
            Self::StorageFailed => "storage_failed",
            Self::TokenRequired => "token_required",
            Self::TokenExpired => "token_expired",
            Self::TokenInvalid => "token_invalid",
            Self::TokenWrongRoom => "token_wrong_room",
            Self::PasswordRequired => "password_required",
            Self::WrongPassword => "wrong_password",
            Self::TooManyAttempts => "too_many_attempts",
            Self::RoomLocked => "room_locked",
            Self::Banned => "banned",
            Self::Forbidden => "forbidden",
            Self::RoomMoving => "room_moving",
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
    "moderate",
    "ping",
    "leave",
    "chat_send",
    "chat_history",
    "schedule_message",
    "cancel_scheduled",
    "set_title",
    "whiteboard_add",
    "whiteboard_extend",
    "whiteboard_undo",
    "whiteboard_clear",
    "raise_hand",
    "react",
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
mod tests;
