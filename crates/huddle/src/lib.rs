//! huddle: video meetings in one binary.
//!
//! Layers import one way: `rooms` (membership, no I/O) <- `signaling` (WebSocket sessions) <-
//! `http` (the web edge). `protocol` and `metrics` are leaves every layer may use; `turn` wires the
//! built-in STUN/TURN server (crate `huddle-turn`) to the configuration.

pub mod config;
pub mod http;
pub mod ice;
pub mod metrics;
pub mod protocol;
pub mod rooms;
pub mod signaling;
mod turn;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use huddle_turn::TurnServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use config::Config;
use ice::IceServers;
use metrics::Metrics;
use rooms::LocalRegistry;
use signaling::{RateSettings, Signaling, SignalingSettings};

/// A huddle node with its sockets bound, ready to serve.
pub struct Huddle {
    pub signaling: Arc<Signaling>,
    web: TcpListener,
    turn: Option<TurnServer>,
}

impl Huddle {
    /// Binds the web server and, unless disabled, STUN/TURN. Serving stops when `shutdown` is
    /// cancelled.
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
        let web = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let ice = IceServers {
            operator: config.ice_servers(),
            builtin,
        };
        let signaling = Arc::new(Signaling {
            registry: Arc::new(LocalRegistry::new(usize::from(config.mesh_limit))),
            metrics: Arc::new(metrics),
            settings: signaling_settings(config, ice),
            shutdown,
        });
        Ok(Self {
            signaling,
            web,
            turn,
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

    /// Serves until shutdown; an error of either server stops both.
    pub async fn serve(self) -> anyhow::Result<()> {
        let shutdown = self.signaling.shutdown.clone();
        let web = http::serve(self.web, self.signaling);
        let Some(turn) = self.turn else {
            return Ok(web.await?);
        };
        let turn = turn.run(shutdown.clone().cancelled_owned());
        let (web, turn) = tokio::join!(web, turn);
        web.context("web server")?;
        turn.context("STUN/TURN server")?;
        Ok(())
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
