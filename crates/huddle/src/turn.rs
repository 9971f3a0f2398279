//! The built-in STUN/TURN server (crate `huddle-turn`) bound as its settings say.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use huddle_turn::{TurnConfig, TurnMetrics, TurnServer};
use prometheus_client::registry::Registry;

use crate::ice::BuiltinTurn;

/// How long TURN credentials handed out in `joined` stay valid: longer than any meeting, since an
/// allocation cannot be refreshed once its username has expired.
const CREDENTIAL_TTL: Duration = Duration::from_secs(24 * 3600);

/// What the built-in STUN/TURN server is to be, made from the configuration at the edge.
#[derive(Debug, Clone)]
pub struct TurnSettings {
    /// The server's own configuration, its secret chosen.
    pub server: TurnConfig,
    /// The host browsers are told to reach it at, when not the one they loaded the page from.
    pub advertised_host: Option<String>,
    /// Where TURN over TLS listens when HTTPS is on.
    pub tls_listen: Vec<SocketAddr>,
}

/// Binds the TURN server and returns it with what browsers need to reach it.
pub async fn bind(
    settings: &TurnSettings,
    registry: &mut Registry,
) -> anyhow::Result<(TurnServer, BuiltinTurn)> {
    let metrics = Arc::new(TurnMetrics::new());
    metrics.register(registry);
    let server = TurnServer::bind(settings.server.clone(), metrics).await?;
    let builtin = BuiltinTurn {
        port: server.local_addr().port(),
        secret: settings.server.secret.clone(),
        advertised_host: settings.advertised_host.clone(),
        credential_ttl: CREDENTIAL_TTL,
        tls_ports: Vec::new(),
    };
    tracing::info!(address = %server.local_addr(), "STUN/TURN is serving");
    Ok((server, builtin))
}

/// TURN over TLS with the web server's certificate: each of `addresses` decrypts its clients
/// and hands them to `server` like TCP clients. Returns the ports bound, to advertise as
/// `turns:` URLs.
pub async fn bind_tls(
    addresses: &[SocketAddr],
    server: &TurnServer,
    tls: Arc<rustls::ServerConfig>,
) -> anyhow::Result<Vec<u16>> {
    let mut ports = Vec::new();
    for &address in addresses {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("TURN over TLS on {address}"))?;
        let bound = listener.local_addr()?;
        ports.push(bound.port());
        let mut accepted = crate::tls::spawn_handshakes(listener, Arc::clone(&tls));
        let intake = server.stream_intake();
        tokio::spawn(async move {
            while let Some((stream, peer)) = accepted.recv().await {
                if !intake.hand_in(Box::new(stream), peer).await {
                    break;
                }
            }
        });
        tracing::info!(address = %bound, "TURN over TLS is serving");
    }
    Ok(ports)
}
