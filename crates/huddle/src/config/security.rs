//! Settings of HTTPS, access control and abuse limits (docs/security.md), flattened into
//! [`super::Config`], and the `huddle token` subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::protocol::Role;

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SecurityConfig {
    /// PEM certificate chain: serve HTTPS (and TURN over TLS) with it; needs --tls-key.
    #[arg(long, env = "HUDDLE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "HUDDLE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a self-signed certificate generated once and kept in the data directory
    /// (for a LAN: browsers only allow cameras on secure origins beyond localhost).
    #[arg(long, env = "HUDDLE_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,

    /// Also listen for plain HTTP here and redirect every request to HTTPS.
    #[arg(long, env = "HUDDLE_HTTP_REDIRECT")]
    pub http_redirect: Option<SocketAddr>,

    /// TURN over TLS addresses, repeatable (e.g. also 0.0.0.0:443 on a dedicated address).
    /// Default with TLS on: port 5349 at the IP of --turn-listen.
    #[arg(
        long = "turns-listen",
        env = "HUDDLE_TURNS_LISTEN",
        value_delimiter = ','
    )]
    pub turns_listen: Vec<SocketAddr>,

    /// Secret that signs join tokens (HS256). Default: one generated once and kept in
    /// `<data-dir>/token-secret`.
    #[arg(long, env = "HUDDLE_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,

    /// Only people with a join token get in; roles come from tokens only.
    #[arg(long, env = "HUDDLE_REQUIRE_TOKEN")]
    pub require_token: bool,

    /// Bearer key of `POST /api/rooms/{room}/tokens`; the API is off without it.
    #[arg(long, env = "HUDDLE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// A room's password, `ROOM=PASSWORD`, repeatable; it replaces what hosts set.
    #[arg(
        long = "room-password",
        env = "HUDDLE_ROOM_PASSWORD",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub room_password: Vec<RoomPasswordSpec>,

    /// Origins (`https://meet.example.org`) whose pages may open the WebSocket, repeatable.
    /// Default: only pages served by this host (the Origin's host is the request's Host).
    #[arg(
        long = "allowed-origin",
        env = "HUDDLE_ALLOWED_ORIGIN",
        value_delimiter = ','
    )]
    pub allowed_origin: Vec<String>,

    /// Signaling connections open at once from one address.
    #[arg(long, env = "HUDDLE_MAX_CONNECTIONS_PER_IP", default_value_t = 20)]
    pub max_connections_per_ip: u32,

    /// Connections to the web server open at once from one address, of every kind (page loads,
    /// signaling, the API).
    #[arg(
        long,
        env = "HUDDLE_MAX_HTTP_CONNECTIONS_PER_IP",
        default_value_t = 100
    )]
    pub max_http_connections_per_ip: u32,

    /// Seconds a client may take to send a request's headers, from the connection or from the
    /// previous response: silent and idle connections close after it.
    #[arg(long, env = "HUDDLE_HTTP_HEADER_TIMEOUT", default_value_t = 15.0, value_parser = super::seconds)]
    pub http_header_timeout: f64,

    /// `join`s per minute from one address.
    #[arg(long, env = "HUDDLE_JOINS_PER_MINUTE", default_value_t = 30)]
    pub joins_per_minute: u32,

    /// Password attempts per minute from one address (right or wrong: guessing costs the same).
    #[arg(
        long,
        env = "HUDDLE_PASSWORD_ATTEMPTS_PER_MINUTE",
        default_value_t = 10
    )]
    pub password_attempts_per_minute: u32,

    /// Chat messages per second one participant may send (bursts of twice that).
    #[arg(long, env = "HUDDLE_CHAT_RATE", default_value_t = 5.0)]
    pub chat_rate: f64,

    /// Whiteboard messages per second one participant may send (bursts of twice that).
    #[arg(long, env = "HUDDLE_WHITEBOARD_RATE", default_value_t = 30.0)]
    pub whiteboard_rate: f64,
}

impl SecurityConfig {
    pub fn tls_enabled(&self) -> bool {
        self.tls_self_signed || self.tls_cert.is_some()
    }

    pub fn http_header_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.http_header_timeout)
    }
}

/// `--room-password` as written: `ROOM=PASSWORD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomPasswordSpec {
    pub room: String,
    pub password: String,
}

impl FromStr for RoomPasswordSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((room, password)) if !room.is_empty() && !password.is_empty() => Ok(Self {
                room: room.to_owned(),
                password: password.to_owned(),
            }),
            _ => Err("expected ROOM=PASSWORD".to_owned()),
        }
    }
}

impl TryFrom<String> for RoomPasswordSpec {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<RoomPasswordSpec> for String {
    fn from(spec: RoomPasswordSpec) -> Self {
        format!("{}={}", spec.room, spec.password)
    }
}

impl ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Host, Self::Participant, Self::Viewer]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Things `huddle` does instead of serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Print a signed join token and its link (uses --token-secret or the data directory's).
    Token(TokenRequest),
    /// Drain the node running with this --data-dir and wait until it stopped: in a cluster, its
    /// rooms move to other nodes without dropping the call (the same as SIGTERM).
    Drain,
}

#[derive(Debug, Clone, Args)]
pub struct TokenRequest {
    /// The room the token lets into.
    #[arg(long)]
    pub room: String,

    #[arg(long, value_enum, default_value_t = Role::Participant)]
    pub role: Role,

    /// How long the token is valid: `90s`, `15m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = crate::access::parse_ttl)]
    pub ttl: std::time::Duration,

    /// Display name the holder joins with.
    #[arg(long)]
    pub name: Option<String>,

    /// Address of the server for the printed link.
    #[arg(long, default_value = "http://localhost:8080")]
    pub url: String,
}
