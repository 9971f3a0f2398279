//! huddle: video meetings in one binary.
//!
//! Layers import one way: `rooms` (membership, no I/O) <- `signaling` (WebSocket sessions) <-
//! `http` (the web edge). `protocol` and `metrics` are leaves every layer may use.

pub mod config;
pub mod http;
pub mod ice;
pub mod metrics;
pub mod protocol;
pub mod rooms;
pub mod signaling;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use config::Config;
use ice::IceServers;
use metrics::Metrics;
use rooms::LocalRegistry;
use signaling::{RateSettings, Signaling, SignalingSettings};

/// Builds the signaling service a configuration describes, on a single node.
pub fn signaling(config: &Config, metrics: Metrics, shutdown: CancellationToken) -> Arc<Signaling> {
    let (keepalive_interval, keepalive_timeout) = config.keepalive();
    Arc::new(Signaling {
        registry: Arc::new(LocalRegistry::new(usize::from(config.mesh_limit))),
        metrics: Arc::new(metrics),
        settings: SignalingSettings {
            ice: IceServers {
                operator: config.ice_servers(),
                builtin: None,
            },
            keepalive_interval,
            keepalive_timeout,
            rate: RateSettings {
                per_second: config.message_rate,
                burst: config.message_burst,
            },
        },
        shutdown,
    })
}
