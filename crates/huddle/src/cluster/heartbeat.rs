//! This node's heartbeat: it says every second that the node is alive, with its load, and reads
//! back which nodes are.

use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_cluster::{Directory, Node, NodeLoad, NodeState};
use huddle_media::Strain;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::{ClusterSettings, Link, Roster, HEARTBEAT_TTL};
use crate::metrics::Census;

/// How often this node says it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// A Redis request that takes longer failed: a heartbeat must not wait out its own lifetime.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Keys of the cluster's directory start with this.
const PREFIX: &str = "huddle:";

#[derive(Default)]
struct ClusterMetrics {
    nodes: Gauge,
    heartbeats_failed: Counter,
}

/// This node in the cluster; [`ClusterNode::run`] keeps its heartbeat going.
pub struct ClusterNode {
    link: Arc<Link>,
    metrics: ClusterMetrics,
}

impl ClusterNode {
    pub fn new(settings: ClusterSettings, registry: &mut Registry) -> Self {
        let metrics = ClusterMetrics::default();
        registry.register(
            "huddle_cluster_nodes",
            "Nodes of the cluster alive in its directory, this one included",
            metrics.nodes.clone(),
        );
        registry.register(
            "huddle_cluster_heartbeats_failed",
            "Heartbeats that did not reach the cluster's Redis",
            metrics.heartbeats_failed.clone(),
        );
        ClusterNode {
            link: Link::new(settings),
            metrics,
        }
    }

    /// What the rooms' homes share with the heartbeat.
    pub fn link(&self) -> Arc<Link> {
        Arc::clone(&self.link)
    }

    /// The nodes last seen, and so whether this node is ready.
    pub fn roster(&self) -> Roster {
        self.link.roster.clone()
    }

    /// Heartbeats every second with this node's load (the rooms' `census`, the SFU's `strain`
    /// when it runs) until `shutdown`, then leaves the directory at once.
    pub async fn run(
        self,
        census: impl Fn() -> Census,
        strain: impl Fn() -> Option<Strain>,
        shutdown: CancellationToken,
    ) {
        let Some(directory) = self.connect(&shutdown).await else {
            return;
        };
        let directory = self.link.directory.get_or_init(|| directory);
        let mut ticks = tokio::time::interval(HEARTBEAT_EVERY);
        let mut failing = false;
        let mut meter = LoadMeter::default();
        loop {
            let draining = &self.link.roster.draining;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {}
                // The others stop placing rooms here at once.
                _ = draining.cancelled(), if !draining.is_cancelled() => {}
            }
            let load = meter.load(census(), strain(), Instant::now());
            let node = self.node(load);
            let beat = directory.heartbeat(&node, HEARTBEAT_TTL).await;
            let seen = match beat {
                Ok(()) => directory.nodes().await,
                Err(e) => Err(e),
            };
            match seen {
                Ok(nodes) => {
                    self.metrics.nodes.set(nodes.len() as i64);
                    self.link.roster.saw(Instant::now(), nodes);
                    if std::mem::take(&mut failing) {
                        tracing::info!("the cluster's Redis answers again: ready");
                    }
                }
                Err(e) => {
                    self.metrics.heartbeats_failed.inc();
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(
                            "cluster heartbeat failed, not ready until Redis answers: {e}"
                        );
                    }
                }
            }
        }
        if let Err(e) = directory.forget(self.link.me()).await {
            tracing::info!("could not leave the cluster's directory (gone when it expires): {e}");
        }
    }

    /// Connects to the directory, retrying every heartbeat until it answers or shutdown.
    async fn connect(&self, shutdown: &CancellationToken) -> Option<Directory> {
        let mut warned = false;
        loop {
            let url = &self.link.settings.redis_url;
            match Directory::connect(url, PREFIX, REDIS_TIMEOUT).await {
                Ok(directory) => {
                    tracing::info!(node = %self.link.me(), "in the cluster");
                    return Some(directory);
                }
                Err(e) if !std::mem::replace(&mut warned, true) => {
                    tracing::warn!("cannot reach the cluster's Redis yet, not ready: {e}");
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(HEARTBEAT_EVERY) => {}
            }
        }
    }

    fn node(&self, load: NodeLoad) -> Node {
        let settings = &self.link.settings;
        Node {
            id: settings.node.clone(),
            public_url: settings.public_url.clone(),
            state: if self.link.roster.is_draining() {
                NodeState::Draining
            } else {
                NodeState::Serving
            },
            load,
        }
    }
}

/// Makes each heartbeat's load: the SFU's outgoing bitrate is its bytes' growth since the last.
#[derive(Debug, Default)]
struct LoadMeter {
    last: Option<(Instant, u64)>,
}

impl LoadMeter {
    fn load(&mut self, census: Census, strain: Option<Strain>, now: Instant) -> NodeLoad {
        let strain = strain.unwrap_or_default();
        let bitrate = match self.last.replace((now, strain.bytes_forwarded)) {
            Some((then, bytes)) => {
                let seconds = now.saturating_duration_since(then).as_secs_f64();
                let bits = strain.bytes_forwarded.saturating_sub(bytes) as f64 * 8.0;
                (bits / seconds.max(f64::MIN_POSITIVE)) as u64
            }
            None => 0,
        };
        NodeLoad {
            participants: u32::try_from(census.participants).unwrap_or(u32::MAX),
            busy: strain.busiest_share.clamp(0.0, 1.0),
            lag_ms: u32::try_from(strain.worst_lag.as_millis()).unwrap_or(u32::MAX),
            bitrate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_carries_participants_the_busiest_worker_and_the_bitrate_since_the_last() {
        let mut meter = LoadMeter::default();
        let census = Census {
            rooms: 2,
            participants: 9,
        };
        let start = Instant::now();
        let strain = |bytes| Strain {
            busiest_share: 0.4,
            worst_lag: Duration::from_millis(12),
            bytes_forwarded: bytes,
        };
        let first = meter.load(census, Some(strain(1_000)), start);
        assert_eq!(
            first,
            NodeLoad {
                participants: 9,
                busy: 0.4,
                lag_ms: 12,
                bitrate: 0,
            }
        );
        let later = start + Duration::from_millis(500);
        let second = meter.load(census, Some(strain(126_000)), later);
        assert_eq!(second.bitrate, 2_000_000, "125 kB in half a second");
        let without_sfu = LoadMeter::default().load(census, None, start);
        assert_eq!(without_sfu.busy, 0.0);
    }
}
