//! Scheduled messages: `pending` until the scheduler posts them (`posted`) or their author cancels
//! them (`cancelled`). Both changes are conditional on `pending`, so a cancel racing the scheduler
//! has exactly one winner.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::chat::insert_chat;
use super::{ChatRecord, NewChat, Store, StoreError};
use crate::clock::UnixMillis;
use crate::identity::AuthorKey;
use crate::protocol::ChatKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledRecord {
    pub id: i64,
    pub room: String,
    pub author_key: AuthorKey,
    pub author_name: String,
    pub text: String,
    pub at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct NewScheduled<'a> {
    pub author_key: &'a AuthorKey,
    pub author_name: &'a str,
    pub text: &'a str,
    pub at: UnixMillis,
}

const COLUMNS: &str = "id, room, author_key, author_name, text, at";

/// The most pending messages a room, and one author in it, may have at once: every newcomer
/// gets the room's whole list, so it must stay small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimits {
    pub per_room: i64,
    pub per_author: i64,
}

impl Store {
    /// Stores a pending message, unless the room or its author already has as many as `limits`
    /// allow (`None` then). The check is part of the insert, so concurrent requests cannot pass
    /// it together on SQLite, and only a few can on PostgreSQL.
    pub async fn add_scheduled(
        &self,
        room: &str,
        new: &NewScheduled<'_>,
        limits: PendingLimits,
    ) -> Result<Option<ScheduledRecord>, StoreError> {
        let sql = format!(
            "INSERT INTO scheduled_messages (room, author_key, author_name, text, at) \
             SELECT $1, $2, $3, $4, $5 \
             WHERE (SELECT COUNT(*) FROM scheduled_messages \
                    WHERE room = $1 AND status = 'pending') < $6 \
               AND (SELECT COUNT(*) FROM scheduled_messages \
                    WHERE room = $1 AND status = 'pending' AND author_key = $2) < $7 \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(room)
            .bind(new.author_key.as_str())
            .bind(new.author_name)
            .bind(new.text)
            .bind(new.at)
            .bind(limits.per_room)
            .bind(limits.per_author)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(scheduled_record).transpose()?)
    }

    /// The room's pending messages, soonest first.
    pub async fn pending_scheduled(&self, room: &str) -> Result<Vec<ScheduledRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM scheduled_messages WHERE room = $1 AND status = 'pending' \
             ORDER BY at, id"
        );
        let rows = sqlx::query(&sql).bind(room).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(scheduled_record)
            .collect::<Result<_, _>>()?)
    }

    pub async fn find_pending(
        &self,
        room: &str,
        id: i64,
    ) -> Result<Option<ScheduledRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM scheduled_messages \
             WHERE id = $1 AND room = $2 AND status = 'pending'"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(scheduled_record).transpose()?)
    }

    /// False when it was no longer pending (posted or cancelled meanwhile).
    pub async fn cancel_scheduled(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE scheduled_messages SET status = 'cancelled' \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending messages of every room due at `now`, oldest due first.
    pub async fn due_scheduled(&self, now: UnixMillis) -> Result<Vec<ScheduledRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM scheduled_messages WHERE status = 'pending' AND at <= $1 \
             ORDER BY at, id"
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(scheduled_record)
            .collect::<Result<_, _>>()?)
    }

    /// When the next pending message of any room is due.
    pub async fn next_scheduled_at(&self) -> Result<Option<UnixMillis>, StoreError> {
        let row = sqlx::query(
            "SELECT at FROM scheduled_messages WHERE status = 'pending' ORDER BY at LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.try_get("at")).transpose()?)
    }

    /// Turns a pending message into a chat message, in one transaction. `None` when it was no
    /// longer pending (its author cancelled it meanwhile).
    pub async fn post_scheduled(
        &self,
        scheduled: &ScheduledRecord,
        now: UnixMillis,
        late: bool,
    ) -> Result<Option<ChatRecord>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE scheduled_messages SET status = 'posted' WHERE id = $1 AND status = 'pending'",
        )
        .bind(scheduled.id)
        .execute(&mut *transaction)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(None);
        }
        let chat = NewChat {
            kind: ChatKind::Scheduled,
            author_key: Some(&scheduled.author_key),
            author_name: &scheduled.author_name,
            text: &scheduled.text,
            sent_at: now,
            late,
        };
        let record = insert_chat(&mut transaction, &scheduled.room, &chat).await?;
        transaction.commit().await?;
        Ok(Some(record))
    }
}

fn scheduled_record(row: &AnyRow) -> Result<ScheduledRecord, sqlx::Error> {
    Ok(ScheduledRecord {
        id: row.try_get("id")?,
        room: row.try_get("room")?,
        author_key: AuthorKey::from_stored(row.try_get("author_key")?),
        author_name: row.try_get("author_name")?,
        text: row.try_get("text")?,
        at: row.try_get("at")?,
    })
}
