//! huddle: video meetings in one binary.
//!
//! Layers import one way: `rooms` (membership, no I/O) <- `signaling` (WebSocket sessions) <-
//! `http` (the web edge). `protocol` and `metrics` are leaves every layer may use; `turn` wires the
//! built-in STUN/TURN server (crate `huddle-turn`) to the configuration; `sfu` bridges signaling
//! and the SFU (crate `huddle-media`, which knows nothing of this crate). `store` (the database)
//! is a leaf under `rooms`; `collab` (chat, scheduled messages, whiteboard) sits between `rooms`
//! and `signaling`.

pub mod clock;
pub mod collab;
pub mod config;
pub mod http;
pub mod ice;
pub mod identity;
pub mod metrics;
pub mod protocol;
pub mod rooms;
pub mod sfu;
pub mod signaling;
pub mod store;
mod turn;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use huddle_turn::TurnServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use clock::{Clock, SystemClock};
use collab::{Bot, Collab};
use config::Config;
use ice::IceServers;
use metrics::Metrics;
use protocol::MediaMode;
use rooms::{LocalRegistry, RoomPolicy};
use sfu::SfuRouter;
use signaling::{RateSettings, Signaling, SignalingSettings};
use store::Store;

/// A huddle node with its sockets bound, ready to serve.
pub struct Huddle {
    pub signaling: Arc<Signaling>,
    web: TcpListener,
    turn: Option<TurnServer>,
    sfu: Option<SfuRouter>,
}

impl Huddle {
    /// Binds the web server, unless disabled STUN/TURN, and the SFU when rooms are sfu rooms, and
    /// opens the database. Serving stops when `shutdown` is cancelled.
    pub async fn bind(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Self> {
        Self::bind_with_clock(config, shutdown, Arc::new(SystemClock)).await
    }

    /// As [`Huddle::bind`], with scheduled messages and chat times on `clock`.
    pub async fn bind_with_clock(
        config: &Config,
        shutdown: CancellationToken,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let bot = config.bot()?.map(|bot| Bot::new(&bot)).transpose()?;
        let store = Store::open(&config.database())
            .await
            .context("opening the database")?;
        let mut metrics = Metrics::default();
        let (turn, builtin) = if config.no_turn {
            (None, None)
        } else {
            let (server, builtin) = turn::bind(config, metrics.registry_mut())
                .await
                .with_context(|| format!("starting STUN/TURN on {}", config.turn_listen))?;
            (Some(server), Some(builtin))
        };
        let (sfu, sfu_router) = match config.media_mode {
            MediaMode::Sfu => {
                let (bridge, router) = sfu::bind(config, metrics.registry_mut())?;
                (Some(bridge), Some(router))
            }
            MediaMode::Mesh => (None, None),
        };
        let web = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let ice = IceServers {
            operator: config.ice_servers(),
            builtin,
        };
        let metrics = Arc::new(metrics);
        let registry = Arc::new(LocalRegistry::new(room_policy(config)));
        let collab = Collab::new(store, registry, clock, metrics.clone(), bot);
        let signaling = Arc::new(Signaling {
            collab,
            metrics,
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

    /// Serves until shutdown, then stops the SFU and stores what is not stored yet.
    pub async fn serve(self) -> anyhow::Result<()> {
        let shutdown = self.signaling.shutdown.clone();
        let collab = self.signaling.collab.clone();
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
        let scheduler = collab.clone().run_scheduler(shutdown.clone());
        let (web, turn, (), ()) = tokio::join!(web, turn, sfu, scheduler);
        collab.flush().await;
        web.context("web server")?;
        turn.context("STUN/TURN server")?;
        Ok(())
    }
}

fn room_policy(config: &Config) -> RoomPolicy {
    RoomPolicy {
        media_mode: config.media_mode,
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
