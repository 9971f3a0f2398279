//! huddle's built-in STUN/TURN server (RFC 8489 Binding, RFC 8656 relaying).
//!
//! Two layers, like str0m:
//!
//! - [`core::Server`], a **sans-IO state machine**: allocations, permissions
//!   (300 s), channels (600 s), nonces and lifetimes. Bytes and `now: Instant`
//!   go in through [`core::Server::handle_input`] / [`core::Server::handle_timeout`];
//!   packets to send and relay sockets to open come out of
//!   [`core::Server::poll_output`], the next wake-up from
//!   [`core::Server::poll_timeout`]. No sockets, locks, threads or wall clock.
//! - [`TurnServer`], a **thin tokio driver** owning the UDP socket, the TCP
//!   listener (same port), the relay sockets and the clock. Stream clients are
//!   served by a function generic over `AsyncRead + AsyncWrite`, so TURN over
//!   TLS later is one more listener handing in its streams.
//!
//! # What the server calls
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use huddle_turn::{rest_credentials, TurnConfig, TurnMetrics, TurnServer};
//!
//! # async fn example() -> std::io::Result<()> {
//! let mut config = TurnConfig::new("huddle.example.org", b"shared secret".to_vec());
//! config.listen = "0.0.0.0:3478".parse().unwrap();
//! config.external_ips = vec!["203.0.113.7".parse().unwrap()]; // what clients are told
//!
//! let metrics = Arc::new(TurnMetrics::new());
//! let mut registry = prometheus_client::registry::Registry::default();
//! metrics.register(&mut registry); // huddle_turn_* metrics
//!
//! let server = TurnServer::bind(config.clone(), metrics).await?; // port 0 works too
//! println!("TURN on {}", server.local_addr());
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! tokio::spawn(server.run(shutdown));
//!
//! // In the join reply: ephemeral credentials, coturn REST-API style.
//! let now_unix = 1_700_000_000;
//! let creds = rest_credentials(&config.secret, "participant-42", Duration::from_secs(3600), now_unix);
//! // creds.username == "1700003600:participant-42", creds.password == base64(HMAC-SHA1(secret, username))
//! # Ok(()) }
//! ```
//!
//! Or in one call: [`run`]`(config, metrics, shutdown)`.
//!
//! # Behaviour
//!
//! - Long-term credentials: MESSAGE-INTEGRITY checked against
//!   `base64(HMAC-SHA1(secret, username))`, username `<unix-expiry>:<id>`;
//!   expired or wrong credentials get 401, stale or forged nonces 438,
//!   another user on the same 5-tuple 441. Responses carry MESSAGE-INTEGRITY and FINGERPRINT.
//! - Safe by default: peers that are loopback, private (RFC 1918, ULA, CGNAT),
//!   link-local, multicast, unspecified or this server get 403, unless listed in
//!   [`TurnConfig::allow_peers`].
//! - Per-user quota (486, counted per user id, not per username), lifetimes
//!   between [`TurnConfig::default_lifetime`] and [`TurnConfig::max_lifetime`],
//!   a token bucket per allocation ([`TurnConfig::bandwidth_bytes_per_sec`],
//!   excess dropped), EVEN-PORT / RESERVATION-TOKEN for RTP/RTCP pairs.
//! - Every packet dropped without an answer is counted by [`DropReason`].
//! - Set [`TurnConfig::external_ips`] or a specific [`TurnConfig::relay_bind_ip`]
//!   when listening on `0.0.0.0`: the relayed address advertised to clients is
//!   taken from them (and from `listen` last).

mod address;
mod auth;
mod config;
pub mod core;
mod driver;
pub mod framing;
mod metrics;
mod nonce;
mod peer_policy;

pub use address::address_key;
pub use auth::{rest_credentials, rest_password, Credentials};
pub use config::{IpNet, TurnConfig};
pub use driver::{run, ClientStream, StreamIntake, StreamIo, TurnServer};
pub use metrics::{DropReason, TurnMetrics};
pub use peer_policy::PeerPolicy;
