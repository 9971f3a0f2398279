//! The built-in STUN/TURN server as the configuration describes it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use huddle_turn::{TurnConfig, TurnMetrics, TurnServer};
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::ice::{url_host_of, BuiltinTurn};

/// How long TURN credentials handed out in `joined` stay valid: longer than any meeting, since an
/// allocation cannot be refreshed once its username has expired.
const CREDENTIAL_TTL: Duration = Duration::from_secs(24 * 3600);

/// Binds the TURN server and returns it with what browsers need to reach it.
pub async fn bind(
    config: &Config,
    registry: &mut Registry,
) -> anyhow::Result<(TurnServer, BuiltinTurn)> {
    let secret = match &config.turn_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => {
            tracing::info!("no --turn-secret given: TURN credentials are void after a restart");
            format!("{:032x}", rand::random::<u128>()).into_bytes()
        }
    };
    let metrics = Arc::new(TurnMetrics::new());
    metrics.register(registry);
    let server = TurnServer::bind(turn_config(config, secret.clone()), metrics).await?;
    let builtin = BuiltinTurn {
        port: server.local_addr().port(),
        secret,
        advertised_host: config.external_ip.first().copied().map(url_host_of),
        credential_ttl: CREDENTIAL_TTL,
        tls_ports: Vec::new(),
    };
    tracing::info!(address = %server.local_addr(), "STUN/TURN is serving");
    Ok((server, builtin))
}

fn turn_config(config: &Config, secret: Vec<u8>) -> TurnConfig {
    let mut turn = TurnConfig::new(config.turn_realm.clone(), secret);
    turn.listen = config.turn_listen;
    turn.relay_ports = config.relay_ports.first..=config.relay_ports.last;
    turn.relay_bind_ip = relay_bind_ip(config);
    turn.external_ips = config.external_ip.clone();
    turn.allow_peers = config.turn_allow_peer.clone();
    turn.user_quota = config.turn_user_quota;
    turn.client_quota = config.turn_client_quota;
    turn.max_lifetime = Duration::from_secs(config.turn_max_lifetime);
    turn.bandwidth_bytes_per_sec = config.turn_bandwidth;
    turn
}

/// Relays need a concrete address to advertise. Behind a 1:1 NAT the external IP is advertised and
/// relays may listen everywhere; otherwise they use the TURN listen address, or, when that is
/// unspecified, the address this host reaches the outside with.
fn relay_bind_ip(config: &Config) -> IpAddr {
    let listen = config.turn_listen.ip();
    if !listen.is_unspecified() || !config.external_ip.is_empty() {
        listen
    } else {
        crate::host::outbound_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

/// TURN over TLS with the web server's certificate: each `--turns-listen` address (default port
/// 5349 at the TURN IP) decrypts its clients and hands them to `server` like TCP clients.
/// Returns the ports bound, to advertise as `turns:` URLs.
pub async fn bind_tls(
    config: &Config,
    server: &TurnServer,
    tls: Arc<rustls::ServerConfig>,
) -> anyhow::Result<Vec<u16>> {
    let addresses = if config.security.turns_listen.is_empty() {
        vec![std::net::SocketAddr::new(config.turn_listen.ip(), 5349)]
    } else {
        config.security.turns_listen.clone()
    };
    let mut ports = Vec::new();
    for address in addresses {
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
