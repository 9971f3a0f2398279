//! `POST /api/turn-test`: the ICE servers, with credentials, that `/turn-test` checks. Built-in
//! TURN credentials take relay ports, so this endpoint has the guards of a join: the page's
//! Origin, the address's join budget, and a join token when the server requires one.

use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{guard, refuse, request_host, tokens, ClientAddr};
use crate::signaling::Signaling;

pub async fn ice_servers(
    headers: HeaderMap,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    State(signaling): State<Arc<Signaling>>,
) -> Response {
    let access = &signaling.access;
    if !guard::origin_allowed(&headers, &access.allowed_origins) {
        return refuse(
            &signaling,
            "origin",
            StatusCode::FORBIDDEN,
            guard::FOREIGN_ORIGIN,
        );
    }
    if access.require_token {
        let verified =
            tokens::bearer(&headers).map(|token| access.tokens.verify_for_any_room(token));
        if !matches!(verified, Some(Ok(_))) {
            return refuse(
                &signaling,
                "token_required",
                StatusCode::UNAUTHORIZED,
                "this server's connectivity test needs an invitation link's token",
            );
        }
    }
    if access
        .joins
        .take(client.ip(), std::time::Instant::now())
        .is_err()
    {
        return refuse(
            &signaling,
            "joins_per_ip",
            StatusCode::TOO_MANY_REQUESTS,
            "too many joins and tests from your address: try again in a minute",
        );
    }
    let servers = signaling
        .settings
        .ice
        .for_connectivity_test(request_host(&headers));
    Json(servers).into_response()
}
