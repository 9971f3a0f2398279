//! huddle-cluster: the sans-IO core of huddle's cluster mode.
//!
//! Every room has one home node. Which node that is, and whether a node may still act as a room's
//! home, are decisions made here from time and answers passed in; a driver talks to Redis (the
//! node registry and the leases) and feeds the answers back, and PostgreSQL refuses writes under
//! an epoch below the highest it took. The decisions open no connection and read no clock, so
//! each is tested with a fake one.
//!
//! - [`node`]: what the registry knows of a node (state, load), as heartbeats bring it.
//! - [`placement`]: choosing a home for a new room among serving nodes (power of two choices).
//! - [`lease`]: one room's home lease on one node: acquired with its fencing epoch, renewed, lost.
//! - [`directory`]: the thin driver over Redis (the maintained `redis` crate, its connection
//!   manager, one Lua script per lease step) that runs their requests.
//!
//! Imports go one way: this crate knows nothing of signaling, rooms or HTTP.

pub mod directory;
pub mod lease;
pub mod node;
pub mod placement;
#[cfg(feature = "testing")]
pub mod testing;

pub use directory::{Directory, DirectoryError};
pub use lease::{Acquired, Answer, Epoch, Lease, LeaseAction, LeaseState, LeaseTimes, Token};
pub use node::{Node, NodeId, NodeLoad, NodeState};
pub use placement::Placer;
