//! This node's heartbeat: it says every second that the node is alive, with its load, and reads
//! back which nodes are.

use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_cluster::{Directory, Node, NodeLoad, NodeState};
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

    /// Heartbeats every second with this node's load (`census`) until `shutdown`, then leaves the
    /// directory at once.
    pub async fn run(self, census: impl Fn() -> Census, shutdown: CancellationToken) {
        let Some(directory) = self.connect(&shutdown).await else {
            return;
        };
        let directory = self.link.directory.get_or_init(|| directory);
        let mut ticks = tokio::time::interval(HEARTBEAT_EVERY);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let node = self.node(census());
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

    fn node(&self, census: Census) -> Node {
        let settings = &self.link.settings;
        Node {
            id: settings.node.clone(),
            public_url: settings.public_url.clone(),
            state: NodeState::Serving,
            load: NodeLoad {
                participants: u32::try_from(census.participants).unwrap_or(u32::MAX),
                // The SFU workers' busy share is not reported yet: placement weighs participants.
                busy: 0.0,
            },
        }
    }
}
