//! Draining this node (docs/cluster.md, "Drain"): it takes no new room, and each room homed here
//! moves to another serving node without dropping the call. The room's keeper stores its
//! whiteboard, hands the lease over (the next home placed in the same Redis step), and tells every
//! member to join there with a pass that keeps its id, role and raised hand (`migrate`): the
//! browser brings its media up on the new node next to the old and switches tile by tile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::future::BoxFuture;
use huddle_cluster::{Lease, Node, NodeState};

use super::homes::{Homes, RoomHome, PLACEMENT_WINDOW};
use crate::protocol::ServerMessage;
use crate::rooms::{Audience, Notice, Pass, RoomName, RoomRegistry};

/// How long a member of a moving room has to use its pass on the room's next home.
const PASS_TTL: Duration = Duration::from_secs(60);

/// What the edge does for a room about to move, with what the cluster does not see: it waits until
/// everything of the room's whiteboard accepted here is stored (the lease is handed over only
/// then, so that the next home reads the board whole) and says how the room's entrance is.
pub type BeforeMove = Box<dyn Fn(RoomName) -> BoxFuture<'static, Leaving> + Send + Sync>;

/// How a room's entrance is as the room leaves this node: what its members' passes carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Leaving {
    pub locked: bool,
}

impl Homes {
    /// This node drains: from now on it takes no new room, and each room's keeper moves its room
    /// to another serving node once `before_move` is done with it.
    pub fn drain(&self, before_move: BeforeMove) {
        let _ = self.before_move.set(before_move);
        self.link.roster.draining.cancel();
    }

    pub fn is_draining(&self) -> bool {
        self.link.roster.is_draining()
    }

    /// Waits until everything of the room's whiteboard accepted here is stored; how the room's
    /// entrance is.
    pub async fn before_move(&self, room: &RoomName) -> Leaving {
        match self.before_move.get() {
            Some(before_move) => before_move(room.clone()).await,
            None => Leaving::default(),
        }
    }

    /// The node a room of this draining node moves to: another serving one, by load.
    pub fn next_home(&self) -> Option<Node> {
        let now = Instant::now();
        let others = self.others_serving(now);
        let mut placer = self.placer.lock().expect("never poisoned");
        let chosen = placer.choose(&others, now, |n| rand::random_range(0..n))?;
        others.into_iter().find(|node| node.id == chosen)
    }

    /// The other serving nodes, as the last heartbeat saw them: where rooms can move.
    pub fn others_serving(&self, now: Instant) -> Vec<Node> {
        let nodes = self.link.roster.nodes(now).unwrap_or_default();
        nodes
            .into_iter()
            .filter(|node| node.id != *self.link.me() && node.state == NodeState::Serving)
            .collect()
    }

    /// The room's lease went to `next`: every member is told to join the room there with a pass
    /// that keeps its place (`migrate`), or to join again from scratch when no pass can be left
    /// in Redis (`redirect`).
    pub async fn send_members_to(&self, room: &RoomName, next: &Node, leaving: Leaving) {
        let (url, node) = (&next.public_url, &next.id.0);
        for mut pass in self.local.passes(room) {
            pass.locked = leaving.locked;
            let member = pass.moved.id.clone();
            let message = match self.leave_pass(&pass).await {
                Ok(pass) => {
                    self.metrics.migrations_planned.inc();
                    ServerMessage::Migrate {
                        url: url.clone(),
                        node: node.clone(),
                        pass,
                    }
                }
                Err(e) => {
                    tracing::warn!(%room, %member, "no pass for the move, the member reconnects: {e}");
                    self.metrics.migrations_forced.inc();
                    ServerMessage::Redirect {
                        url: url.clone(),
                        node: node.clone(),
                    }
                }
            };
            let notice = Notice::Plain(message);
            let _ = self
                .local
                .announce(room, notice, Audience::Member(member))
                .await;
        }
    }

    /// Keeps `pass` in the directory under a fresh secret, which is returned.
    async fn leave_pass(&self, pass: &Pass) -> anyhow::Result<String> {
        let directory = self
            .link
            .directory()
            .context("the cluster's directory was never reached")?;
        let secret = format!("{:032x}", rand::random::<u128>());
        let value = serde_json::to_string(pass).expect("a pass serializes");
        directory.leave_pass(&secret, &value, PASS_TTL).await?;
        Ok(secret)
    }

    /// What the pass `secret` lets its holder be in `room`: nothing when it is used, expired, for
    /// another room, or Redis does not answer.
    pub async fn redeem(&self, room: &RoomName, secret: &str) -> Option<Pass> {
        let directory = self.link.directory()?;
        let value = match directory.take_pass(secret).await {
            Ok(value) => value?,
            Err(e) => {
                tracing::warn!(%room, "cannot read a pass: {e}");
                return None;
            }
        };
        let pass: Pass = serde_json::from_str(&value)
            .inspect_err(|e| tracing::warn!(%room, "a malformed pass in Redis: {e}"))
            .ok()?;
        (pass.room == room.as_str()).then_some(pass)
    }
}

/// Moves a room of this draining node to the next home: false when no other node serves (the
/// keeper tries again shortly).
pub(super) async fn move_away(
    homes: &Homes,
    room: &RoomName,
    home: &Arc<RoomHome>,
    lease: &mut Lease,
) -> bool {
    let Some(next) = homes.next_home() else {
        return false;
    };
    tracing::info!(%room, node = %next.id, "draining: the room moves");
    let leaving = homes.before_move(room).await;
    lease.hand_over(next.id.clone(), PLACEMENT_WINDOW);
    homes.run_actions(room, lease).await;
    homes.moved(room, home);
    homes.send_members_to(room, &next, leaving).await;
    true
}
