//! Posts scheduled messages at their time, whether or not anybody is in the room. The pending
//! rows in the database are the schedule, so a restart re-arms it by itself; messages that fell
//! due while the server was down are posted at once, marked late.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Collab;
use crate::clock::UnixMillis;
use crate::protocol::{ScheduledRemoval, ServerMessage};
use crate::rooms::{Audience, Notice, RoomName};
use crate::store::{ScheduledRecord, StoreError};

/// A message posted this long after its time is marked late.
pub const LATE_AFTER_MS: i64 = 60_000;
/// After a database failure, the scheduler tries again this much later.
const RETRY: Duration = Duration::from_secs(5);

/// Whether a message due `at` and posted at `now` is late (the server was down or stalled).
pub fn is_late(at: UnixMillis, now: UnixMillis) -> bool {
    now - at > LATE_AFTER_MS
}

impl Collab {
    /// Runs until `shutdown`.
    pub async fn run_scheduler(self, shutdown: CancellationToken) {
        loop {
            let next = match self.post_due().await {
                Ok(next) => next,
                Err(err) => {
                    tracing::error!(%err, "scheduled messages: the database failed");
                    self.metrics.count_storage_error();
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => continue,
                        _ = shutdown.cancelled() => return,
                    }
                }
            };
            let due = async {
                match self.next_look(next) {
                    Some(at) => self.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = due => {}
                _ = self.scheduler.notified() => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Posts what is due (of the rooms this node posts for) and says when the next one is.
    async fn post_due(&self) -> Result<Option<UnixMillis>, StoreError> {
        let now = self.clock.now();
        for scheduled in self.store.due_scheduled(now).await? {
            let room = RoomName::parse(&scheduled.room);
            if let Ok(room) = room {
                if !self.registry.posts_scheduled(&room).await {
                    continue; // its home posts it
                }
            }
            self.post_scheduled(&scheduled, now).await?;
        }
        self.store.next_scheduled_at().await
    }

    /// When to look again, with `next` the next pending message's time: then, and in a cluster
    /// at least every poll (others schedule too, and what is due but left to its home's
    /// scheduler is not looked at again at once).
    fn next_look(&self, next: Option<UnixMillis>) -> Option<UnixMillis> {
        let Some(poll) = self.registry.scheduled_poll() else {
            return next;
        };
        let now = self.clock.now();
        let polled = now + i64::try_from(poll.as_millis()).unwrap_or(i64::MAX);
        Some(
            next.filter(|at| *at > now)
                .map_or(polled, |at| at.min(polled)),
        )
    }

    async fn post_scheduled(
        &self,
        scheduled: &ScheduledRecord,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        let late = is_late(scheduled.at, now);
        let Some(chat) = self.store.post_scheduled(scheduled, now, late).await? else {
            return Ok(()); // cancelled meanwhile
        };
        self.metrics.count_scheduled_posted();
        self.metrics.count_chat(chat.kind);
        let Ok(room) = RoomName::parse(&scheduled.room) else {
            tracing::warn!(
                room = scheduled.room,
                "a scheduled message of an invalid room name"
            );
            return Ok(());
        };
        tracing::info!(room = %room, id = scheduled.id, late, "scheduled message posted");
        self.announce(&room, Notice::Chat(chat), Audience::Everyone)
            .await;
        let removed = ServerMessage::ScheduledRemoved {
            id: scheduled.id,
            reason: ScheduledRemoval::Posted,
        };
        self.announce(&room, Notice::Plain(removed), Audience::Everyone)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_means_well_after_its_time() {
        let at = 1_000_000;
        assert!(!is_late(at, at));
        assert!(!is_late(at, at + LATE_AFTER_MS));
        assert!(is_late(at, at + LATE_AFTER_MS + 1));
        assert!(is_late(at, at + 3_600_000));
    }
}
