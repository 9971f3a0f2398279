//! Defences at the HTTP edge: security headers on every response, and the Origin check of the
//! signaling WebSocket.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

use crate::cluster::Roster;

/// No inline script or style anywhere in the client (assets/*.html load modules and a
/// stylesheet), so the policy can forbid both; media stays same-origin, and so do WebSockets but
/// for a cluster's nodes (`connect`). `blob:` connections are the page's own received files (file
/// transfer), never another origin.
fn content_security_policy(connect: &[String]) -> String {
    let nodes: String = connect.iter().map(|origin| format!(" {origin}")).collect();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob: mediastream:; connect-src 'self' blob:{nodes}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Adds the security headers to every response. In a cluster, a page's signaling may be sent to
/// any live node (a `redirect`, a `migrate`): their WebSocket origins are allowed.
pub async fn security_headers(
    State(roster): State<Option<Roster>>,
    mut response: Response,
) -> Response {
    let nodes = roster
        .map(|roster| roster.websocket_origins())
        .unwrap_or_default();
    let policy = HeaderValue::from_str(&content_security_policy(&nodes))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(self), microphone=(self), display-capture=(self)",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Why a request from another site's page is refused.
pub const FOREIGN_ORIGIN: &str = "this page's origin may not use this server";

/// Whether a WebSocket request may connect: browsers always send `Origin`, and a page of another
/// site must not open signaling in its visitor's name. Without `Origin` (not a browser) there is
/// no visitor to protect. Allowed: the configured origins, else pages of the host the request
/// was sent to.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if !allowed.is_empty() {
        return allowed
            .iter()
            .any(|allowed| allowed.trim_end_matches('/') == origin);
    }
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    origin_host
        .is_some_and(|origin_host| !host.is_empty() && origin_host.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn same_host_and_configured_origins_pass() {
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            &[]
        ));
        assert!(origin_allowed(
            &headers(Some("https://meet.example.org"), "meet.example.org"),
            &[]
        ));
        assert!(origin_allowed(&headers(None, "x"), &[]));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example"), "meet.example.org"),
            &[]
        ));
        assert!(!origin_allowed(
            &headers(Some("null"), "meet.example.org"),
            &[]
        ));
        let allowed = ["https://app.example.org/".to_owned()];
        assert!(origin_allowed(
            &headers(Some("https://app.example.org"), "meet.example.org"),
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(Some("https://meet.example.org"), "meet.example.org"),
            &allowed
        ));
    }
}
