//! Error pages for people who followed a bad link.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A small standalone page saying what went wrong, in the client's look.
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · huddle</title><link rel="stylesheet" href="/assets/style.css"></head>
<body class="error-page"><main data-error-page><h1>{title}</h1><p>{detail}</p>
<p><a href="/">Back to the start page</a></p></main></body>
</html>
"#,
        title = escape(title),
        detail = escape(detail)
    );
    (status, Html(body)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
