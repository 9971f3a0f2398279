//! Room settings that outlive a meeting, behind a narrow trait so that the database of the
//! storage layer can keep them; [`MemorySettingsStore`] keeps them in this process.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::rooms::RoomName;

/// What a room keeps between meetings. A room without a record has the defaults (no password,
/// no lobby). The lock and bans belong to one meeting and are not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRoomSettings {
    /// argon2 PHC string of the room's password.
    pub password_hash: Option<String>,
    /// Newcomers wait in the lobby until a host admits them.
    pub lobby: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("room settings storage failed: {0}")]
pub struct StoreError(pub String);

#[async_trait]
pub trait RoomSettingsStore: Send + Sync {
    async fn load(&self, room: &RoomName) -> Result<Option<StoredRoomSettings>, StoreError>;
    async fn save(&self, room: &RoomName, settings: &StoredRoomSettings) -> Result<(), StoreError>;
}

#[derive(Default)]
pub struct MemorySettingsStore {
    rooms: Mutex<HashMap<RoomName, StoredRoomSettings>>,
}

impl MemorySettingsStore {
    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomName, StoredRoomSettings>> {
        self.rooms
            .lock()
            .expect("no panic while holding the settings lock")
    }
}

#[async_trait]
impl RoomSettingsStore for MemorySettingsStore {
    async fn load(&self, room: &RoomName) -> Result<Option<StoredRoomSettings>, StoreError> {
        Ok(self.rooms().get(room).cloned())
    }

    async fn save(&self, room: &RoomName, settings: &StoredRoomSettings) -> Result<(), StoreError> {
        self.rooms().insert(room.clone(), settings.clone());
        Ok(())
    }
}
