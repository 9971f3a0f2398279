//! The browser client, embedded in the binary so that `cargo run` serves it with no build step.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../assets/"]
struct Assets;

/// One embedded file with its content type, or `None` when there is no such file. A browser
/// that already holds this version (its `If-None-Match` names the file's ETag) gets a bodyless
/// 304: returning visitors revalidate the client's modules without downloading them again.
pub fn asset(path: &str, request: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = etag(&file.metadata.sha256_hash());
    // Revalidate every time: a server upgrade must never mix old and new client modules.
    let cache = (header::CACHE_CONTROL, "no-cache".to_owned());
    if holds(request, &etag) {
        return Some((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response());
    }
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let headers = [
        (header::CONTENT_TYPE, mime.as_ref().to_owned()),
        (header::ETAG, etag),
        cache,
    ];
    Some((StatusCode::OK, headers, file.data).into_response())
}

/// A strong ETag from the file's content hash (the first 16 bytes are plenty to tell versions apart).
fn etag(sha256: &[u8; 32]) -> String {
    let hex: String = sha256[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Does the request's `If-None-Match` name `etag` (or `*`)?
fn holds(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}
