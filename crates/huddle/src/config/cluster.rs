//! Settings of cluster mode (docs/cluster.md), flattened into [`super::Config`].

use clap::Args;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterConfig {
    /// Run as one node of a cluster: the Redis (or Valkey) URL of the node registry and the
    /// rooms' leases, e.g. `redis://redis.internal:6379/0`. Needs a PostgreSQL --database-url
    /// shared by every node, and --public-url.
    #[arg(long, env = "HUDDLE_CLUSTER", hide_env_values = true)]
    pub cluster: Option<String>,

    /// This node's name in the cluster (letters, digits, `.`, `_`, `-`). Default: one generated
    /// once and kept in `<data-dir>/node-id`.
    #[arg(long, env = "HUDDLE_NODE_ID")]
    pub node_id: Option<String>,

    /// How browsers reach this node's pages and WebSocket, e.g. `https://n2.meet.example`.
    #[arg(long, env = "HUDDLE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// On SIGTERM or `huddle drain`, how many seconds a cluster node waits for its rooms'
    /// members to move to other nodes before it stops (cutting off whoever is left, who then
    /// reconnect).
    #[arg(long, env = "HUDDLE_DRAIN_TIMEOUT", default_value_t = 600.0, value_parser = super::seconds)]
    pub drain_timeout: f64,
}

impl ClusterConfig {
    pub fn drain_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.drain_timeout)
    }
}
