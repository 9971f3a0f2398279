//! Who may join, and as what: signed join tokens, room passwords, each room's entrance (lock,
//! lobby, bans), the settings rooms keep between meetings, and abuse limits. No I/O beyond the
//! secret kept in the data directory; signaling asks, this decides.

mod entrance;
mod limits;
mod password;
mod store;
mod token;

pub use entrance::{Entrances, Entry, Identity, PasswordChangeError, Refusal, Visitor};
pub use limits::{ConnectionCounter, ConnectionSlot, IpBuckets, KindLimits, KindRate};
pub use password::{hash_password, PasswordError, MAX_PASSWORD_BYTES};
#[cfg(test)]
pub use store::MemorySettingsStore;
pub use store::{RoomSettingsStore, SettingsError, StoredRoomSettings};
pub use token::{parse_ttl, JoinClaims, JoinTokens, TokenError};

use std::io::Write;
use std::path::Path;

use crate::protocol::ErrorCode;

/// What signaling consults on every connection and `join`.
pub struct Access {
    pub tokens: JoinTokens,
    /// Only token holders get in.
    pub require_token: bool,
    pub entrances: Entrances,
    /// `join`s per client address per minute.
    pub joins: IpBuckets,
    pub connections: ConnectionCounter,
    /// Per-participant rates of the kinds people type or draw.
    pub kind_rates: Vec<KindRate>,
    /// Origins whose pages may open the WebSocket; empty: the request's own host only.
    pub allowed_origins: Vec<String>,
    /// Bearer key of the token API; `None` turns the API off.
    pub api_key: Option<String>,
}

impl TokenError {
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Expired => ErrorCode::TokenExpired,
            Self::Invalid => ErrorCode::TokenInvalid,
            Self::WrongRoom => ErrorCode::TokenWrongRoom,
        }
    }
}

/// Writes a secret readable by this user only, creating its directory.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}
