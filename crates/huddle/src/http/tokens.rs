//! `POST /api/rooms/{room}/tokens`: join tokens for other programs (a calendar, a LMS), behind
//! the `--api-key` bearer key. Without a key configured the API does not exist.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::protocol::Role;
use crate::rooms::{clean_display_name, RoomName};
use crate::signaling::Signaling;

/// The longest validity the API hands out: a leaked token must not open a room for ever.
const MAX_TTL: Duration = Duration::from_secs(30 * 86_400);

#[derive(Debug, Deserialize)]
pub struct MintRequest {
    #[serde(default)]
    role: Role,
    /// Seconds; one hour by default.
    #[serde(default = "default_ttl")]
    ttl_seconds: u64,
    #[serde(default)]
    name: Option<String>,
}

fn default_ttl() -> u64 {
    3600
}

#[derive(Debug, Serialize)]
struct Minted {
    token: String,
    /// The room page's path with the token, to append to the server's address.
    path: String,
    expires_in: u64,
}

pub async fn mint(
    Path(room): Path<String>,
    State(signaling): State<Arc<Signaling>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(expected) = signaling.access.api_key.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !bearer(&headers).is_some_and(|given| same_secret(given, expected)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    // Only a caller holding the key learns what its body is worth.
    let request: MintRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let room = match RoomName::parse(&room) {
        Ok(room) => room,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let name = match request.name.as_deref().map(clean_display_name).transpose() {
        Ok(name) => name,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let ttl = Duration::from_secs(request.ttl_seconds.clamp(1, MAX_TTL.as_secs()));
    let token = signaling.access.tokens.mint(&room, request.role, name, ttl);
    let path = format!("/r/{room}?token={token}");
    Json(Minted {
        token,
        path,
        expires_in: ttl.as_secs(),
    })
    .into_response()
}

/// The credential of an `Authorization: Bearer ...` header.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Compares in time independent of where the strings differ, so the key cannot be guessed a
/// byte at a time.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}
