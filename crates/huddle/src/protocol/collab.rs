//! The collaboration part of the protocol: chat, scheduled messages, the whiteboard, reactions.
//! Stored things carry server-assigned ids, except whiteboard items, whose ids the drawing client
//! picks so that it can extend a stroke before the server has answered.

use serde::{Deserialize, Serialize};

use super::ParticipantId;

/// Who posted a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    User,
    /// A scheduled message the server posted at its time.
    Scheduled,
    Bot,
}

impl ChatKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Scheduled => "scheduled",
            Self::Bot => "bot",
        }
    }
}

/// A chat message as one receiver sees it: `mine` and `author` depend on who reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: i64,
    pub kind: ChatKind,
    pub author_name: String,
    /// The author's participant id while they are in the room; null for the bot or when gone.
    pub author: Option<ParticipantId>,
    pub text: String,
    /// Unix milliseconds, UTC.
    pub sent_at: i64,
    /// A scheduled message posted well after its time (the server was down).
    pub late: bool,
    pub mine: bool,
}

/// A scheduled message not posted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    pub id: i64,
    pub author_name: String,
    pub text: String,
    /// When it is posted, Unix milliseconds, UTC.
    pub at: i64,
    pub mine: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    Pen,
    Eraser,
    Line,
    Rect,
    Ellipse,
    Text,
}

/// A point on the board, both axes 0..1.
pub type Point = [f64; 2];

/// One thing drawn on the whiteboard. Clients send it without `mine` (ignored if sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiteboardItem {
    pub id: String,
    pub kind: ShapeKind,
    /// `#rrggbb`.
    pub color: String,
    /// 1..64 board units.
    pub width: f64,
    /// pen/eraser: the path; line/rect/ellipse: two corners; text: one anchor.
    pub points: Vec<Point>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default)]
    pub mine: bool,
}

/// Why a scheduled message left the pending list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledRemoval {
    Cancelled,
    Posted,
}

/// The reactions one may send; anything else is `invalid_reaction`.
pub const REACTIONS: &[&str] = &["👍", "👏", "😂", "❤️", "🎉", "😮", "🤔", "👋"];
