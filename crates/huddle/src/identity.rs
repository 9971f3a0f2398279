//! Who wrote something, across reloads: the browser keeps a secret `identity` and the server keeps
//! only its hash, the author key, next to what that person made.

use sha2::{Digest, Sha256};

/// Shortest and longest `join.identity` accepted.
pub const IDENTITY_CHARS: std::ops::RangeInclusive<usize> = 16..=128;

/// `sha256(identity)` in hex, or a random key for a connection without an identity. Never sent to
/// anyone: knowing another's key must not let one act as them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthorKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an identity is 16 to 128 characters")]
pub struct InvalidIdentity;

impl AuthorKey {
    pub fn from_identity(identity: &str) -> Result<Self, InvalidIdentity> {
        if !IDENTITY_CHARS.contains(&identity.chars().count()) {
            return Err(InvalidIdentity);
        }
        let digest = Sha256::digest(identity.as_bytes());
        Ok(Self(hex(&digest)))
    }

    /// A key nobody else will have: the person cannot claim their things after a reload.
    pub fn random() -> Self {
        Self(hex(&rand::random::<[u8; 32]>()))
    }

    /// A key as the database stored it.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_identity_gives_the_same_key_and_hides_it() {
        let secret = "a-secret-of-enough-length";
        let key = AuthorKey::from_identity(secret).unwrap();
        assert_eq!(key, AuthorKey::from_identity(secret).unwrap());
        assert_eq!(key.as_str().len(), 64);
        assert!(!key.as_str().contains(secret));
        assert_ne!(AuthorKey::random(), AuthorKey::random());
    }

    #[test]
    fn identities_are_bounded() {
        assert_eq!(AuthorKey::from_identity("short"), Err(InvalidIdentity));
        assert!(AuthorKey::from_identity(&"x".repeat(129)).is_err());
        assert!(AuthorKey::from_identity(&"x".repeat(128)).is_ok());
    }
}
