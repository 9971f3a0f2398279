//! The rooms' whiteboards, kept in memory while in use and written behind to the database.
//!
//! Strokes grow many times a second, so their growth never waits for the database: it is applied to
//! the board in memory, announced, and queued for the room's writer task, which stores batches in
//! order, each stroke's new points as one row (a stroke extended ten times in a batch is stored
//! once, and only with what it gained). A new item is different: it is announced only once its
//! writer has stored it, so that nobody sees an item a crash could lose. A board nobody touched
//! for [`IDLE`] is dropped from memory once its writer has stored everything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Mutex as AsyncMutex, OnceCell, OwnedMutexGuard};
use tokio_util::task::TaskTracker;

use super::board::Board;
use crate::metrics::Metrics;
use crate::protocol::Point;
use crate::rooms::RoomName;
use crate::store::{BoardRecord, Store, StoreError};

/// How long an untouched board stays in memory.
const IDLE: Duration = Duration::from_secs(300);
/// Most writes stored in one batch.
const BATCH: usize = 256;

/// A change to store, in the order it happened.
#[derive(Debug)]
enum BoardWrite {
    Insert(BoardRecord),
    /// Points a stroke gained.
    Append {
        id: String,
        points: Vec<Point>,
    },
    Delete(String),
    Clear,
}

impl BoardWrite {
    /// The item this change is about; `None` for a clear, which is about them all.
    fn item(&self) -> Option<&str> {
        match self {
            Self::Insert(record) => Some(&record.item.id),
            Self::Append { id, .. } | Self::Delete(id) => Some(id),
            Self::Clear => None,
        }
    }

    /// Whether storing `later` makes storing `self` useless.
    fn superseded_by(&self, later: &BoardWrite) -> bool {
        match (self, later) {
            (Self::Insert(_) | Self::Append { .. }, Self::Clear) => true,
            (Self::Insert(_) | Self::Append { .. }, Self::Delete(id)) => self.item() == Some(id),
            _ => false,
        }
    }

    /// Takes `points` a stroke gained after this change, when it is the stroke's last one.
    fn absorb(&mut self, gained: &str, points: &[Point]) -> bool {
        match self {
            Self::Insert(record) if record.item.id == gained => {
                record.item.points.extend_from_slice(points);
                true
            }
            Self::Append { id, points: mine } if id == gained => {
                mine.extend_from_slice(points);
                true
            }
            _ => false,
        }
    }
}

/// The fewest writes that store `batch`: each stroke's growth joined to the change before it
/// about the same stroke, and changes that later ones undo left out.
fn compact(batch: Vec<BoardWrite>) -> Vec<BoardWrite> {
    let mut writes: Vec<BoardWrite> = Vec::with_capacity(batch.len());
    for write in batch {
        if let BoardWrite::Append { id, points } = &write {
            let last = writes
                .iter_mut()
                .rev()
                .find(|earlier| earlier.item().is_none_or(|item| item == id));
            if last.is_some_and(|last| last.absorb(id, points)) {
                continue;
            }
        }
        writes.push(write);
    }
    let superseded: Vec<bool> = (0..writes.len())
        .map(|i| {
            writes[i + 1..]
                .iter()
                .any(|later| writes[i].superseded_by(later))
        })
        .collect();
    writes
        .into_iter()
        .zip(superseded)
        .filter_map(|(write, superseded)| (!superseded).then_some(write))
        .collect()
}

/// A change on its way to the writer, and who waits until it is stored.
struct Queued {
    /// `None`: nothing to store, only to hear once everything queued before is stored.
    write: Option<BoardWrite>,
    stored: Option<oneshot::Sender<Result<(), NotStored>>>,
}

/// The database refused a change (the writer logged and counted why), or the writer is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotStored;

/// A board in use and the queue of its writer.
pub struct LiveBoard {
    pub board: Board,
    writes: mpsc::UnboundedSender<Queued>,
    last_used: Instant,
    /// Dropped from memory: whoever still holds it takes the board again.
    evicted: bool,
    /// The room's fencing epoch when it was loaded (cluster mode).
    epoch: Option<u64>,
}

impl LiveBoard {
    /// Stores a new item; resolves once it is stored (or could not be).
    pub async fn insert(&self, record: BoardRecord) -> Result<(), NotStored> {
        let (stored, done) = oneshot::channel();
        self.queue(Some(BoardWrite::Insert(record)), Some(stored));
        done.await.unwrap_or(Err(NotStored))
    }

    pub fn append(&self, id: String, points: Vec<Point>) {
        self.queue(Some(BoardWrite::Append { id, points }), None);
    }

    pub fn delete(&self, id: String) {
        self.queue(Some(BoardWrite::Delete(id)), None);
    }

    pub fn clear(&mut self) {
        self.board.clear();
        self.queue(Some(BoardWrite::Clear), None);
    }

    /// Resolves once every change queued so far is stored (or could not be).
    async fn stored(&self) {
        let (stored, done) = oneshot::channel();
        self.queue(None, Some(stored));
        let _ = done.await;
    }

    fn queue(
        &self,
        write: Option<BoardWrite>,
        stored: Option<oneshot::Sender<Result<(), NotStored>>>,
    ) {
        // The writer only stops after eviction, and evicted boards are never handed out.
        let _ = self.writes.send(Queued { write, stored });
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

    /// Returns once every change of the room's board accepted so far is stored: a draining
    /// cluster node hands the room's lease over only then.
    pub async fn stored(&self, room: &RoomName) {
        let slot = self
            .live
            .lock()
            .expect("no panic while holding the boards lock")
            .get(room)
            .cloned();
        let Some(board) = slot.as_ref().and_then(|slot| slot.get()) else {
            return;
        };
        board.lock().await.stored().await;
    }

    /// The room's board, loaded from the database on first use, locked for one change.
    pub async fn lock(&self, room: &RoomName) -> Result<OwnedMutexGuard<LiveBoard>, StoreError> {
        loop {
            let slot = self.slot(room);
            let board = slot.get_or_try_init(|| self.load(room)).await?;
            let mut live = board.clone().lock_owned().await;
            if !live.evicted && live.epoch != self.store.home_epoch(room.as_str()) {
                // In a cluster, the room was homed elsewhere since: what memory holds is stale.
                live.evicted = true;
                self.forget(room, &slot);
            }
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

    fn forget(&self, room: &RoomName, slot: &Slot) {
        let mut live = self
            .live
            .lock()
            .expect("no panic while holding the boards lock");
        if live.get(room).is_some_and(|held| Arc::ptr_eq(held, slot)) {
            live.remove(room);
        }
    }

    async fn load(&self, room: &RoomName) -> Result<Arc<AsyncMutex<LiveBoard>>, StoreError> {
        let epoch = self.store.home_epoch(room.as_str());
        let records = self.store.board(room.as_str()).await?;
        let (writes, queue) = mpsc::unbounded_channel();
        self.writers
            .spawn(self.clone().write_behind(room.clone(), epoch, queue));
        Ok(Arc::new(AsyncMutex::new(LiveBoard {
            board: Board::new(records),
            writes,
            last_used: Instant::now(),
            evicted: false,
            epoch,
        })))
    }

    /// The room's writer: stores changes in order until the board is evicted, under the epoch
    /// the board was loaded under (cluster mode): a change stored late never passes for one of a
    /// later tenure.
    async fn write_behind(
        self,
        room: RoomName,
        epoch: Option<u64>,
        mut queue: mpsc::UnboundedReceiver<Queued>,
    ) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            match tokio::time::timeout(IDLE, queue.recv_many(&mut batch, BATCH)).await {
                Ok(0) => return,
                Ok(_) => self.store_batch(&room, epoch, &mut batch).await,
                Err(_idle) if self.evict_if_idle(&room) => return,
                Err(_busy) => {}
            }
        }
    }

    /// Stores a batch, then tells whoever waits for one of its changes how it went.
    async fn store_batch(&self, room: &RoomName, epoch: Option<u64>, batch: &mut Vec<Queued>) {
        let (writes, waiting): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|queued| (queued.write, queued.stored))
            .unzip();
        let mut outcome = Ok(());
        for write in compact(writes.into_iter().flatten().collect()) {
            let (store, room) = (&self.store, room.as_str());
            let stored = match &write {
                BoardWrite::Insert(record) => store.insert_item(room, epoch, record).await,
                BoardWrite::Append { id, points } => {
                    store.append_points(room, epoch, id, points).await
                }
                BoardWrite::Delete(id) => store.delete_item(room, epoch, id).await,
                BoardWrite::Clear => store.clear_board(room, epoch).await,
            };
            if let Err(err) = stored {
                // The board in memory keeps the change until the board is dropped from memory.
                tracing::error!(room = %room, %err, "storing the whiteboard failed");
                self.metrics.count_storage_error();
                outcome = Err(NotStored);
            }
        }
        for stored in waiting.into_iter().flatten() {
            let _ = stored.send(outcome);
        }
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

    fn insert(id: &str) -> BoardWrite {
        BoardWrite::Insert(BoardRecord::dot(id))
    }

    fn append(id: &str, x: f64) -> BoardWrite {
        BoardWrite::Append {
            id: id.into(),
            points: vec![[x, x]],
        }
    }

    /// What `writes` store, written as short strings to compare.
    fn shown(writes: &[BoardWrite]) -> Vec<String> {
        writes
            .iter()
            .map(|write| match write {
                BoardWrite::Insert(record) => {
                    format!("insert {} {:?}", record.item.id, record.item.points)
                }
                BoardWrite::Append { id, points } => format!("append {id} {points:?}"),
                BoardWrite::Delete(id) => format!("delete {id}"),
                BoardWrite::Clear => "clear".into(),
            })
            .collect()
    }

    #[test]
    fn a_stroke_grown_in_one_batch_is_stored_once_with_what_it_gained() {
        let batch = vec![
            append("a", 1.0),
            append("b", 5.0),
            append("a", 2.0),
            insert("c"),
            append("c", 3.0),
        ];
        assert_eq!(
            shown(&compact(batch)),
            [
                "append a [[1.0, 1.0], [2.0, 2.0]]",
                "append b [[5.0, 5.0]]",
                "insert c [[0.0, 0.0], [3.0, 3.0]]",
            ]
        );
    }

    #[test]
    fn growth_is_not_joined_across_a_delete_or_a_clear() {
        let batch = vec![append("a", 1.0), BoardWrite::Clear, append("a", 2.0)];
        assert_eq!(shown(&compact(batch)), ["clear", "append a [[2.0, 2.0]]"]);
        let batch = vec![insert("a"), BoardWrite::Delete("a".into()), insert("a")];
        assert_eq!(
            shown(&compact(batch)),
            ["delete a", "insert a [[0.0, 0.0]]"]
        );
    }
}
