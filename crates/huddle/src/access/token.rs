//! Signed join tokens: JWTs (HS256) whose claims say which room, as whom and until when.
//! Minted by `huddle token` and `POST /api/rooms/{room}/tokens`, checked on `join`.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::protocol::Role;
use crate::rooms::RoomName;

/// Tokens this long or longer are not even parsed: a real one is a few hundred bytes.
const MAX_TOKEN_BYTES: usize = 4096;
/// Clock difference tolerated between the minting and the checking machine.
const LEEWAY_SECONDS: u64 = 5;

/// What a join token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The token's own id: a kicked token holder is kept out by it.
    pub jti: String,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid (not signed by this server, or altered)")]
    Invalid,
    #[error("the token is for another room")]
    WrongRoom,
}

/// Mints and checks join tokens with one shared secret.
#[derive(Clone)]
pub struct JoinTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JoinTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JoinTokens(..)")
    }
}

impl JoinTokens {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// The `--token-secret` if given, else the one kept in `<data_dir>/token-secret`, created on
    /// first use so that tokens minted by `huddle token` stay valid across restarts.
    pub fn from_config(secret: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(secret) = secret {
            return Ok(Self::new(secret.as_bytes()));
        }
        let path = data_dir.join("token-secret");
        let secret = match std::fs::read_to_string(&path) {
            Ok(secret) => secret,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let secret = format!(
                    "{:032x}{:032x}",
                    rand::random::<u128>(),
                    rand::random::<u128>()
                );
                match super::write_private(&path, secret.as_bytes()) {
                    Ok(()) => secret,
                    // Another process made it meanwhile: use theirs.
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("reading {}", path.display()))?
                    }
                    Err(err) => {
                        return Err(err).with_context(|| {
                            format!("keeping the token secret in {}", path.display())
                        })
                    }
                }
            }
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        };
        let secret = secret.trim();
        Ok(Self::new(secret.as_bytes()))
    }

    pub fn mint(&self, room: &RoomName, role: Role, name: Option<String>, ttl: Duration) -> String {
        let claims = JoinClaims {
            room: room.to_string(),
            name,
            role,
            exp: unix_now().saturating_add(ttl.as_secs()),
            jti: format!("{:032x}", rand::random::<u128>()),
        };
        self.sign(&claims)
    }

    /// A token of exactly these claims (tests use it for expired ones).
    pub fn sign(&self, claims: &JoinClaims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail")
    }

    /// The claims of a token for `room`, or why it is refused.
    pub fn verify(&self, token: &str, room: &RoomName) -> Result<JoinClaims, TokenError> {
        let claims = self.verify_for_any_room(token)?;
        if claims.room != room.as_str() {
            return Err(TokenError::WrongRoom);
        }
        Ok(claims)
    }

    /// The claims of a valid token, whichever room it opens.
    pub fn verify_for_any_room(&self, token: &str) -> Result<JoinClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        decode::<JoinClaims>(token, &self.decoding, &self.validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
            .map(|data| data.claims)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A duration as people write it: `90s`, `15m`, `1h`, `7d`, or plain seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let seconds_per_unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration like 90s, 15m, 1h or 7d"
            ))
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 15m, 1h or 7d"))?;
    match number.checked_mul(seconds_per_unit) {
        Some(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!("{text:?} is not a usable duration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[test]
    fn a_minted_token_verifies_for_its_room_only() {
        let tokens = JoinTokens::new(b"secret");
        let token = tokens.mint(
            &room("r1"),
            Role::Viewer,
            Some("Ada".into()),
            Duration::from_secs(60),
        );
        let claims = tokens.verify(&token, &room("r1")).unwrap();
        assert_eq!(
            (claims.role, claims.name.as_deref()),
            (Role::Viewer, Some("Ada"))
        );
        assert_eq!(
            tokens.verify(&token, &room("r2")),
            Err(TokenError::WrongRoom)
        );
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let tokens = JoinTokens::new(b"secret");
        let claims = JoinClaims {
            room: "r1".into(),
            name: None,
            role: Role::Host,
            exp: unix_now() - 3600,
            jti: "x".into(),
        };
        let expired = encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(
            tokens.verify(&expired, &room("r1")),
            Err(TokenError::Expired)
        );

        let token = tokens.mint(
            &room("r1"),
            Role::Participant,
            None,
            Duration::from_secs(60),
        );
        let mut tampered = token.clone().into_bytes();
        let middle = token.find('.').unwrap() + 3;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            tokens.verify(&tampered, &room("r1")),
            Err(TokenError::Invalid)
        );
        let foreign =
            JoinTokens::new(b"other").mint(&room("r1"), Role::Host, None, Duration::from_secs(60));
        assert_eq!(
            tokens.verify(&foreign, &room("r1")),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            tokens.verify("not.a.token", &room("r1")),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_ttl("1w").is_err() && parse_ttl("0s").is_err() && parse_ttl("h").is_err());
    }
}
