//! huddle: video meetings in one binary.
//!
//! Layers import one way: `rooms` (membership, no I/O) <- `signaling` (WebSocket sessions) <-
//! `http` (the web edge). `protocol` and `metrics` are leaves every layer may use; `turn` runs the
//! built-in STUN/TURN server (crate `huddle-turn`); `sfu` bridges signaling
//! and the SFU (crate `huddle-media`, which knows nothing of this crate). `store` (the database)
//! is a leaf under `rooms`; `collab` (chat, scheduled messages, whiteboard) sits between `rooms`
//! and `signaling`. Configuration stays at the edge: `settings` makes each layer's own settings
//! from `config`, and no layer reads `config`.

pub mod access;
pub mod clock;
mod cluster;
pub mod collab;
pub mod config;
pub mod drain;
mod files;
mod host;
pub mod http;
pub mod ice;
pub mod identity;
pub mod metrics;
pub mod protocol;
pub mod rooms;
mod settings;
pub mod sfu;
pub mod signaling;
pub mod store;
pub mod tls;
mod token_bucket;
mod turn;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use huddle_turn::TurnServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use access::{ConnectionCounter, RoomSettingsStore};
use clock::{Clock, SystemClock};
use cluster::{ClusterNode, ClusterRegistry};
use collab::{Bot, Collab};
use config::Config;
use drain::Drainer;
use http::{ConnectionLimits, WebListener};
use ice::IceServers;
use metrics::Metrics;
use rooms::{LocalRegistry, NodeRooms, RoomRegistry};
use sfu::{SfuBridge, SfuSwitchboard};
use signaling::Signaling;
use store::{Fences, Store};

/// A huddle node with its sockets bound, ready to serve.
pub struct Huddle {
    pub signaling: Arc<Signaling>,
    web: WebListener,
    web_addr: SocketAddr,
    /// Plain HTTP redirecting to HTTPS (`--http-redirect`).
    redirect: Option<TcpListener>,
    turn: Option<TurnServer>,
    sfu: Option<SfuSwitchboard>,
    /// This node in a cluster, with `--cluster`.
    cluster: Option<ClusterNode>,
    /// Its rooms, which a drain moves to other nodes.
    cluster_rooms: Option<Arc<ClusterRegistry>>,
    /// What every web connection is held to (the redirect's too).
    connection_limits: ConnectionLimits,
    files: Option<files::FileWatch>,
}

impl Huddle {
    /// Binds the web server, unless disabled STUN/TURN, the SFU when rooms may use it
    /// (`--media-mode sfu` or `auto`), and opens the database. Serving stops when `shutdown` is
    /// cancelled.
    pub async fn bind(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Self> {
        Self::bind_with_clock(config, shutdown, Arc::new(SystemClock)).await
    }

    /// As [`Huddle::bind`], with scheduled messages and chat times on `clock`.
    pub async fn bind_with_clock(
        config: &Config,
        shutdown: CancellationToken,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let bot = settings::bot(config)?
            .map(|bot| Bot::new(&bot))
            .transpose()?;
        let store = Store::open(&config.database())
            .await
            .context("opening the database")?;
        let mut metrics = Metrics::default();
        let files = files::raise_limit().map(|limit| {
            tracing::info!(limit, "open-file limit");
            files::FileWatch::register(limit, metrics.registry_mut())
        });
        let tls = settings::certificate(config)?
            .map(|certificate| tls::server_config(&certificate))
            .transpose()?;
        let (turn, builtin) = if config.no_turn {
            (None, None)
        } else {
            let turn_settings = settings::turn(config);
            let (server, mut builtin) = turn::bind(&turn_settings, metrics.registry_mut())
                .await
                .with_context(|| format!("starting STUN/TURN on {}", config.turn_listen))?;
            if let Some(tls) = &tls {
                builtin.tls_ports =
                    turn::bind_tls(&turn_settings.tls_listen, &server, Arc::clone(tls)).await?;
            }
            (Some(server), Some(builtin))
        };
        let (sfu, switchboard) = if config.needs_sfu() {
            let (bridge, switchboard) = sfu::bind(&settings::sfu(config), metrics.registry_mut())?;
            (Some(bridge), Some(switchboard))
        } else {
            (None, None)
        };
        let cluster = settings::cluster(config)?
            .map(|settings| ClusterNode::new(settings, metrics.registry_mut()));
        let local = Arc::new(LocalRegistry::new(settings::room_policy(config)));
        let (store, cluster_rooms) = match &cluster {
            Some(node) => {
                let fences = Fences::default();
                let store = store.fenced(fences.clone());
                let registry = ClusterRegistry::new(
                    Arc::clone(&local),
                    node.link(),
                    (store.clone(), fences),
                    shutdown.clone(),
                    metrics.registry_mut(),
                );
                (store, Some(Arc::new(registry)))
            }
            None => (store, None),
        };
        let registry: Arc<dyn RoomRegistry> = match &cluster_rooms {
            Some(rooms) => rooms.clone(),
            None => local,
        };
        let tcp = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let web_addr = tcp.local_addr()?;
        let web = match tls {
            Some(tls) => WebListener::Tls(tls::TlsListener::new(tcp, tls)?),
            None => WebListener::Plain(tcp),
        };
        let redirect = match config.security.http_redirect {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("HTTP redirect on {address}"))?,
            ),
            None => None,
        };
        let ice = IceServers {
            operator: config.ice_servers(),
            builtin,
        };
        let metrics = Arc::new(metrics);
        let connection_limits = ConnectionLimits {
            per_address: ConnectionCounter::new(config.security.max_http_connections_per_ip),
            header_timeout: config.security.http_header_timeout(),
            metrics: metrics.clone(),
        };
        let settings_store: Arc<dyn RoomSettingsStore> = Arc::new(store.clone());
        let access = settings::access(config, settings_store).await?;
        let collab = Collab::new(store, registry, clock, metrics.clone(), bot);
        let signaling = Arc::new(Signaling {
            collab,
            access,
            metrics,
            settings: settings::signaling(config, ice),
            sfu,
            shutdown,
        });
        Ok(Self {
            signaling,
            web,
            web_addr,
            redirect,
            turn,
            sfu: switchboard,
            cluster,
            cluster_rooms,
            connection_limits,
            files,
        })
    }

    /// What moves this node's rooms to other nodes before it stops (cluster mode).
    pub fn drainer(&self) -> Option<Drainer> {
        self.cluster_rooms.as_ref().map(|cluster| Drainer {
            cluster: Arc::clone(cluster),
            signaling: Arc::clone(&self.signaling),
        })
    }

    pub fn web_addr(&self) -> SocketAddr {
        self.web_addr
    }

    /// Where plain HTTP redirects to HTTPS, when asked.
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().and_then(|tcp| tcp.local_addr().ok())
    }

    /// Where STUN/TURN listens, UDP and TCP, when it runs.
    pub fn turn_addr(&self) -> Option<SocketAddr> {
        self.turn.as_ref().map(TurnServer::local_addr)
    }

    /// Where the SFU receives UDP (its advertised candidate), when it runs.
    pub fn sfu_addr(&self) -> Option<SocketAddr> {
        self.signaling.sfu.as_ref().map(|sfu| sfu.local_addr)
    }

    /// Serves until shutdown, then stops the SFU and stores what is not stored yet.
    pub async fn serve(self) -> anyhow::Result<()> {
        let shutdown = self.signaling.shutdown.clone();
        let collab = self.signaling.collab.clone();
        let https_port = self.web_addr.port();
        let redirect = async {
            match self.redirect {
                Some(tcp) => {
                    let limits = self.connection_limits.clone();
                    http::redirect::serve(tcp, https_port, limits, shutdown.clone()).await
                }
                None => Ok(()),
            }
        };
        let clock = settle_rooms(self.signaling.registry().clone(), shutdown.clone());
        let files = async {
            if let Some(files) = self.files {
                files.run(shutdown.clone()).await;
            }
        };
        let roster = self.cluster.as_ref().map(ClusterNode::roster);
        let rooms = self.signaling.registry().clone();
        let sfu_bridge = self.signaling.sfu.clone();
        let cluster = async {
            if let Some(node) = self.cluster {
                let strain = move || sfu_bridge.as_ref().map(SfuBridge::strain);
                node.run(move || rooms.census(), strain, shutdown.clone())
                    .await;
            }
        };
        let web = http::serve(
            self.web,
            self.signaling,
            roster,
            self.connection_limits.clone(),
        );
        let turn = async {
            match self.turn {
                Some(turn) => turn.run(shutdown.clone().cancelled_owned()).await,
                None => Ok(()),
            }
        };
        let sfu = async {
            if let Some(switchboard) = self.sfu {
                switchboard.run(shutdown.clone()).await;
            }
        };
        let scheduler = collab.clone().run_scheduler(shutdown.clone());
        let (web, redirect, turn, (), (), (), (), ()) =
            tokio::join!(web, redirect, turn, sfu, scheduler, clock, files, cluster);
        collab.flush().await;
        web.context("web server")?;
        redirect.context("HTTP redirect")?;
        turn.context("STUN/TURN server")?;
        Ok(())
    }
}

/// How often rooms learn that time passed: auto rooms go back to the mesh after their hold, and
/// big rooms announce who arrived since the last tick (`rooms::ARRIVALS_BATCHED_FROM`), so a
/// newcomer is announced at most this late.
const SETTLE_INTERVAL: Duration = Duration::from_millis(100);

async fn settle_rooms(rooms: Arc<dyn NodeRooms>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(SETTLE_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticks.tick() => rooms.settle(Instant::now()).await,
        }
    }
}
