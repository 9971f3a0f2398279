//! Shared pieces of huddle's fuzz targets: a TURN core with a fixed
//! configuration and a fake clock that checks its outputs as it drains them
//! ([`turn`]), and a TURN client that signs its requests ([`client`]).
//!
//! Everything is deterministic: the server's seed, the configuration and the
//! clock (relative to one `Instant` taken per process) are fixed, so a nonce the
//! server issues at time zero is the same in every run. That is what lets the
//! committed seed corpus carry correctly signed requests.

pub mod client;

pub mod turn;
