//! Each layer's settings, made from the configuration. Only this module (and `main`) reads
//! [`Config`]: the layers take their own settings types and know nothing of flags.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use huddle_cluster::NodeId;
use huddle_turn::TurnConfig;

use crate::access::{
    self, Access, ConnectionCounter, Entrances, IpBuckets, JoinTokens, KindRate, RoomSettingsStore,
    StoredRoomSettings,
};
use crate::cluster::ClusterSettings;
use crate::collab::BotSettings;
use crate::config::Config;
use crate::ice::{url_host_of, IceServers};
use crate::rooms::{RoomName, RoomPolicy};
use crate::sfu::SfuSettings;
use crate::signaling::{RateSettings, SignalingSettings};
use crate::tls::Certificate;
use crate::turn::TurnSettings;

/// The chat bot, if `--bot-url` is given.
pub fn bot(config: &Config) -> anyhow::Result<Option<BotSettings>> {
    let Some(url) = &config.bot_url else {
        return Ok(None);
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("--bot-url {url:?} is not an http:// or https:// URL");
    }
    let Some(model) = &config.bot_model else {
        bail!("--bot-url needs --bot-model");
    };
    Ok(Some(BotSettings {
        url: url.clone(),
        key: config.bot_key.clone(),
        model: model.clone(),
    }))
}

/// Where HTTPS gets its certificate, or `None` for plain HTTP.
pub fn certificate(config: &Config) -> anyhow::Result<Option<Certificate>> {
    let security = &config.security;
    match (
        &security.tls_cert,
        &security.tls_key,
        security.tls_self_signed,
    ) {
        (None, None, false) => Ok(None),
        (Some(cert), Some(key), false) => Ok(Some(Certificate::Files {
            cert: cert.clone(),
            key: key.clone(),
        })),
        (None, None, true) => Ok(Some(Certificate::SelfSigned {
            data_dir: config.data_dir.clone(),
            external_ips: config.external_ip.clone(),
        })),
        (_, _, true) => bail!("--tls-self-signed and --tls-cert/--tls-key exclude each other"),
        _ => bail!("--tls-cert and --tls-key go together"),
    }
}

/// The built-in STUN/TURN server; without `--turn-secret` a random one, void after a restart.
pub fn turn(config: &Config) -> TurnSettings {
    let secret = match &config.turn_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => {
            tracing::info!("no --turn-secret given: TURN credentials are void after a restart");
            format!("{:032x}", rand::random::<u128>()).into_bytes()
        }
    };
    let mut server = TurnConfig::new(config.turn_realm.clone(), secret);
    server.listen = config.turn_listen;
    server.relay_ports = config.relay_ports.first..=config.relay_ports.last;
    server.relay_bind_ip = relay_bind_ip(config);
    server.external_ips = config.external_ip.clone();
    server.allow_peers = config.turn_allow_peer.clone();
    server.user_quota = config.turn_user_quota;
    server.client_quota = config.turn_client_quota;
    server.max_lifetime = Duration::from_secs(config.turn_max_lifetime);
    server.bandwidth_bytes_per_sec = config.turn_bandwidth;
    // TURN over TLS: port 5349 at the TURN IP unless `--turns-listen` says otherwise.
    let tls_listen = if config.security.turns_listen.is_empty() {
        vec![SocketAddr::new(config.turn_listen.ip(), 5349)]
    } else {
        config.security.turns_listen.clone()
    };
    TurnSettings {
        server,
        advertised_host: config.external_ip.first().copied().map(url_host_of),
        tls_listen,
    }
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

/// Cluster mode, with `--cluster`: needs the PostgreSQL every node shares and this node's public
/// URL; the node's id is `--node-id`, else one made once and kept in the data directory.
pub fn cluster(config: &Config) -> anyhow::Result<Option<ClusterSettings>> {
    let cluster = &config.cluster;
    let Some(redis_url) = &cluster.cluster else {
        return Ok(None);
    };
    let shared = config
        .database_url
        .as_deref()
        .is_some_and(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"));
    if !shared {
        bail!("--cluster needs --database-url postgres://...: every node keeps rooms in one PostgreSQL");
    }
    let Some(public_url) = &cluster.public_url else {
        bail!("--cluster needs --public-url: how browsers reach this node, e.g. https://n2.meet.example");
    };
    let node = match &cluster.node_id {
        Some(id) => id.clone(),
        None => kept_node_id(&config.data_dir)?,
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if node.is_empty() || node.len() > 64 || !node.chars().all(valid) {
        bail!("--node-id {node:?}: 1 to 64 letters, digits, '.', '_' or '-'");
    }
    Ok(Some(ClusterSettings {
        redis_url: redis_url.clone(),
        node: NodeId(node),
        public_url: public_url.clone(),
    }))
}

/// The node id kept in `<data-dir>/node-id`, made on first use.
fn kept_node_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("node-id");
    if let Ok(kept) = std::fs::read_to_string(&path) {
        return Ok(kept.trim().to_owned());
    }
    let id = format!("node-{:016x}", rand::random::<u64>());
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&path, format!("{id}\n")))
        .with_context(|| format!("keeping the node id in {}", path.display()))?;
    Ok(id)
}

pub fn sfu(config: &Config) -> SfuSettings {
    SfuSettings {
        listen: config.sfu_listen,
        external_ip: config.external_ip.first().copied(),
        workers: config.sfu_workers(),
        ice_restart_grace: Duration::from_secs(config.sfu_ice_restart_grace.into()),
    }
}

pub fn room_policy(config: &Config) -> RoomPolicy {
    RoomPolicy {
        media: config.media_policy(),
        mesh_limit: usize::from(config.mesh_limit),
        max_participants: usize::from(config.max_participants),
        auto_host: !config.security.require_token,
    }
}

/// Access control and abuse limits as configured; `--room-password`s go into the store, where
/// they replace what hosts set before.
pub async fn access(config: &Config, store: Arc<dyn RoomSettingsStore>) -> anyhow::Result<Access> {
    let security = &config.security;
    for spec in &security.room_password {
        let room = RoomName::parse(&spec.room)
            .with_context(|| format!("--room-password for {:?}", spec.room))?;
        let password_hash = Some(access::hash_password(&spec.password)?);
        let kept = store.load(&room).await?.unwrap_or_default();
        let settings = StoredRoomSettings {
            password_hash,
            ..kept
        };
        store.save(&room, &settings).await?;
    }
    let kind_rates = [
        ("chat", security.chat_rate),
        ("whiteboard", security.whiteboard_rate),
    ]
    .map(|(kind, per_second)| KindRate {
        kind,
        per_second,
        burst: per_second * 2.0,
    });
    Ok(Access {
        tokens: JoinTokens::from_config(security.token_secret.as_deref(), &config.data_dir)?,
        require_token: security.require_token,
        entrances: Entrances::new(store, security.password_attempts_per_minute),
        joins: IpBuckets::new(security.joins_per_minute),
        connections: ConnectionCounter::new(security.max_connections_per_ip),
        kind_rates: kind_rates.to_vec(),
        allowed_origins: security.allowed_origin.clone(),
        api_key: security.api_key.clone(),
    })
}

pub fn signaling(config: &Config, ice: IceServers) -> SignalingSettings {
    let (keepalive_interval, keepalive_timeout) = config.keepalive();
    SignalingSettings {
        ice,
        keepalive_interval,
        keepalive_timeout,
        rate: RateSettings {
            per_second: config.message_rate,
            burst: config.message_burst,
            bytes_per_second: config.message_bytes_rate,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> Config {
        Config::try_load_from(std::iter::once("huddle").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_bot_needs_an_http_url_and_a_model() {
        assert_eq!(bot(&load(&[])).unwrap(), None);
        let config = load(&["--bot-url", "http://127.0.0.1:9/v1", "--bot-model", "tiny"]);
        assert_eq!(bot(&config).unwrap().unwrap().model, "tiny");
        assert!(bot(&load(&["--bot-url", "http://x/v1"])).is_err());
        assert!(bot(&load(&["--bot-url", "ftp://x", "--bot-model", "m"])).is_err());
    }

    #[test]
    fn cluster_mode_needs_postgres_and_a_public_url_and_keeps_its_node_id() {
        assert_eq!(cluster(&load(&[])).unwrap(), None);
        let redis = ["--cluster", "redis://127.0.0.1:6379"];
        let no_postgres = cluster(&load(&redis)).unwrap_err().to_string();
        assert!(
            no_postgres.contains("--database-url postgres://"),
            "{no_postgres}"
        );
        let postgres = ["--database-url", "postgres://db/huddle"];
        let no_url = cluster(&load(&[&redis[..], &postgres[..]].concat())).unwrap_err();
        assert!(no_url.to_string().contains("--public-url"), "{no_url}");

        let dir = std::env::temp_dir().join(format!("huddle-node-id-{}", std::process::id()));
        let data = dir.display().to_string();
        let flags = [
            &redis[..],
            &postgres[..],
            &["--public-url", "https://n1.example", "--data-dir", &data],
        ]
        .concat();
        let first = cluster(&load(&flags)).unwrap().unwrap();
        assert_eq!(first.public_url, "https://n1.example");
        let again = cluster(&load(&flags)).unwrap().unwrap();
        assert_eq!(again.node, first.node, "kept in the data directory");
        std::fs::remove_dir_all(dir).unwrap();

        let named = [&flags[..], &["--node-id", "n1"]].concat();
        assert_eq!(
            cluster(&load(&named)).unwrap().unwrap().node,
            NodeId("n1".into())
        );
        let bad = [&flags[..], &["--node-id", "n1:x"]].concat();
        assert!(cluster(&load(&bad)).is_err());
    }

    #[test]
    fn a_certificate_comes_from_files_or_is_self_signed_never_both() {
        assert_eq!(certificate(&load(&[])).unwrap(), None);
        let files = load(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]);
        assert!(matches!(
            certificate(&files).unwrap(),
            Some(Certificate::Files { .. })
        ));
        let own = load(&["--tls-self-signed"]);
        assert!(matches!(
            certificate(&own).unwrap(),
            Some(Certificate::SelfSigned { .. })
        ));
        assert!(certificate(&load(&["--tls-cert", "c.pem"])).is_err());
        let both = load(&[
            "--tls-self-signed",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        assert!(certificate(&both).is_err());
    }
}
