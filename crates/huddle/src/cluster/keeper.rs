//! A room homed here keeps its lease: renewed on time, given back when the room stayed empty for a
//! while or the node shuts down, handed over when the node drains (`drain.rs`), and when it is lost
//! (another node took it) the members are sent to the new home. The decisions are the lease's (`huddle_cluster::Lease`); this is its driver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_cluster::{Epoch, Lease, LeaseState};

use super::drain;
use super::homes::{Homes, RoomHome};
use crate::protocol::{ErrorCode, ServerMessage};
use crate::rooms::{Audience, Away, Notice, RoomName, RoomRegistry};

/// How often the keeper looks whether the room emptied.
const LOOK_EVERY: Duration = Duration::from_secs(1);

pub(super) async fn keep(homes: Arc<Homes>, room: RoomName, home: Arc<RoomHome>, mut lease: Lease) {
    let mut empty_since = None;
    // Set in the fences when the lease was won; a lease won again after an outage brings another.
    let mut epoch = lease.running_epoch();
    loop {
        homes.run_actions(&room, &mut lease).await;
        if homes.fences.was_refused(room.as_str()) {
            tracing::warn!(%room, "a write was refused under an old epoch: stepping down");
            homes.metrics.fencing_refusals.inc();
            lease.fenced_out();
        }
        if lease.running_epoch() != epoch {
            epoch = lease.running_epoch();
            if let Some(Epoch(current)) = epoch {
                homes.fences.set(room.as_str(), current);
            }
        }
        if *lease.state() == LeaseState::Lost {
            homes.lost(&room, &home);
            send_members_on(&homes, &room).await;
            return;
        }
        if homes.is_draining() && drain::move_away(&homes, &room, &home, &mut lease).await {
            return;
        }
        let now = Instant::now();
        if homes.local.holds(&room) {
            empty_since = None;
        } else {
            let since = *empty_since.get_or_insert(now);
            if now >= since + homes.linger && homes.vacate(&room, &home) {
                break;
            }
        }
        let wake = lease
            .next_timeout()
            .map_or(now + LOOK_EVERY, |at| at.min(now + LOOK_EVERY));
        let draining = &homes.link.roster.draining;
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => lease.handle_timeout(Instant::now()),
            _ = draining.cancelled(), if !draining.is_cancelled() => {}
            _ = homes.shutdown.cancelled() => {
                // The sessions close on shutdown too: the room's next home needs no wait.
                homes.give_up(&room, &home);
                break;
            }
        }
    }
    lease.release();
    homes.run_actions(&room, &mut lease).await;
}

/// The lease is someone else's now: the members join the room there, or shortly if its new home
/// cannot be told yet.
async fn send_members_on(homes: &Homes, room: &RoomName) {
    let new_home = homes.held_by(room).await;
    tracing::warn!(%room, "lost the room's lease: {new_home}");
    let message = match new_home {
        Away::Elsewhere { url, node } => ServerMessage::Redirect { url, node },
        Away::Moving => ServerMessage::error(ErrorCode::RoomMoving, Away::Moving.to_string()),
    };
    let notice = Notice::Plain(message);
    let _ = homes.local.announce(room, notice, Audience::Everyone).await;
}
