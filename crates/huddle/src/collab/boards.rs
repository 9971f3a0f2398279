//! The rooms' whiteboards, kept in memory while in use and written behind to the database.
//!
//! Strokes grow many times a second, so a change never waits for the database: it is applied to the
//! board in memory, announced, and queued for the room's writer task, which stores batches in order
//! (a stroke extended ten times in a batch is saved once). A board nobody touched for
//! [`IDLE`] is dropped from memory once its writer has stored everything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Mutex as AsyncMutex, OnceCell, OwnedMutexGuard};
use tokio_util::task::TaskTracker;

use super::board::Board;
use crate::metrics::Metrics;
use crate::rooms::RoomName;
use crate::store::{BoardRecord, Store, StoreError};

/// How long an untouched board stays in memory.
const IDLE: Duration = Duration::from_secs(300);
/// Most writes stored in one batch.
const BATCH: usize = 256;

/// A change to store, in the order it happened.
#[derive(Debug)]
enum BoardWrite {
    Save(BoardRecord),
    Delete(String),
    Clear,
}

impl BoardWrite {
    /// Whether storing `later` makes storing `self` useless.
    fn superseded_by(&self, later: &BoardWrite) -> bool {
        match (self, later) {
            (Self::Save(record), Self::Save(newer)) => record.item.id == newer.item.id,
            (Self::Save(record), Self::Delete(id)) => &record.item.id == id,
            (Self::Save(_), Self::Clear) => true,
            _ => false,
        }
    }
}

/// A board in use and the queue of its writer.
pub struct LiveBoard {
    pub board: Board,
    writes: mpsc::UnboundedSender<BoardWrite>,
    last_used: Instant,
    /// Dropped from memory: whoever still holds it takes the board again.
    evicted: bool,
}

impl LiveBoard {
    pub fn save(&self, record: BoardRecord) {
        self.queue(BoardWrite::Save(record));
    }

    pub fn delete(&self, id: String) {
        self.queue(BoardWrite::Delete(id));
    }

    pub fn clear(&mut self) {
        self.board.clear();
        self.queue(BoardWrite::Clear);
    }

    fn queue(&self, write: BoardWrite) {
        // The writer only stops after eviction, and evicted boards are never handed out.
        let _ = self.writes.send(write);
    }
}

type Slot = Arc<OnceCell<Arc<AsyncMutex<LiveBoard>>>>;

/// The whiteboards of the rooms in use.
#[derive(Clone)]
pub struct Boards {
    live: Arc<Mutex<HashMap<RoomName, Slot>>>,
    store: Store,
    metrics: Arc<Metrics>,
    /// The writers, so that shutdown waits until every change is stored.
    writers: TaskTracker,
}

impl Boards {
    pub fn new(store: Store, metrics: Arc<Metrics>) -> Self {
        Self {
            live: Arc::default(),
            store,
            metrics,
            writers: TaskTracker::new(),
        }
    }

    /// At shutdown, once no session is left: drops every board, and returns when their writers
    /// have stored everything.
    pub async fn flush(&self) {
        self.live
            .lock()
            .expect("no panic while holding the boards lock")
            .clear();
        self.writers.close();
        self.writers.wait().await;
    }

    /// The room's board, loaded from the database on first use, locked for one change.
    pub async fn lock(&self, room: &RoomName) -> Result<OwnedMutexGuard<LiveBoard>, StoreError> {
        loop {
            let slot = self.slot(room);
            let board = slot.get_or_try_init(|| self.load(room)).await?;
            let mut live = board.clone().lock_owned().await;
            if !live.evicted {
                live.last_used = Instant::now();
                return Ok(live);
            }
        }
    }

    fn slot(&self, room: &RoomName) -> Slot {
        let mut live = self
            .live
            .lock()
            .expect("no panic while holding the boards lock");
        live.entry(room.clone()).or_default().clone()
    }

    async fn load(&self, room: &RoomName) -> Result<Arc<AsyncMutex<LiveBoard>>, StoreError> {
        let records = self.store.board(room.as_str()).await?;
        let (writes, queue) = mpsc::unbounded_channel();
        self.writers
            .spawn(self.clone().write_behind(room.clone(), queue));
        Ok(Arc::new(AsyncMutex::new(LiveBoard {
            board: Board::new(records),
            writes,
            last_used: Instant::now(),
            evicted: false,
        })))
    }

    /// The room's writer: stores changes in order until the board is evicted.
    async fn write_behind(self, room: RoomName, mut queue: mpsc::UnboundedReceiver<BoardWrite>) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            match tokio::time::timeout(IDLE, queue.recv_many(&mut batch, BATCH)).await {
                Ok(0) => return,
                Ok(_) => self.store_batch(&room, &mut batch).await,
                Err(_idle) if self.evict_if_idle(&room) => return,
                Err(_busy) => {}
            }
        }
    }

    async fn store_batch(&self, room: &RoomName, batch: &mut Vec<BoardWrite>) {
        for (index, write) in batch.iter().enumerate() {
            if batch[index + 1..]
                .iter()
                .any(|later| write.superseded_by(later))
            {
                continue;
            }
            let stored = match write {
                BoardWrite::Save(record) => self.store.save_item(room.as_str(), record).await,
                BoardWrite::Delete(id) => self.store.delete_item(room.as_str(), id).await,
                BoardWrite::Clear => self.store.clear_board(room.as_str()).await,
            };
            if let Err(err) = stored {
                // The board in memory still has the change; the next save of the item retries it.
                tracing::error!(room = %room, %err, "storing the whiteboard failed");
                self.metrics.count_storage_error();
            }
        }
        batch.clear();
    }

    /// Drops the board from memory if nobody used it for [`IDLE`]. Called by its writer with an
    /// empty queue, so everything is stored and the next user loads it whole.
    fn evict_if_idle(&self, room: &RoomName) -> bool {
        let mut live = self
            .live
            .lock()
            .expect("no panic while holding the boards lock");
        let Some(board) = live.get(room).and_then(|slot| slot.get()) else {
            return true;
        };
        let Ok(mut board) = board.try_lock() else {
            return false;
        };
        if board.last_used.elapsed() < IDLE {
            return false;
        }
        board.evicted = true;
        drop(board);
        live.remove(room);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AuthorKey;
    use crate::protocol::{ShapeKind, WhiteboardItem};

    fn save(id: &str) -> BoardWrite {
        BoardWrite::Save(BoardRecord {
            author_key: AuthorKey::random(),
            order: 0,
            item: WhiteboardItem {
                id: id.into(),
                kind: ShapeKind::Pen,
                color: "#000000".into(),
                width: 1.0,
                points: vec![[0.0, 0.0]],
                text: None,
                mine: false,
            },
        })
    }

    #[test]
    fn later_writes_supersede_earlier_saves_of_the_same_item() {
        assert!(save("a").superseded_by(&save("a")));
        assert!(!save("a").superseded_by(&save("b")));
        assert!(save("a").superseded_by(&BoardWrite::Delete("a".into())));
        assert!(save("a").superseded_by(&BoardWrite::Clear));
        assert!(!BoardWrite::Clear.superseded_by(&save("a")));
        assert!(!BoardWrite::Delete("a".into()).superseded_by(&save("a")));
    }
}
