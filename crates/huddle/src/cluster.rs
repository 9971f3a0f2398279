//! Cluster mode's node side (issue 15, under way): this node's heartbeat in the cluster's Redis
//! directory (crate `huddle-cluster`), what it sees of the others, and whether it is ready. Rooms
//! are not placed across nodes yet: every node still serves the rooms its clients join.
//!
//! Redis going away never stops a running room. It makes this node not ready (`/readyz`, for a
//! load balancer choosing where new clients go) while `/healthz` stays up; the heartbeats start
//! again when Redis is back.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use huddle_cluster::{Directory, Node, NodeId, NodeLoad, NodeState};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::metrics::Census;

/// How often this node says it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How long a heartbeat lasts: a node that stopped is gone from the others' view this soon.
const HEARTBEAT_TTL: Duration = Duration::from_secs(3);
/// A Redis request that takes longer failed: a heartbeat must not wait out its own lifetime.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Keys of the cluster's directory start with this.
const PREFIX: &str = "huddle:";

/// What this node is in the cluster, made from the configuration at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The Redis URL of the directory.
    pub redis_url: String,
    pub node: NodeId,
    /// How browsers reach this node.
    pub public_url: String,
}

/// Whether this node is ready for new clients: its last heartbeat reached the directory within
/// the heartbeat's lifetime.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    last_heartbeat: Arc<Mutex<Option<Instant>>>,
}

impl Readiness {
    pub fn is_ready(&self, now: Instant) -> bool {
        let last = *self.last_heartbeat.lock().expect("never poisoned");
        last.is_some_and(|at| now.saturating_duration_since(at) < HEARTBEAT_TTL)
    }

    fn beat(&self, at: Instant) {
        *self.last_heartbeat.lock().expect("never poisoned") = Some(at);
    }
}

#[derive(Default)]
struct ClusterMetrics {
    nodes: Gauge,
    heartbeats_failed: Counter,
}

/// This node in the cluster; [`ClusterNode::run`] keeps its heartbeat going.
pub struct ClusterNode {
    settings: ClusterSettings,
    readiness: Readiness,
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
            settings,
            readiness: Readiness::default(),
            metrics,
        }
    }

    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Heartbeats every second with this node's load (`census`) until `shutdown`, then leaves the
    /// directory at once.
    pub async fn run(self, census: impl Fn() -> Census, shutdown: CancellationToken) {
        let Some(directory) = self.connect(&shutdown).await else {
            return;
        };
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
                    self.readiness.beat(Instant::now());
                    self.metrics.nodes.set(nodes.len() as i64);
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
        if let Err(e) = directory.forget(&self.settings.node).await {
            tracing::info!("could not leave the cluster's directory (gone when it expires): {e}");
        }
    }

    /// Connects to the directory, retrying every heartbeat until it answers or shutdown.
    async fn connect(&self, shutdown: &CancellationToken) -> Option<Directory> {
        let mut warned = false;
        loop {
            let url = &self.settings.redis_url;
            match Directory::connect(url, PREFIX, REDIS_TIMEOUT).await {
                Ok(directory) => {
                    tracing::info!(node = %self.settings.node, "in the cluster");
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
        Node {
            id: self.settings.node.clone(),
            public_url: self.settings.public_url.clone(),
            state: NodeState::Serving,
            load: NodeLoad {
                participants: u32::try_from(census.participants).unwrap_or(u32::MAX),
                // The SFU workers' busy share is not reported yet: placement weighs participants.
                busy: 0.0,
            },
        }
    }
}
