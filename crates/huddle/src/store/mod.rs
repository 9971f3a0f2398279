//! What rooms keep across restarts: chat, scheduled messages, whiteboards, titles and settings, in SQLite (a
//! file in `--data-dir`) or PostgreSQL (`--database-url`), through one code path: sqlx's `Any`
//! driver and SQL both understand. Only the migrations differ (how ids are generated).
//!
//! A leaf under the rooms: it knows rooms by name and never imports signaling or http.

mod board;
mod chat;
mod fence;
mod scheduled;
mod settings;
mod title;

pub use board::BoardRecord;
pub use chat::{ChatRecord, NewChat};
pub use fence::Fences;
pub use scheduled::{NewScheduled, PendingLimits, ScheduledRecord};
pub use settings::RoomSettingsRecord;

use std::path::PathBuf;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyPool;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database file's name inside `--data-dir`.
pub const SQLITE_FILE: &str = "huddle.db";

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file in this directory, created with the directory on first run.
    DataDir(PathBuf),
    /// A `postgres://` (or `sqlite:`) URL.
    Url(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("creating the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unsupported database URL {0:?}: use postgres://... or sqlite:...")]
    UnsupportedUrl(String),
    #[error("a stored whiteboard item is not valid JSON: {0}")]
    BadItem(#[from] serde_json::Error),
    /// Cluster mode: a write of room {0} under an epoch below one its new home wrote under, or
    /// after it stopped being homed here.
    #[error("room {0} is no longer homed on this node: write refused")]
    Fenced(String),
}

/// The database, migrated. Cheap to clone (a connection pool).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// The epochs writes carry, in cluster mode.
    fences: Option<Fences>,
}

impl Store {
    /// Connects and runs the migrations this version needs.
    pub async fn open(location: &Location) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, migrator, connections) = match location {
            Location::DataDir(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                    path: dir.clone(),
                    source,
                })?;
                let file = dir.join(SQLITE_FILE);
                (format!("sqlite://{}?mode=rwc", file.display()), &SQLITE, 4)
            }
            Location::Url(url) if url.starts_with("sqlite:") => (url.clone(), &SQLITE, 4),
            Location::Url(url) if url.starts_with("postgres") => (url.clone(), &POSTGRES, 16),
            Location::Url(url) => return Err(StoreError::UnsupportedUrl(url.clone())),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .connect(&url)
            .await?;
        if std::ptr::eq(migrator, &SQLITE) {
            // Readers do not wait for the writer, and a crash loses no committed write.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        migrator.run(&pool).await?;
        Ok(Self { pool, fences: None })
    }
}
