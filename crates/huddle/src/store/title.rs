//! Room titles.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    pub async fn title(&self, room: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT title FROM rooms WHERE name = $1")
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|row| row.get::<Option<String>, _>("title")))
    }

    /// `None` clears the title.
    pub async fn set_title(&self, room: &str, title: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rooms (name, title) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET title = excluded.title",
        )
        .bind(room)
        .bind(title)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
