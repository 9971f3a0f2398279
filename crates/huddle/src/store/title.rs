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
        let mut transaction = self.begin_home_write(room, self.home_epoch(room)).await?;
        sqlx::query(
            "INSERT INTO rooms (name, title) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET title = excluded.title",
        )
        .bind(room)
        .bind(title)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }
}
