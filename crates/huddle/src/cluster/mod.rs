//! Cluster mode's node side (docs/cluster.md): this node's heartbeat in the cluster's Redis
//! directory (crate `huddle-cluster`), the rooms homed here under their leases, and the room
//! registry that sends a join to its room's home.
//!
//! A room lives on one node, its home, which holds the room's lease. A client's `join` reaching
//! another node is answered with a `redirect` to the home; signaling never goes through Redis.
//!
//! Redis going away never stops a running room. It makes this node not ready (`/readyz`, for a
//! load balancer choosing where new clients go) while `/healthz` stays up, and rooms that need a
//! home found or placed wait until it is back.

mod drain;
mod heartbeat;
mod homes;
mod keeper;
mod registry;

pub use drain::Leaving;
pub use heartbeat::ClusterNode;
pub use registry::ClusterRegistry;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use huddle_cluster::{Directory, Node, NodeId};
use tokio_util::sync::CancellationToken;

/// How long a heartbeat lasts: a node that stopped is gone from the others' view this soon.
const HEARTBEAT_TTL: Duration = Duration::from_secs(3);

/// What this node is in the cluster, made from the configuration at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The Redis URL of the directory.
    pub redis_url: String,
    pub node: NodeId,
    /// How browsers reach this node.
    pub public_url: String,
}

/// What the heartbeat learns and the rooms' homes use: the directory once it answered, and the
/// live nodes as the last heartbeat saw them.
pub struct Link {
    settings: ClusterSettings,
    directory: OnceLock<Directory>,
    roster: Roster,
}

impl Link {
    fn new(settings: ClusterSettings) -> Arc<Self> {
        let roster = Roster {
            siblings: siblings_of(&settings.public_url),
            ..Roster::default()
        };
        Arc::new(Link {
            settings,
            directory: OnceLock::new(),
            roster,
        })
    }

    fn me(&self) -> &NodeId {
        &self.settings.node
    }

    /// The directory, once the heartbeat connected to it.
    fn directory(&self) -> Option<&Directory> {
        self.directory.get()
    }
}

/// The live nodes as the last heartbeat that reached the directory saw them. Current while that
/// heartbeat is; otherwise this node is not ready and places no room. Whether this node drains.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    seen: Arc<Mutex<Option<Seen>>>,
    /// Cancelled when this node starts draining: it takes no new room and moves its rooms away.
    draining: CancellationToken,
    /// The WebSocket origins of nodes named like this one (`siblings_of`).
    siblings: Option<String>,
}

/// The nodes one heartbeat saw, and when.
#[derive(Debug)]
struct Seen {
    at: Instant,
    nodes: Vec<Node>,
}

impl Roster {
    /// Whether this node is ready for new clients: it does not drain, and its last heartbeat
    /// reached the directory within the heartbeat's lifetime.
    pub fn is_ready(&self, now: Instant) -> bool {
        !self.is_draining() && self.nodes(now).is_some()
    }

    fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    /// The live nodes, while the view of them is current.
    fn nodes(&self, now: Instant) -> Option<Vec<Node>> {
        let seen = self.seen.lock().expect("never poisoned");
        seen.as_ref()
            .filter(|seen| now.saturating_duration_since(seen.at) < HEARTBEAT_TTL)
            .map(|seen| seen.nodes.clone())
    }

    /// Where a page's signaling may be sent on (a `redirect`, a `migrate`): the WebSocket
    /// origins (`ws://host:port`, `wss://host`) of the nodes last seen, and of nodes named like
    /// this one, which a page loaded now may need later (a node added for a rolling upgrade).
    pub fn websocket_origins(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("never poisoned");
        let nodes = seen.as_ref().map_or(&[][..], |seen| &seen.nodes[..]);
        let live = nodes
            .iter()
            .filter_map(|node| websocket_origin(&node.public_url));
        live.chain(self.siblings.clone()).collect()
    }

    fn saw(&self, at: Instant, nodes: Vec<Node>) {
        *self.seen.lock().expect("never poisoned") = Some(Seen { at, nodes });
    }
}

/// The WebSocket origin of a node's public URL: `https://n2.example/` -> `wss://n2.example`.
fn websocket_origin(public_url: &str) -> Option<String> {
    let (scheme, authority) = websocket_authority(public_url)?;
    Some(format!("{scheme}://{authority}"))
}

/// The WebSocket origins of the nodes a deployment names like this one, as a CSP source: its
/// domain's other hosts (`https://n2.meet.example` -> `wss://*.meet.example`), or its address's
/// other ports (`http://10.0.0.5:8081` -> `ws://10.0.0.5:*`). None for a name of two labels.
fn siblings_of(public_url: &str) -> Option<String> {
    let (scheme, authority) = websocket_authority(public_url)?;
    // `[v6]:port`, `v4:port` or `name:port`, the port optional.
    let host_end = authority.find(']').map_or(0, |end| end + 1);
    let (host, port) = match authority[host_end..].find(':') {
        Some(colon) => authority.split_at(host_end + colon),
        None => (authority, ""),
    };
    if host
        .trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok()
    {
        return Some(format!("{scheme}://{host}:*"));
    }
    let any_port = if port.is_empty() { "" } else { ":*" };
    let (_, domain) = host.split_once('.')?;
    domain
        .contains('.')
        .then(|| format!("{scheme}://*.{domain}{any_port}"))
}

/// A public URL's WebSocket scheme and its authority (`host[:port]`).
fn websocket_authority(public_url: &str) -> Option<(&'static str, &str)> {
    let (scheme, rest) = public_url.split_once("://")?;
    let authority = rest.split('/').next().filter(|host| !host.is_empty())?;
    let scheme = match scheme {
        "https" => "wss",
        "http" => "ws",
        _ => return None,
    };
    Some((scheme, authority))
}

#[cfg(test)]
mod tests {
    use super::{siblings_of, websocket_origin};

    #[test]
    fn a_nodes_websocket_origin_comes_from_its_public_url() {
        assert_eq!(
            websocket_origin("https://n2.meet.example/").as_deref(),
            Some("wss://n2.meet.example")
        );
        assert_eq!(
            websocket_origin("http://127.0.0.1:8081").as_deref(),
            Some("ws://127.0.0.1:8081")
        );
        assert_eq!(websocket_origin("n2.meet.example"), None);
        assert_eq!(websocket_origin("ftp://n2"), None);
    }

    #[test]
    fn nodes_named_alike_are_the_domains_other_hosts_or_the_addresss_other_ports() {
        let siblings = |url| siblings_of(url);
        assert_eq!(
            siblings("https://n2.meet.example").as_deref(),
            Some("wss://*.meet.example")
        );
        assert_eq!(
            siblings("https://n2.meet.example:8443/").as_deref(),
            Some("wss://*.meet.example:*")
        );
        assert_eq!(
            siblings("http://127.0.0.1:8081").as_deref(),
            Some("ws://127.0.0.1:*")
        );
        assert_eq!(
            siblings("http://[::1]:8081").as_deref(),
            Some("ws://[::1]:*")
        );
        assert_eq!(
            siblings("https://meet.example"),
            None,
            "not every .example host"
        );
    }
}
