//! What the registry knows of a node. Nodes announce themselves with heartbeats that expire by
//! themselves (a key with a time to live), so a dead node is simply absent from what the driver
//! reads back; nothing here times nodes out.

use std::fmt;

/// A node's name in the cluster (`--node-id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub String);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a node takes new rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Serving,
    /// Moving its rooms away (an upgrade, a shutdown): it takes none.
    Draining,
}

/// How loaded a node is, as its last heartbeat said.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodeLoad {
    /// Participants connected to it.
    pub participants: u32,
    /// The busiest SFU worker's share of time spent working, 0 to 1.
    pub busy: f64,
    /// The longest a datagram waited for an SFU worker over the last second, in milliseconds:
    /// past a few tens, everybody's media on that worker is late.
    pub lag_ms: u32,
    /// Media the SFU sends out, in bits per second.
    pub bitrate: u64,
}

/// One live node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: NodeId,
    /// How browsers reach it (`--public-url`).
    pub public_url: String,
    pub state: NodeState,
    pub load: NodeLoad,
}
