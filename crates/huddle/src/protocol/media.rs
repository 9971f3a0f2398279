//! The wire types of media: how a room carries it (mesh or SFU), the ICE servers handed out, what
//! peer connections exchange through the server (`signal`, `sfu_signal`) and how a client shows
//! the others' videos (`view`). docs/protocol.md describes them.

use serde::{Deserialize, Serialize};

use super::ParticipantId;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Audio,
    Video,
    Screen,
}

/// Which of a publisher's videos a tile shows. Tiles without one are cameras, as before screens
/// had tiles of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TileSource {
    #[default]
    Camera,
    Screen,
}

/// Tiles one `view` may name: a camera and a screen share each of a few hundred publishers.
pub const MAX_VIEW_TILES: usize = 512;

/// How one remote participant's camera or screen is shown (`view`): size in device pixels, and
/// whether it is on screen at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tile {
    pub participant: ParticipantId,
    #[serde(default)]
    pub source: TileSource,
    pub visible: bool,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
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
