//! Chat messages, kept per room in the order they were sent.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreError};
use crate::clock::UnixMillis;
use crate::identity::AuthorKey;
use crate::protocol::ChatKind;

/// A chat message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRecord {
    pub id: i64,
    pub kind: ChatKind,
    /// None for the bot.
    pub author_key: Option<AuthorKey>,
    pub author_name: String,
    pub text: String,
    pub sent_at: UnixMillis,
    pub late: bool,
}

/// A chat message to store; the database gives it its id.
#[derive(Debug, Clone)]
pub struct NewChat<'a> {
    pub kind: ChatKind,
    pub author_key: Option<&'a AuthorKey>,
    pub author_name: &'a str,
    pub text: &'a str,
    pub sent_at: UnixMillis,
    pub late: bool,
}

const COLUMNS: &str = "id, kind, author_key, author_name, text, sent_at, late";

impl Store {
    pub async fn add_chat(&self, room: &str, chat: &NewChat<'_>) -> Result<ChatRecord, StoreError> {
        let mut connection = self.pool.acquire().await?;
        insert_chat(&mut connection, room, chat).await
    }

    /// Up to `limit` messages sent before message `before` (all when `None`), oldest first, and
    /// whether there are older ones still.
    pub async fn chat_before(
        &self,
        room: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<ChatRecord>, bool), StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM chat_messages WHERE room = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(room)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let has_more = rows.len() > limit as usize;
        let mut messages: Vec<ChatRecord> = rows
            .iter()
            .take(limit as usize)
            .map(chat_record)
            .collect::<Result<_, _>>()?;
        messages.reverse();
        Ok((messages, has_more))
    }
}

/// Inserts on any connection, so that posting a scheduled message can do it in its transaction.
pub(super) async fn insert_chat(
    connection: &mut sqlx::AnyConnection,
    room: &str,
    chat: &NewChat<'_>,
) -> Result<ChatRecord, StoreError> {
    let sql = format!(
        "INSERT INTO chat_messages (room, kind, author_key, author_name, text, sent_at, late) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(room)
        .bind(chat.kind.as_str())
        .bind(chat.author_key.map(|key| key.as_str().to_owned()))
        .bind(chat.author_name)
        .bind(chat.text)
        .bind(chat.sent_at)
        .bind(i64::from(chat.late))
        .fetch_one(connection)
        .await?;
    Ok(chat_record(&row)?)
}

fn chat_record(row: &AnyRow) -> Result<ChatRecord, sqlx::Error> {
    let kind = match row.try_get::<String, _>("kind")?.as_str() {
        "scheduled" => ChatKind::Scheduled,
        "bot" => ChatKind::Bot,
        _ => ChatKind::User,
    };
    Ok(ChatRecord {
        id: row.try_get("id")?,
        kind,
        author_key: row
            .try_get::<Option<String>, _>("author_key")?
            .map(AuthorKey::from_stored),
        author_name: row.try_get("author_name")?,
        text: row.try_get("text")?,
        sent_at: row.try_get("sent_at")?,
        late: row.try_get::<i64, _>("late")? != 0,
    })
}
