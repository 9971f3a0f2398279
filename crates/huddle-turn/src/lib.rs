//! huddle's built-in STUN/TURN server.
//! (API documentation is written at the end of the work.)

mod auth;
mod config;
pub mod core;
pub mod framing;
mod metrics;
mod nonce;
mod peer_policy;

pub use auth::{rest_credentials, rest_password, Credentials};
pub use config::{IpNet, TurnConfig};
pub use metrics::{DropReason, TurnMetrics};
pub use peer_policy::PeerPolicy;
mod driver;

pub use driver::{run, TurnServer};
