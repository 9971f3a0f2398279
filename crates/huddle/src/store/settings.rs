//! Room settings that outlive a meeting: the password, the lobby and whether viewers chat
//! (crate::access decides what they mean).

use sqlx::Row;

use super::{Store, StoreError};

/// What a room keeps between meetings. A room without a record has the defaults (no password,
/// no lobby). The lock and bans belong to one meeting and are not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomSettingsRecord {
    /// argon2 PHC string of the room's password.
    pub password_hash: Option<String>,
    /// Newcomers wait in the lobby until a host admits them.
    pub lobby: bool,
    /// Viewers may write in the chat.
    pub viewers_chat: bool,
}

impl Store {
    pub async fn room_settings(
        &self,
        room: &str,
    ) -> Result<Option<RoomSettingsRecord>, StoreError> {
        let row =
            sqlx::query("SELECT password_hash, lobby, viewers_chat FROM rooms WHERE name = $1")
                .bind(room)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|row| RoomSettingsRecord {
            password_hash: row.get("password_hash"),
            lobby: row.get::<i64, _>("lobby") != 0,
            viewers_chat: row.get::<i64, _>("viewers_chat") != 0,
        }))
    }

    pub async fn set_room_settings(
        &self,
        room: &str,
        settings: &RoomSettingsRecord,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_home_write(room, self.home_epoch(room)).await?;
        sqlx::query(
            "INSERT INTO rooms (name, password_hash, lobby, viewers_chat) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, \
             lobby = excluded.lobby, viewers_chat = excluded.viewers_chat",
        )
        .bind(room)
        .bind(settings.password_hash.as_deref())
        .bind(i64::from(settings.lobby))
        .bind(i64::from(settings.viewers_chat))
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }
}
