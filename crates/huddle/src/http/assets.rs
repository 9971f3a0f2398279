//! The browser client, embedded in the binary so that `cargo run` serves it with no build step.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../assets/"]
struct Assets;

/// One embedded file with its content type, or `None` when there is no such file.
pub fn asset(path: &str) -> Option<Response> {
    let file = Assets::get(path)?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    Some(
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                // Revalidate every time: a server upgrade must never mix old and new client modules.
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            file.data,
        )
            .into_response(),
    )
}
