//! Configuration: command-line flags, each also read from a `HUDDLE_*` environment variable, and an
//! optional TOML file (`--config`) whose keys are the flag names. Precedence: flag, environment,
//! file, default.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use serde::{Deserialize, Serialize};

use ipnet::IpNet;

use crate::protocol::IceServer;
use crate::rooms::{AutoSwitch, MediaPolicy};
use crate::store::Location;

mod cluster;
mod security;
pub use cluster::ClusterConfig;
pub use security::{Command, RoomPasswordSpec, SecurityConfig, TokenRequest};

#[derive(Debug, Clone, Parser, Serialize, Deserialize)]
#[command(
    name = "huddle",
    version,
    about = "Self-hostable video meetings in one binary"
)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    /// TOML file with settings; keys are the long flag names, e.g. `mesh-limit = 4`.
    #[arg(long, env = "HUDDLE_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address the web server (pages, /ws, /metrics) listens on.
    #[arg(long, env = "HUDDLE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Participants a forced mesh room (`--media-mode mesh`) holds; every pair has its own peer
    /// connection.
    #[arg(long, env = "HUDDLE_MESH_LIMIT", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(2..=16))]
    pub mesh_limit: u16,

    /// How rooms carry media: `auto` (peer to peer while small, through the SFU from
    /// `--sfu-threshold` participants), `mesh` (always peer to peer) or `sfu` (always the SFU).
    #[arg(long, env = "HUDDLE_MEDIA_MODE", value_enum, default_value_t = MediaModeSetting::Auto)]
    pub media_mode: MediaModeSetting,

    /// Participants from which an auto room uses the SFU.
    #[arg(long, env = "HUDDLE_SFU_THRESHOLD", default_value_t = 3,
          value_parser = clap::value_parser!(u16).range(2..))]
    pub sfu_threshold: u16,

    /// Seconds an auto room must stay small (2 participants, for the default threshold) before it
    /// goes back from the SFU to peer to peer.
    #[arg(long, env = "HUDDLE_SFU_HOLD", default_value_t = 30.0)]
    pub sfu_hold: f64,

    /// Participants an sfu or auto room holds.
    #[arg(long, env = "HUDDLE_MAX_PARTICIPANTS", default_value_t = 100,
          value_parser = clap::value_parser!(u16).range(2..))]
    pub max_participants: u16,

    /// UDP address of the SFU, one port for every client (`--media-mode sfu` or `auto`).
    #[arg(long, env = "HUDDLE_SFU_LISTEN", default_value = "0.0.0.0:7882")]
    pub sfu_listen: SocketAddr,

    /// SFU worker threads; a room of more than three spreads over them. Default: the number of CPUs.
    #[arg(long, env = "HUDDLE_SFU_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub sfu_workers: Option<u16>,

    /// Seconds the SFU keeps a participant whose connection died (ICE lost) waiting for the
    /// client to restart ICE; after that the client is told to connect anew (`sfu_ended`).
    #[arg(long, env = "HUDDLE_SFU_ICE_RESTART_GRACE", default_value_t = 20,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub sfu_ice_restart_grace: u16,

    /// ICE server handed to browsers, repeatable: `URL` or `URL|username|credential`,
    /// e.g. `stun:stun.example.org:3478` or `turn:turn.example.org:3478|alice|secret`.
    #[arg(long = "ice-server", env = "HUDDLE_ICE_SERVER", value_delimiter = ',')]
    pub ice_server: Vec<IceServerSpec>,

    /// Do not run the built-in STUN/TURN server.
    #[arg(long, env = "HUDDLE_NO_TURN")]
    pub no_turn: bool,

    /// Address of the built-in STUN/TURN server, UDP and TCP.
    #[arg(long, env = "HUDDLE_TURN_LISTEN", default_value = "0.0.0.0:3478")]
    pub turn_listen: SocketAddr,

    /// UDP ports TURN relays use, as `FIRST-LAST`.
    #[arg(long, env = "HUDDLE_RELAY_PORTS", default_value = "49152-65535")]
    pub relay_ports: PortRange,

    /// Shared secret of TURN credentials (coturn's `static-auth-secret`); random at each start when
    /// not given, which voids credentials handed out before a restart.
    #[arg(long, env = "HUDDLE_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// TURN realm.
    #[arg(long, env = "HUDDLE_TURN_REALM", default_value = "huddle")]
    pub turn_realm: String,

    /// Public address of this host behind a 1:1 NAT, advertised in relayed candidates and TURN URLs;
    /// repeatable (one IPv4, one IPv6).
    #[arg(
        long = "external-ip",
        env = "HUDDLE_EXTERNAL_IP",
        value_delimiter = ','
    )]
    pub external_ip: Vec<IpAddr>,

    /// Peer addresses TURN may relay to although they are private or loopback, as CIDRs; repeatable.
    #[arg(
        long = "turn-allow-peer",
        env = "HUDDLE_TURN_ALLOW_PEER",
        value_delimiter = ','
    )]
    pub turn_allow_peer: Vec<IpNet>,

    /// TURN allocations one participant may hold at once.
    #[arg(long, env = "HUDDLE_TURN_USER_QUOTA", default_value_t = 10)]
    pub turn_user_quota: usize,

    /// TURN allocations one client address (IPv6: its /64) may hold at once, all participants
    /// behind it together.
    #[arg(long, env = "HUDDLE_TURN_CLIENT_QUOTA", default_value_t = 100)]
    pub turn_client_quota: usize,

    /// Longest TURN allocation lifetime granted, in seconds (clients refresh before it ends).
    #[arg(long, env = "HUDDLE_TURN_MAX_LIFETIME", default_value_t = 3600)]
    pub turn_max_lifetime: u64,

    /// Relayed bytes per second one TURN allocation may carry; 0 is unlimited.
    #[arg(long, env = "HUDDLE_TURN_BANDWIDTH", default_value_t = 2_000_000)]
    pub turn_bandwidth: u64,

    /// Seconds between keepalive pings on an idle signaling connection.
    #[arg(long, env = "HUDDLE_KEEPALIVE_INTERVAL", default_value_t = 2.0, value_parser = seconds)]
    pub keepalive_interval: f64,

    /// Seconds of silence after which a signaling connection counts as dead.
    #[arg(long, env = "HUDDLE_KEEPALIVE_TIMEOUT", default_value_t = 7.0, value_parser = seconds)]
    pub keepalive_timeout: f64,

    /// Signaling messages per second one connection may send, sustained.
    #[arg(long, env = "HUDDLE_MESSAGE_RATE", default_value_t = 50.0)]
    pub message_rate: f64,

    /// Signaling messages one connection may send in a burst.
    #[arg(long, env = "HUDDLE_MESSAGE_BURST", default_value_t = 200.0)]
    pub message_burst: f64,

    /// Bytes of signaling messages per second one connection may send, sustained (bursts of four
    /// seconds' worth, and always one message of the largest size).
    #[arg(long, env = "HUDDLE_MESSAGE_BYTES_RATE", default_value_t = 262_144.0)]
    pub message_bytes_rate: f64,

    /// PostgreSQL database instead of SQLite, e.g. `postgres://huddle:secret@db.example/huddle`.
    #[arg(long, env = "HUDDLE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// OpenAI-compatible API base of the chat bot (`/prompt`), e.g. `https://api.example/v1`.
    #[arg(long, env = "HUDDLE_BOT_URL")]
    pub bot_url: Option<String>,

    /// Bearer token for the chat bot's endpoint.
    #[arg(long, env = "HUDDLE_BOT_KEY", hide_env_values = true)]
    pub bot_key: Option<String>,

    /// Model the chat bot asks for; required with `--bot-url`.
    #[arg(long, env = "HUDDLE_BOT_MODEL")]
    pub bot_model: Option<String>,

    /// Log output format.
    #[arg(long, env = "HUDDLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Directory of what huddle keeps, created on first run: the SQLite database (unless
    /// `--database-url`), the self-signed certificate, the token secret.
    #[arg(long, env = "HUDDLE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    #[command(flatten)]
    #[serde(flatten)]
    pub security: SecurityConfig,

    #[command(flatten)]
    #[serde(flatten)]
    pub cluster: ClusterConfig,

    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    Text,
    Json,
}

/// `--media-mode` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaModeSetting {
    Auto,
    Mesh,
    Sfu,
}

/// `--ice-server` as written: a URL, optionally with `|username|credential`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IceServerSpec(IceServer);

impl FromStr for IceServerSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split('|');
        let url = parts.next().unwrap_or_default().trim();
        let known_scheme = ["stun:", "stuns:", "turn:", "turns:"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        if !known_scheme {
            return Err(format!(
                "{url:?} is not a stun:, stuns:, turn: or turns: URL"
            ));
        }
        let (username, credential) = match (parts.next(), parts.next(), parts.next()) {
            (None, None, None) => (None, None),
            (Some(user), Some(secret), None) => (Some(user.to_owned()), Some(secret.to_owned())),
            _ => return Err("expected URL or URL|username|credential".to_owned()),
        };
        Ok(Self(IceServer {
            urls: vec![url.to_owned()],
            username,
            credential,
        }))
    }
}

impl TryFrom<String> for IceServerSpec {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<IceServerSpec> for String {
    fn from(spec: IceServerSpec) -> Self {
        let server = spec.0;
        match (server.username, server.credential) {
            (Some(user), Some(secret)) => format!("{}|{user}|{secret}", server.urls.join(",")),
            _ => server.urls.join(","),
        }
    }
}

/// `--relay-ports` as written: `FIRST-LAST`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = text.split_once('-').and_then(|(first, last)| {
            Some((first.trim().parse().ok()?, last.trim().parse().ok()?))
        });
        match parsed {
            Some((first, last)) if 0 < first && first <= last => Ok(Self { first, last }),
            _ => Err(format!("{text:?} is not a port range like 49152-65535")),
        }
    }
}

impl TryFrom<String> for PortRange {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<PortRange> for String {
    fn from(range: PortRange) -> Self {
        format!("{}-{}", range.first, range.last)
    }
}

/// A length of time in seconds, as flags take it: positive and finite, so that it always makes
/// a `Duration`.
pub(crate) fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 => Ok(seconds),
        _ => Err(format!("{text:?} is not a number of seconds above 0")),
    }
}

impl Config {
    /// The command line: every server flag is global, so that it also works after a subcommand
    /// (`huddle token --room r --token-secret s`).
    fn cli() -> clap::Command {
        Self::command().mut_args(|arg| arg.global(true))
    }

    /// Reads flags, environment and the `--config` file; exits with usage on bad flags.
    pub fn load() -> anyhow::Result<Self> {
        let matches = Self::cli().get_matches();
        Self::from_matches(&matches)
    }

    /// As [`Config::load`], from given arguments (the first is the program name).
    pub fn try_load_from<I, T>(args: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::cli().try_get_matches_from(args)?;
        Self::from_matches(&matches)
    }

    fn from_matches(matches: &ArgMatches) -> anyhow::Result<Self> {
        let config = Self::from_arg_matches(matches)?;
        let Some(path) = config.config.clone() else {
            return Ok(config);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        config
            .with_file(matches, &text)
            .with_context(|| format!("in config file {}", path.display()))
    }

    /// Takes each setting of the file unless a flag or environment variable gave it already.
    fn with_file(self, matches: &ArgMatches, text: &str) -> anyhow::Result<Self> {
        let file: toml::Table = text.parse()?;
        let path = self.config.clone();
        let mut merged = toml::Table::try_from(&self)?;
        for (key, value) in file {
            let id = key.replace('-', "_");
            if id == "config"
                || !Self::command()
                    .get_arguments()
                    .any(|arg| arg.get_id() == id.as_str())
            {
                bail!("unknown setting {key:?}");
            }
            if matches!(
                matches.value_source(&id),
                None | Some(ValueSource::DefaultValue)
            ) {
                merged.insert(key, value);
            }
        }
        let command = self.command.clone();
        let mut config: Self = merged.try_into()?;
        config.config = path;
        config.command = command;
        Ok(config)
    }

    pub fn ice_servers(&self) -> Vec<IceServer> {
        self.ice_server.iter().map(|spec| spec.0.clone()).collect()
    }

    /// How rooms carry media, with the auto switch's settings.
    pub fn media_policy(&self) -> MediaPolicy {
        match self.media_mode {
            MediaModeSetting::Mesh => MediaPolicy::Mesh,
            MediaModeSetting::Sfu => MediaPolicy::Sfu,
            MediaModeSetting::Auto => MediaPolicy::Auto(AutoSwitch {
                threshold: usize::from(self.sfu_threshold),
                hold: Duration::from_secs_f64(self.sfu_hold.max(0.0)),
            }),
        }
    }

    /// Whether rooms may ever use the SFU, so that it must run.
    pub fn needs_sfu(&self) -> bool {
        self.media_mode != MediaModeSetting::Mesh
    }

    /// SFU worker threads: as configured, else one per CPU.
    pub fn sfu_workers(&self) -> usize {
        match self.sfu_workers {
            Some(workers) => usize::from(workers),
            None => std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Where chat, whiteboards and the rest are kept.
    pub fn database(&self) -> Location {
        match &self.database_url {
            Some(url) => Location::Url(url.clone()),
            None => Location::DataDir(self.data_dir.clone()),
        }
    }

    pub fn keepalive(&self) -> (Duration, Duration) {
        (
            Duration::from_secs_f64(self.keepalive_interval),
            Duration::from_secs_f64(self.keepalive_timeout),
        )
    }
}

#[cfg(test)]
mod tests;
