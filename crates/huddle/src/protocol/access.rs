//! The wire types of access control and moderation: roles, the room's doors (lock, lobby,
//! password), what hosts ask (`moderate`) and what the server tells about it. docs/protocol.md
//! describes them; `protocol/mod.rs` puts them into its messages.

use serde::{Deserialize, Serialize};

use super::ParticipantId;

/// What a participant may do. Hosts moderate; participants send and receive; viewers only
/// receive (the server refuses or drops anything they try to send).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Host,
    #[default]
    Participant,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Participant => "participant",
            Self::Viewer => "viewer",
        }
    }

    /// Viewers receive only.
    pub fn may_publish(self) -> bool {
        self != Self::Viewer
    }

    pub fn may_moderate(self) -> bool {
        self == Self::Host
    }
}

/// What `join` may carry to get in: a signed token, or the room's password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// How a room lets people in, and what its viewers may say, as everybody in it sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessState {
    /// Nobody new gets in, except with a host token.
    pub locked: bool,
    /// Newcomers wait until a host admits them.
    pub lobby: bool,
    /// Joining needs the room's password (or a token).
    pub password: bool,
    /// Viewers may write in the chat (they always read it).
    pub viewers_chat: bool,
}

/// What a host asks the server to do (`moderate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Moderation {
    /// Turn off someone's microphone: the SFU stops forwarding it until they turn it on again.
    Mute {
        participant: ParticipantId,
    },
    /// Turn off someone's camera and screen share, likewise.
    StopVideo {
        participant: ParticipantId,
    },
    /// Remove someone and keep them out until the meeting ends.
    Kick {
        participant: ParticipantId,
    },
    /// Let someone waiting in the lobby in, or send them away.
    Admit {
        participant: ParticipantId,
    },
    Deny {
        participant: ParticipantId,
    },
    /// Give the host role to someone else; the sender becomes a participant.
    HandOverHost {
        participant: ParticipantId,
    },
    Lock {
        locked: bool,
    },
    Lobby {
        enabled: bool,
    },
    /// Let viewers write in the chat, or not.
    ViewersChat {
        enabled: bool,
    },
    /// Set or, with `null`, remove the room's password.
    SetPassword {
        password: Option<String>,
    },
    /// Remove everybody.
    EndMeeting,
}

/// What a host did to you, so that your client follows (turns the mic or camera off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeratedAction {
    Mute,
    StopVideo,
}

/// Why the server ends your session; it closes the connection after saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    Kicked,
    Denied,
    MeetingEnded,
}

impl Removal {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Kicked => "a host removed you from the meeting",
            Self::Denied => "a host did not let you in",
            Self::MeetingEnded => "a host ended the meeting",
        }
    }
}

/// Someone waiting in the lobby, as hosts see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knock {
    pub id: ParticipantId,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::super::{decode_client, encode_server, ClientMessage, ServerMessage};
    use super::*;

    #[test]
    fn join_carries_credentials_and_moderate_its_action() {
        let text =
            r#"{"type":"join","room":"r","name":"A","version":1,"token":"t.o.k","password":"pw"}"#;
        let ClientMessage::Join(join) = decode_client(text).unwrap() else {
            panic!("expected join");
        };
        assert_eq!(join.credentials.token.as_deref(), Some("t.o.k"));
        assert_eq!(join.credentials.password.as_deref(), Some("pw"));

        let text = r#"{"type":"moderate","action":{"kind":"kick","participant":"p1"}}"#;
        assert_eq!(
            decode_client(text).unwrap(),
            ClientMessage::Moderate {
                action: Moderation::Kick {
                    participant: ParticipantId("p1".into())
                }
            }
        );
        let text = r#"{"type":"moderate","action":{"kind":"set_password","password":null}}"#;
        assert!(decode_client(text).is_ok());
        let text = r#"{"type":"moderate","action":{"kind":"dance"}}"#;
        assert!(decode_client(text).is_err());
    }

    #[test]
    fn removals_and_knocks_are_tagged() {
        let removed = ServerMessage::Removed {
            reason: Removal::MeetingEnded,
            message: "bye".into(),
        };
        assert_eq!(
            encode_server(&removed),
            r#"{"type":"removed","reason":"meeting_ended","message":"bye"}"#
        );
        let knocking = ServerMessage::Knocking {
            participant: Knock {
                id: ParticipantId("k".into()),
                name: "Ada".into(),
            },
        };
        assert_eq!(
            encode_server(&knocking),
            r#"{"type":"knocking","participant":{"id":"k","name":"Ada"}}"#
        );
    }
}
