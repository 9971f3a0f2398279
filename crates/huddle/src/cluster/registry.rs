//! The room registry of a cluster node: the local registry for the rooms homed here, and a join
//! for a room that lives elsewhere sent there. It wraps [`LocalRegistry`] as LiveKit's Redis
//! router wraps its local one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::drain::BeforeMove;
use super::homes::Homes;
use super::Link;
use crate::identity::AuthorKey;
use crate::protocol::{LeaveReason, MediaState, Participant, ParticipantId, Signal};
use crate::rooms::{
    Admission, Arrival, Audience, Authors, Away, Census, JoinError, LocalRegistry, MemberChange,
    NodeRooms, Notice, Outbox, Pass, Profile, RelayError, RoomName, RoomRegistry,
};
use crate::store::{Fences, Store};

/// How often a node looks for scheduled messages other nodes added.
const SCHEDULED_POLL: Duration = Duration::from_secs(1);

pub struct ClusterRegistry {
    local: Arc<LocalRegistry>,
    homes: Arc<Homes>,
}

impl ClusterRegistry {
    /// Rooms homed here live in `local`; their writes to `store` carry the epochs set in
    /// `fences` (the store's own); their leases are given back on `shutdown`.
    pub fn new(
        local: Arc<LocalRegistry>,
        link: Arc<Link>,
        store: (Store, Fences),
        shutdown: CancellationToken,
        registry: &mut Registry,
    ) -> Self {
        let homes = Homes::new(link, Arc::clone(&local), store, shutdown, registry);
        ClusterRegistry { local, homes }
    }

    /// This node drains (docs/cluster.md): it takes no new room, and moves each of its rooms to
    /// another serving node once `before_move` is done with it.
    pub fn drain(&self, before_move: BeforeMove) {
        self.homes.drain(before_move);
    }

    /// Whether another node serves, to which this node's rooms could move.
    pub fn can_move_rooms(&self) -> bool {
        !self.homes.others_serving(Instant::now()).is_empty()
    }

    /// Members of this node's rooms still here at a drain's deadline: they are cut off and
    /// reconnect through the address they came in by.
    pub fn force_out(&self, members: usize) {
        self.homes.metrics.migrations_forced.inc_by(members as u64);
    }
}

#[async_trait]
impl RoomRegistry for ClusterRegistry {
    async fn home(&self, room: &RoomName, placed: Option<&str>) -> Result<(), Away> {
        let home = self.homes.claim(room, placed).await;
        if let Err(Away::Elsewhere { .. }) = home {
            self.homes.metrics.redirects.inc();
        }
        home
    }

    async fn redeem(&self, room: &RoomName, pass: &str) -> Option<Pass> {
        self.homes.redeem(room, pass).await
    }

    async fn posts_scheduled(&self, room: &RoomName) -> bool {
        self.homes.posts_scheduled(room).await
    }

    fn scheduled_poll(&self) -> Option<Duration> {
        Some(SCHEDULED_POLL)
    }

    async fn join(
        &self,
        room: &RoomName,
        profile: Profile,
        outbox: Outbox,
    ) -> Result<Admission, JoinError> {
        let _admitted = self.homes.admit(room)?;
        self.local.join(room, profile, outbox).await
    }

    async fn update(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        media: MediaState,
        name: Option<String>,
    ) {
        self.local.update(room, id, media, name).await;
    }

    async fn relay(
        &self,
        room: &RoomName,
        from: &ParticipantId,
        to: &ParticipantId,
        signal: Signal,
    ) -> Result<(), RelayError> {
        self.local.relay(room, from, to, signal).await
    }

    async fn leave(&self, room: &RoomName, id: &ParticipantId, reason: LeaveReason) {
        self.local.leave(room, id, reason).await;
    }

    async fn announce(
        &self,
        room: &RoomName,
        notice: Notice,
        audience: Audience,
    ) -> Result<(), RelayError> {
        self.local.announce(room, notice, audience).await
    }

    async fn raise_hand(&self, room: &RoomName, id: &ParticipantId, raised: bool) {
        self.local.raise_hand(room, id, raised).await;
    }

    async fn authors(&self, room: &RoomName) -> Authors {
        self.local.authors(room).await
    }

    async fn change_member(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        change: MemberChange,
    ) -> Result<Participant, RelayError> {
        self.local.change_member(room, id, change).await
    }

    async fn members(&self, room: &RoomName) -> Vec<Participant> {
        self.local.members(room).await
    }

    async fn arrival(&self, room: &RoomName, author: &AuthorKey) -> Arrival {
        self.local.arrival(room, author).await
    }
}

#[async_trait]
impl NodeRooms for ClusterRegistry {
    async fn settle(&self, now: Instant) {
        self.local.settle(now).await;
    }

    fn census(&self) -> Census {
        self.local.census()
    }
}
