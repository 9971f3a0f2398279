//! Room settings that outlive a meeting, behind a narrow trait: the database (crate::store) keeps
//! them; tests use [`MemorySettingsStore`].

use async_trait::async_trait;

use crate::rooms::RoomName;

pub use crate::store::RoomSettingsRecord as StoredRoomSettings;

#[derive(Debug, thiserror::Error)]
#[error("room settings storage failed: {0}")]
pub struct SettingsError(pub String);

#[async_trait]
pub trait RoomSettingsStore: Send + Sync {
    async fn load(&self, room: &RoomName) -> Result<Option<StoredRoomSettings>, SettingsError>;
    async fn save(
        &self,
        room: &RoomName,
        settings: &StoredRoomSettings,
    ) -> Result<(), SettingsError>;
}

/// Settings in this process only: the test double of the database.
#[cfg(test)]
#[derive(Default)]
pub struct MemorySettingsStore {
    rooms: std::sync::Mutex<std::collections::HashMap<RoomName, StoredRoomSettings>>,
}

#[cfg(test)]
impl MemorySettingsStore {
    fn rooms(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<RoomName, StoredRoomSettings>> {
        self.rooms
            .lock()
            .expect("no panic while holding the settings lock")
    }
}

#[cfg(test)]
#[async_trait]
impl RoomSettingsStore for MemorySettingsStore {
    async fn load(&self, room: &RoomName) -> Result<Option<StoredRoomSettings>, SettingsError> {
        Ok(self.rooms().get(room).cloned())
    }

    async fn save(
        &self,
        room: &RoomName,
        settings: &StoredRoomSettings,
    ) -> Result<(), SettingsError> {
        self.rooms().insert(room.clone(), settings.clone());
        Ok(())
    }
}

#[async_trait]
impl RoomSettingsStore for crate::store::Store {
    async fn load(&self, room: &RoomName) -> Result<Option<StoredRoomSettings>, SettingsError> {
        let name = room.to_string();
        self.room_settings(&name)
            .await
            .map_err(|err| SettingsError(err.to_string()))
    }

    async fn save(
        &self,
        room: &RoomName,
        settings: &StoredRoomSettings,
    ) -> Result<(), SettingsError> {
        let name = room.to_string();
        self.set_room_settings(&name, settings)
            .await
            .map_err(|err| SettingsError(err.to_string()))
    }
}
