//! `huddle-bench`: load tests that run huddle and coturn one after the other
//! under the same load and print the figures side by side.

mod batch;
mod cluster;
mod compare;
mod credentials;
mod idle;
mod memory;
mod offload;
mod reflector;
mod relay_load;
mod report;
mod server;
mod sfu;
mod stats;
mod stun;
mod stun_load;
mod sys;
mod turn_client;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::server::ServerKind;

#[derive(Parser)]
#[command(about = "Load tests: STUN/TURN against coturn, and the SFU against its floor")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Closed-loop STUN Binding requests; measures responses/s.
    Stun(StunArgs),
    /// TURN relaying: highest ChannelData rate with zero loss, and memory per allocation.
    Turn(TurnArgs),
    /// The STUN load against the bench's own batched reflector on the server
    /// CPUs: the most the generator can drive.
    Calibrate(StunArgs),
    /// SFU load: synthetic str0m participants in a huddle sfu room, and the
    /// SRTP floor on the server's CPU.
    Sfu(sfu::SfuArgs),
    /// Idle participants over the real signaling: the server's memory with them, and after
    /// they left, round after round.
    Idle(idle::IdleArgs),
    /// A cluster of nodes with their own Redis and PostgreSQL: joins per second through every
    /// node, placement balance, and how long a node's drain takes.
    Cluster(cluster::ClusterArgs),
}

#[derive(Args, Clone)]
pub struct Common {
    /// The huddle binary to run.
    #[arg(long, default_value = "target/release/huddle")]
    huddle_bin: PathBuf,
    /// coturn's server binary.
    #[arg(long, default_value = "turnserver")]
    coturn_bin: PathBuf,
    /// Which servers to run, in this order.
    #[arg(long, value_delimiter = ',', default_values = ["huddle", "coturn"])]
    servers: Vec<String>,
    /// CPUs the server runs on (default: the first half of this machine's).
    #[arg(long, value_delimiter = ',')]
    server_cpus: Option<Vec<usize>>,
    /// CPUs the load generator runs on (default: the second half).
    #[arg(long, value_delimiter = ',')]
    client_cpus: Option<Vec<usize>>,
    /// Runs per server; figures are medians over them.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The generator's receiving sockets do not ask for `UDP_GRO`: a server's
    /// segmented sends are cut into datagrams at the receiving socket, which on
    /// loopback the sending server pays for.
    #[arg(long)]
    no_gro: bool,
}

#[derive(Args)]
pub struct StunArgs {
    #[command(flatten)]
    common: Common,
    /// Generator threads (default: one per client CPU).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, default_value_t = 8)]
    sockets_per_thread: usize,
    /// Requests outstanding per socket.
    #[arg(long, default_value_t = 32)]
    in_flight: usize,
    #[arg(long, default_value_t = 2000)]
    duration_ms: u64,
    #[arg(long, default_value_t = 300)]
    warmup_ms: u64,
}

#[derive(Args)]
pub struct TurnArgs {
    #[command(flatten)]
    common: Common,
    /// Allocations carrying the relay load.
    #[arg(long, default_value_t = 100)]
    allocations: usize,
    /// Peer sockets the allocations' channels point at.
    #[arg(long, default_value_t = 4)]
    peers: usize,
    /// ChannelData payload bytes.
    #[arg(long, default_value_t = 1000)]
    payload: usize,
    /// Length of one trial of the ramp.
    #[arg(long, default_value_t = 1000)]
    trial_ms: u64,
    #[arg(long, default_value_t = 20_000.0)]
    start_pps: f64,
    #[arg(long, default_value_t = 4_000_000.0)]
    max_pps: f64,
    #[arg(long, default_value_t = 5)]
    bisect_steps: usize,
    /// Allocations for the memory figure.
    #[arg(long, default_value_t = 10_000)]
    memory_allocations: usize,
    #[arg(long, default_value_t = 3)]
    memory_runs: usize,
    #[arg(long)]
    skip_relay: bool,
    #[arg(long)]
    skip_memory: bool,
}

impl Common {
    fn kinds(&self) -> anyhow::Result<Vec<ServerKind>> {
        self.servers
            .iter()
            .map(|s| match s.as_str() {
                "huddle" => Ok(ServerKind::Huddle),
                "coturn" => Ok(ServerKind::Coturn),
                other => anyhow::bail!("unknown server {other:?} (huddle or coturn)"),
            })
            .collect()
    }

    /// Server and generator CPUs: disjoint halves unless given, so neither
    /// side steals the other's core.
    fn cpus(&self) -> (Vec<usize>, Vec<usize>) {
        split_cpus(self.server_cpus.clone(), self.client_cpus.clone())
    }
}

/// Server and generator CPUs: disjoint halves of this machine's unless given.
pub fn split_cpus(
    server: Option<Vec<usize>>,
    client: Option<Vec<usize>>,
) -> (Vec<usize>, Vec<usize>) {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (server_half, client_half) = if n >= 2 {
        ((0..n / 2).collect(), (n / 2..n).collect())
    } else {
        (Vec::new(), Vec::new())
    };
    (server.unwrap_or(server_half), client.unwrap_or(client_half))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    sys::raise_fd_limit()?;
    let (report, json) = match cli.mode {
        Mode::Stun(args) => (compare::stun(&args)?, args.common.json),
        Mode::Turn(args) => (compare::turn(&args)?, args.common.json),
        Mode::Calibrate(args) => (compare::calibrate(&args)?, args.common.json),
        Mode::Sfu(args) => (sfu::run(&args)?, args.json),
        // Memory over rounds, not a comparison: it prints its own table.
        Mode::Idle(args) => return idle::run(&args),
        Mode::Cluster(args) => return cluster::run(&args),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
