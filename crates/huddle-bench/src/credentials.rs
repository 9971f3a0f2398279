//! coturn's REST-API credentials (`use-auth-secret`): the bench gives every
//! allocation its own user id so per-user quotas never limit a load test.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// `<expiry>:<user_id>` and `base64(HMAC-SHA1(secret, username))`.
pub fn rest_credentials(secret: &str, user_id: &str, expiry_unix: u64) -> Credentials {
    let username = format!("{expiry_unix}:{user_id}");
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA1 accepts keys of any length");
    mac.update(username.as_bytes());
    let password = BASE64.encode(mac.finalize().into_bytes());
    Credentials { username, password }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_vector() {
        // printf '1700000000:alice' | openssl dgst -sha1 -hmac secret -binary | base64
        let creds = rest_credentials("secret", "alice", 1_700_000_000);
        assert_eq!(creds.username, "1700000000:alice");
        assert_eq!(creds.password, "d8soP47RbdIKLDUOpnJPVQyq5Ts=");
    }
}
