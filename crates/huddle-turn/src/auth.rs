//! Ephemeral TURN credentials in coturn's REST-API form (`use-auth-secret`).
//!
//! The username is `<unix-expiry>:<user id>` and the password is
//! `base64(HMAC-SHA1(secret, username))`. The server never stores passwords: it
//! recomputes one from the username it is given, which is why the expiry has to
//! live inside the username.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// A username/password pair a client uses against this TURN server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Credentials for `user_id` valid for `ttl` from `now_unix` (seconds since the Unix epoch).
pub fn rest_credentials(secret: &[u8], user_id: &str, ttl: Duration, now_unix: u64) -> Credentials {
    let expiry = now_unix.saturating_add(ttl.as_secs());
    let username = format!("{expiry}:{user_id}");
    let password = rest_password(secret, &username);
    Credentials { username, password }
}

/// The password the server expects for a REST-API `username`.
pub fn rest_password(secret: &[u8], username: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret).expect("HMAC-SHA1 accepts keys of any length");
    mac.update(username.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// What a REST-API username says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RestUsername<'a> {
    pub expiry_unix: u64,
    /// The part after the colon; quotas are counted per user id, not per
    /// username, because every fresh credential has a new username.
    pub user_id: &'a str,
}

impl<'a> RestUsername<'a> {
    /// Parses `<unix-expiry>:<id>`; coturn also accepts a bare timestamp, so do we.
    pub fn parse(username: &'a str) -> Option<Self> {
        let (expiry, user_id) = match username.split_once(':') {
            Some((expiry, id)) => (expiry, id),
            None => (username, ""),
        };
        let expiry_unix = expiry.parse().ok()?;
        Some(RestUsername {
            expiry_unix,
            user_id,
        })
    }

    pub fn is_expired(&self, now_unix: u64) -> bool {
        self.expiry_unix <= now_unix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_matches_coturn_formula() {
        // Known answer computed with: printf '1700000000:alice' | openssl dgst -sha1 -hmac secret -binary | base64
        let creds = rest_credentials(b"secret", "alice", Duration::from_secs(100), 1_699_999_900);
        assert_eq!(creds.username, "1700000000:alice");
        assert_eq!(creds.password, "d8soP47RbdIKLDUOpnJPVQyq5Ts=");
    }

    #[test]
    fn parses_and_expires() {
        let u = RestUsername::parse("100:bob").unwrap();
        assert_eq!(u.user_id, "bob");
        assert!(!u.is_expired(99));
        assert!(u.is_expired(100));
        assert!(RestUsername::parse("bob").is_none());
        assert!(RestUsername::parse("x:bob").is_none());
    }
}
