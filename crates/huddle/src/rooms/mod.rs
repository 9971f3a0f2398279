//! Rooms and their participants, behind [`RoomRegistry`] so that a cluster implementation can share
//! rooms between nodes; [`LocalRegistry`] keeps them in this process.

mod local;
mod mode;
mod names;
mod notice;
mod room;

pub use local::LocalRegistry;
pub use mode::{AutoSwitch, MediaPolicy, RoomMode};
pub use names::{
    clean_display_name, without_invisible, InvalidDisplayName, InvalidRoomName, RoomName,
};
pub use notice::{chat_message, scheduled, whiteboard_item, Authors, Notice, Reader};
pub use room::{MemberChange, Outbox, Room, RoomFull, HOST_RETURN_GRACE};

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::identity::AuthorKey;
pub use crate::metrics::Census;
use crate::protocol::{
    LeaveReason, MediaMode, MediaState, Participant, ParticipantId, Role, RoomSettings, Signal,
};

/// What the rooms of a registry are like: how they carry media, and so how many they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomPolicy {
    pub media: MediaPolicy,
    /// Capacity of forced mesh rooms: every pair has its own peer connection.
    pub mesh_limit: usize,
    /// Capacity of sfu and auto rooms.
    pub max_participants: usize,
    /// Whether rooms make their own hosts (see [`Room`]); false when roles come from tokens only.
    pub auto_host: bool,
}

impl RoomPolicy {
    /// Mesh rooms of `limit` participants.
    pub fn mesh(limit: usize) -> Self {
        Self {
            media: MediaPolicy::Mesh,
            mesh_limit: limit,
            max_participants: limit,
            auto_host: true,
        }
    }

    /// What [`Room::admit`] enforces. Only a forced mesh is bounded by the mesh's cost: an auto
    /// room moves to the SFU long before.
    pub fn capacity(&self) -> usize {
        match self.media {
            MediaPolicy::Mesh => self.mesh_limit,
            MediaPolicy::Sfu | MediaPolicy::Auto(_) => self.max_participants,
        }
    }
}

/// What a newcomer learns when admitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    pub id: ParticipantId,
    pub others: Vec<Participant>,
    pub settings: RoomSettings,
    pub hands: Vec<ParticipantId>,
    /// The newcomer's role: the one asked for, or host in a hostless open room.
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error(transparent)]
    Full(#[from] RoomFull),
    #[error(transparent)]
    Away(#[from] Away),
    /// A member moving in with an id somebody in the room has already.
    #[error("participant {0} is in the room already")]
    Taken(ParticipantId),
}

/// In a cluster, why a room is not homed on this node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Away {
    /// On another node: `url` is how browsers reach it, `node` its id.
    #[error("the room lives on node {node}")]
    Elsewhere { url: String, node: String },
    /// Cannot be told now: its node went away and its lease has not expired yet, or the cluster's
    /// directory does not answer. Worth asking again in a few seconds.
    #[error("the room is moving between nodes or its home cannot be found now: join again in a few seconds")]
    Moving,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("no participant {0} in this room")]
    UnknownParticipant(ParticipantId),
    #[error("participant {0} has too much waiting for it: try again shortly")]
    RecipientBusy(ParticipantId),
}

/// Who of a room an announcement is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// Everybody but the one whose own action it reports.
    AllBut(ParticipantId),
    /// Those who moderate: hosts and moderators.
    Hosts,
    Member(ParticipantId),
}

impl Audience {
    pub fn includes(&self, id: &ParticipantId, role: Role) -> bool {
        match self {
            Self::Everyone => true,
            Self::AllBut(skipped) => skipped != id,
            Self::Hosts => role.may_moderate(),
            Self::Member(member) => member == id,
        }
    }
}

/// Who somebody at a room's door would be: a lobby holds newcomers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The room is empty.
    FirstIn,
    /// The host who lost their connection a moment ago, coming back to their role.
    ReturningHost,
    Newcomer,
}

/// Newcomer's profile as validated by the signaling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub media: MediaState,
    pub author: AuthorKey,
    /// The role the newcomer is entitled to (from a token, else participant).
    pub role: Role,
    /// A member of the room on its former home, taking its place here (a drain).
    pub moved: Option<Moved>,
}

/// What a member of a room keeps when the room moves to another node: its id (so that everybody's
/// tiles move from the old session's media to the new one's), its raised hand, and the room's
/// media mode (the room goes on in it while its members arrive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub id: ParticipantId,
    pub hand: bool,
    pub mode: MediaMode,
}

/// What a `migrate`'s pass lets its holder do on the room's next home: take its place there as
/// the member it was, without the entrance's checks (it passed them on the former home).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pass {
    /// The room it is for: it lets into no other.
    pub room: String,
    pub name: String,
    pub role: Role,
    pub moved: Moved,
    /// The room was locked on its former home: it stays locked (the lock is the entrance's, kept
    /// in the node's memory).
    pub locked: bool,
}

/// The room registry: rooms are created on first join and removed when the last participant leaves.
/// Every change is announced to the room's other participants through their outboxes.
///
/// Its methods are what a cluster shares about a room: who is in it (membership, roles, hands),
/// and announcements to an [`Audience`] of it. What stays on the node that holds the members'
/// sessions (their outboxes, the rooms' clock, the count of what it carries) is [`NodeRooms`].
/// A cluster registry wraps the local one, as [`LocalRegistry`] alone is both.
#[async_trait]
pub trait RoomRegistry: NodeRooms {
    /// Whether the room lives here, asked before anything of it is read or changed. A single node
    /// holds every room; a cluster places a room that has no home yet, on this node if `placed`
    /// (the join's `home`, from a redirect) names it.
    async fn home(&self, _room: &RoomName, _placed: Option<&str>) -> Result<(), Away> {
        Ok(())
    }

    /// Whether this node posts the room's scheduled messages: a single node posts them all; a
    /// cluster node those of the rooms homed on it or on no node (a home posts its own rooms').
    async fn posts_scheduled(&self, _room: &RoomName) -> bool {
        true
    }

    /// What `pass` (from a `migrate`) lets its holder be in `room`, once; a single node issues
    /// none.
    async fn redeem(&self, _room: &RoomName, _pass: &str) -> Option<Pass> {
        None
    }

    /// How often the scheduler looks for messages that other nodes scheduled: never on a single
    /// node, where scheduling one wakes it.
    fn scheduled_poll(&self) -> Option<Duration> {
        None
    }

    /// Admits a newcomer; the room must be homed here ([`JoinError::Away`] otherwise).
    async fn join(
        &self,
        room: &RoomName,
        profile: Profile,
        outbox: Outbox,
    ) -> Result<Admission, JoinError>;

    async fn update(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        media: MediaState,
        name: Option<String>,
    );

    async fn relay(
        &self,
        room: &RoomName,
        from: &ParticipantId,
        to: &ParticipantId,
        signal: Signal,
    ) -> Result<(), RelayError>;

    async fn leave(&self, room: &RoomName, id: &ParticipantId, reason: LeaveReason);

    /// Tells the audience of the room (nobody when the room is empty). Fails only when the
    /// audience is one member who is not in the room.
    async fn announce(
        &self,
        room: &RoomName,
        notice: Notice,
        audience: Audience,
    ) -> Result<(), RelayError>;

    async fn raise_hand(&self, room: &RoomName, id: &ParticipantId, raised: bool);

    /// Who of the room is which author now.
    async fn authors(&self, room: &RoomName) -> Authors;

    /// Applies a host's change to a member and announces it to the room.
    async fn change_member(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        change: MemberChange,
    ) -> Result<Participant, RelayError>;

    /// The room's members now (empty when there is no such room).
    async fn members(&self, room: &RoomName) -> Vec<Participant>;

    /// Who `author` would be coming into the room now.
    async fn arrival(&self, room: &RoomName, author: &AuthorKey) -> Arrival;
}

/// What stays on the node that holds a room's sessions, whatever the registry shares.
#[async_trait]
pub trait NodeRooms: Send + Sync {
    /// Lets time pass: auto rooms that stayed small long enough go back to the mesh, a host who
    /// did not come back in time hands the role on. Called about once a second.
    async fn settle(&self, now: Instant);

    /// What this node carries: rooms and participants.
    fn census(&self) -> Census;
}
