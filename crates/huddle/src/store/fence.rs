//! Fencing, in cluster mode (docs/cluster.md): a room's home writes under the epoch its lease came
//! with, and the database refuses a write under an epoch below the highest it took for the room,
//! so a former home (paused, cut off) never overwrites its successor. The cluster says which
//! epoch each room homed here runs under ([`Fences::set`]) and learns which were refused.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError};

/// The epochs of the rooms homed on this node, shared by the cluster (which sets them) and the
/// store (which writes under them).
#[derive(Debug, Clone, Default)]
pub struct Fences {
    inner: Arc<Mutex<Book>>,
}

#[derive(Debug, Default)]
struct Book {
    epochs: HashMap<String, u64>,
    refused: HashSet<String>,
}

impl Fences {
    /// The room's writes carry `epoch` from now on.
    pub fn set(&self, room: &str, epoch: u64) {
        let mut book = self.book();
        book.epochs.insert(room.to_owned(), epoch);
        book.refused.remove(room);
    }

    /// The room is no longer homed here: its writes are refused.
    pub fn remove(&self, room: &str) {
        let mut book = self.book();
        book.epochs.remove(room);
        book.refused.remove(room);
    }

    /// Whether a write under the room's current epoch was refused: its home is elsewhere.
    pub fn was_refused(&self, room: &str) -> bool {
        self.book().refused.contains(room)
    }

    fn epoch(&self, room: &str) -> Option<u64> {
        self.book().epochs.get(room).copied()
    }

    fn refuse(&self, room: &str) {
        self.book().refused.insert(room.to_owned());
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.inner.lock().expect("never poisoned")
    }
}

impl Store {
    /// Writes of this store carry the epochs of `fences` (cluster mode).
    pub fn fenced(self, fences: Fences) -> Self {
        Self {
            fences: Some(fences),
            ..self
        }
    }

    /// The epoch the room's writes carry now: `None` on a single node, or for a room not homed
    /// here. What was read of the room under another is stale.
    pub fn home_epoch(&self, room: &str) -> Option<u64> {
        self.fences.as_ref().and_then(|fences| fences.epoch(room))
    }

    /// The highest epoch a home of the room wrote under: a new home's must be above it.
    pub async fn epoch_floor(&self, room: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT epoch FROM room_epochs WHERE room = $1")
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        let epoch = row.map_or(0, |row| row.get::<i64, _>("epoch"));
        Ok(u64::try_from(epoch).unwrap_or(0))
    }

    /// A transaction for a write only the room's home may make, made under `tenure` (the room's
    /// [`Store::home_epoch`] when the change was accepted). In cluster mode it first raises the
    /// room's epoch to that, or finds it higher and refuses with [`StoreError::Fenced`].
    pub(super) async fn begin_home_write(
        &self,
        room: &str,
        tenure: Option<u64>,
    ) -> Result<Transaction<'static, Any>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let Some(fences) = &self.fences else {
            return Ok(transaction);
        };
        let Some(epoch) = tenure else {
            return Err(StoreError::Fenced(room.to_owned()));
        };
        let epoch = i64::try_from(epoch).unwrap_or(i64::MAX);
        let raised = sqlx::query(
            "INSERT INTO room_epochs (room, epoch) VALUES ($1, $2) \
             ON CONFLICT (room) DO UPDATE SET epoch = excluded.epoch \
             WHERE room_epochs.epoch <= excluded.epoch",
        )
        .bind(room)
        .bind(epoch)
        .execute(&mut *transaction)
        .await?;
        if raised.rows_affected() == 0 {
            // Only a refusal of the current tenure's write says another node is the home now;
            // an earlier tenure's change stored late is refused and that is all.
            if fences.epoch(room) == tenure {
                fences.refuse(room);
            }
            return Err(StoreError::Fenced(room.to_owned()));
        }
        Ok(transaction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BoardRecord, Location};

    #[tokio::test]
    async fn a_write_under_an_epoch_below_the_highest_written_is_refused() {
        let dir = std::env::temp_dir().join(format!("huddle-fence-{}", std::process::id()));
        let location = Location::DataDir(dir.clone());
        let fences = Fences::default();
        let store = Store::open(&location).await.unwrap().fenced(fences.clone());
        assert!(matches!(
            store.set_title("r", Some("not homed here")).await,
            Err(StoreError::Fenced(_))
        ));
        fences.set("r", 2);
        store.set_title("r", Some("second home")).await.unwrap();
        assert_eq!(store.epoch_floor("r").await.unwrap(), 2);
        // A change accepted under this node's earlier tenure, stored late, never lands; the
        // current tenure is not the worse for it.
        let late = store
            .insert_item("r", Some(1), &BoardRecord::dot("late"))
            .await;
        assert!(matches!(late, Err(StoreError::Fenced(_))));
        assert!(store.board("r").await.unwrap().is_empty());
        assert!(!fences.was_refused("r"));

        // Another node became the home and wrote: this one's next write is refused and noted.
        let successor = Fences::default();
        successor.set("r", 3);
        let elsewhere = Store::open(&location).await.unwrap().fenced(successor);
        elsewhere
            .insert_item("r", Some(3), &BoardRecord::dot("new"))
            .await
            .unwrap();
        assert!(matches!(
            store.set_title("r", Some("stale")).await,
            Err(StoreError::Fenced(_))
        ));
        assert!(fences.was_refused("r"));
        assert_eq!(store.epoch_floor("r").await.unwrap(), 3);
        assert_eq!(
            store.title("r").await.unwrap().as_deref(),
            Some("second home")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
