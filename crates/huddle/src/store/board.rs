//! Whiteboard items, one row each with the item itself as JSON, and the points strokes gained
//! afterwards, one row per stored extension: a growing stroke costs what it grew, not itself again.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};
use crate::identity::AuthorKey;
use crate::protocol::{Point, WhiteboardItem};

/// A whiteboard item as stored: who drew it and where it is in drawing order.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRecord {
    pub author_key: AuthorKey,
    pub order: i64,
    pub item: WhiteboardItem,
}

#[cfg(test)]
impl BoardRecord {
    /// A one-point black pen stroke by somebody, first in order: for tests.
    pub fn dot(id: &str) -> Self {
        BoardRecord {
            author_key: AuthorKey::random(),
            order: 0,
            item: WhiteboardItem {
                id: id.into(),
                kind: crate::protocol::ShapeKind::Pen,
                color: "#000000".into(),
                width: 1.0,
                points: vec![[0.0, 0.0]],
                text: None,
                mine: false,
            },
        }
    }
}

impl Store {
    /// The room's items in drawing order, strokes with every point they gained.
    pub async fn board(&self, room: &str) -> Result<Vec<BoardRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT author_key, ord, item FROM whiteboard_items WHERE room = $1 ORDER BY ord",
        )
        .bind(room)
        .fetch_all(&self.pool)
        .await?;
        let mut records = rows
            .iter()
            .map(|row| {
                let item: String = row.try_get("item")?;
                Ok(BoardRecord {
                    author_key: AuthorKey::from_stored(row.try_get("author_key")?),
                    order: row.try_get("ord")?,
                    item: serde_json::from_str(&item)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let by_id: HashMap<String, usize> = records
            .iter()
            .enumerate()
            .map(|(index, record)| (record.item.id.clone(), index))
            .collect();
        let gained = sqlx::query(
            "SELECT item_id, points FROM whiteboard_points WHERE room = $1 ORDER BY id",
        )
        .bind(room)
        .fetch_all(&self.pool)
        .await?;
        for row in &gained {
            let id: String = row.try_get("item_id")?;
            let points: String = row.try_get("points")?;
            if let Some(&index) = by_id.get(&id) {
                let points: Vec<Point> = serde_json::from_str(&points)?;
                records[index].item.points.extend(points);
            }
        }
        Ok(records)
    }

    /// Stores a new item (again: a retry changes nothing). Each change of a board is stored
    /// under the `tenure` it was made under (see [`Store::home_epoch`]).
    pub async fn insert_item(
        &self,
        room: &str,
        tenure: Option<u64>,
        record: &BoardRecord,
    ) -> Result<(), StoreError> {
        let item = serde_json::to_string(&record.item)?;
        let mut transaction = self.begin_home_write(room, tenure).await?;
        sqlx::query(
            "INSERT INTO whiteboard_items (room, item_id, author_key, item, ord) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room, item_id) DO NOTHING",
        )
        .bind(room)
        .bind(record.item.id.as_str())
        .bind(record.author_key.as_str())
        .bind(item)
        .bind(record.order)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Stores points a stroke gained, after those it had.
    pub async fn append_points(
        &self,
        room: &str,
        tenure: Option<u64>,
        id: &str,
        points: &[Point],
    ) -> Result<(), StoreError> {
        let points = serde_json::to_string(points)?;
        let mut transaction = self.begin_home_write(room, tenure).await?;
        sqlx::query("INSERT INTO whiteboard_points (room, item_id, points) VALUES ($1, $2, $3)")
            .bind(room)
            .bind(id)
            .bind(points)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Deletes an item with its points, together (a new item may reuse the id).
    pub async fn delete_item(
        &self,
        room: &str,
        tenure: Option<u64>,
        id: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_home_write(room, tenure).await?;
        for table in ["whiteboard_points", "whiteboard_items"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE room = $1 AND item_id = $2"
            ))
            .bind(room)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    pub async fn clear_board(&self, room: &str, tenure: Option<u64>) -> Result<(), StoreError> {
        let mut transaction = self.begin_home_write(room, tenure).await?;
        for table in ["whiteboard_points", "whiteboard_items"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE room = $1"))
                .bind(room)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}
