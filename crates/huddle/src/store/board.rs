//! Whiteboard items, one row each, the item itself as JSON.

use sqlx::Row;

use super::{Store, StoreError};
use crate::identity::AuthorKey;
use crate::protocol::WhiteboardItem;

/// A whiteboard item as stored: who drew it and where it is in drawing order.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRecord {
    pub author_key: AuthorKey,
    pub order: i64,
    pub item: WhiteboardItem,
}

impl Store {
    /// The room's items in drawing order.
    pub async fn board(&self, room: &str) -> Result<Vec<BoardRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT author_key, ord, item FROM whiteboard_items WHERE room = $1 ORDER BY ord",
        )
        .bind(room)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let item: String = row.try_get("item")?;
                Ok(BoardRecord {
                    author_key: AuthorKey::from_stored(row.try_get("author_key")?),
                    order: row.try_get("ord")?,
                    item: serde_json::from_str(&item)?,
                })
            })
            .collect()
    }

    /// Inserts the item or replaces the stored one (a stroke that grew).
    pub async fn save_item(&self, room: &str, record: &BoardRecord) -> Result<(), StoreError> {
        let item = serde_json::to_string(&record.item)?;
        sqlx::query(
            "INSERT INTO whiteboard_items (room, item_id, author_key, item, ord) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (room, item_id) DO UPDATE SET item = excluded.item",
        )
        .bind(room)
        .bind(record.item.id.as_str())
        .bind(record.author_key.as_str())
        .bind(item)
        .bind(record.order)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_item(&self, room: &str, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM whiteboard_items WHERE room = $1 AND item_id = $2")
            .bind(room)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn clear_board(&self, room: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM whiteboard_items WHERE room = $1")
            .bind(room)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
