//! The optional plain-HTTP listener (`--http-redirect`): every request goes to the same path on
//! HTTPS.

use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves redirects to `https://<host>[:https_port]/<path>` until `shutdown`, under the same
/// connection limits as the web server.
pub async fn serve(
    listener: TcpListener,
    https_port: u16,
    limits: super::ConnectionLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        redirect(&headers, &uri, https_port)
    });
    super::serve::serve(listener, app, limits, shutdown).await
}

fn redirect(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .and_then(|host| host.parse::<axum::http::uri::Authority>().ok());
    let Some(host) = host else {
        return (axum::http::StatusCode::BAD_REQUEST, "no Host header").into_response();
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    Redirect::permanent(&format!("https://{}{port}{path}", host.host())).into_response()
}
