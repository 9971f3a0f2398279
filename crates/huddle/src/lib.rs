//! huddle: video meetings in one binary.
//!
//! Layers import one way: `rooms` (membership, no I/O) <- `signaling` (WebSocket sessions) <-
//! `http` (the web edge). `protocol` and `metrics` are leaves every layer may use; `turn` wires the
//! built-in STUN/TURN server (crate `huddle-turn`) to the configuration; `sfu` bridges signaling
//! and the SFU (crate `huddle-media`, which knows nothing of this crate).

pub mod config;
pub mod http;
pub mod ice;
pub mod metrics;
pub mod protocol;
pub mod rooms;
pub mod sfu;
pub mod signaling;
mod turn;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use huddle_turn::TurnServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use config::Config;
use ice::IceServers;
use metrics::Metrics;
use rooms::{LocalRegistry, RoomPolicy, RoomRegistry};
use sfu::SfuRouter;
use signaling::{RateSettings, Signaling, SignalingSettings};

/// A huddle node with its sockets bound, ready to serve.
pub struct Huddle {
    pub signaling: Arc<Signaling>,
    web: TcpListener,
    turn: Option<TurnServer>,
    sfu: Option<SfuRouter>,
}

impl Huddle {
    /// Binds the web server, unless disabled STUN/TURN, and the SFU when rooms may use it
    /// (`--media-mode sfu` or `auto`).
    /// Serving stops when `shutdown` is cancelled.
    pub async fn bind(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let mut metrics = Metrics::default();
        let (turn, builtin) = if config.no_turn {
            (None, None)
        } else {
            let (server, builtin) = turn::bind(config, metrics.registry_mut())
                .await
                .with_context(|| format!("starting STUN/TURN on {}", config.turn_listen))?;
            (Some(server), Some(builtin))
        };
        let (sfu, sfu_router) = if config.needs_sfu() {
            let (bridge, router) = sfu::bind(config, metrics.registry_mut())?;
            (Some(bridge), Some(router))
        } else {
            (None, None)
        };
        let web = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let ice = IceServers {
            operator: config.ice_servers(),
            builtin,
        };
        let signaling = Arc::new(Signaling {
            registry: Arc::new(LocalRegistry::new(room_policy(config))),
            metrics: Arc::new(metrics),
            settings: signaling_settings(config, ice),
            sfu,
            shutdown,
        });
        Ok(Self {
            signaling,
            web,
            turn,
            sfu: sfu_router,
        })
    }

    pub fn web_addr(&self) -> SocketAddr {
        self.web
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where STUN/TURN listens, UDP and TCP, when it runs.
    pub fn turn_addr(&self) -> Option<SocketAddr> {
        self.turn.as_ref().map(TurnServer::local_addr)
    }

    /// Where the SFU receives UDP (its advertised candidate), when it runs.
    pub fn sfu_addr(&self) -> Option<SocketAddr> {
        self.signaling.sfu.as_ref().map(|sfu| sfu.local_addr)
    }

    /// Serves until shutdown, then stops the SFU.
    pub async fn serve(self) -> anyhow::Result<()> {
        let shutdown = self.signaling.shutdown.clone();
        let clock = settle_rooms(self.signaling.registry.clone(), shutdown.clone());
        let web = http::serve(self.web, self.signaling);
        let turn = async {
            match self.turn {
                Some(turn) => turn.run(shutdown.clone().cancelled_owned()).await,
                None => Ok(()),
            }
        };
        let sfu = async {
            if let Some(router) = self.sfu {
                router.run(shutdown.clone()).await;
            }
        };
        let (web, turn, (), ()) = tokio::join!(web, turn, sfu, clock);
        web.context("web server")?;
        turn.context("STUN/TURN server")?;
        Ok(())
    }
}

/// How often rooms learn that time passed (auto rooms going back to the mesh after their hold).
const SETTLE_INTERVAL: Duration = Duration::from_secs(1);

async fn settle_rooms(registry: Arc<dyn RoomRegistry>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(SETTLE_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticks.tick() => registry.settle(Instant::now()).await,
        }
    }
}

fn room_policy(config: &Config) -> RoomPolicy {
    RoomPolicy {
        media: config.media_policy(),
        mesh_limit: usize::from(config.mesh_limit),
        max_participants: usize::from(config.max_participants),
    }
}

fn signaling_settings(config: &Config, ice: IceServers) -> SignalingSettings {
    let (keepalive_interval, keepalive_timeout) = config.keepalive();
    SignalingSettings {
        ice,
        keepalive_interval,
        keepalive_timeout,
        rate: RateSettings {
            per_second: config.message_rate,
            burst: config.message_burst,
        },
    }
}
