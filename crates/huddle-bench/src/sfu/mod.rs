//! SFU load, like LiveKit's `lk load-test`: synthetic str0m participants join
//! a huddle `sfu` room over the real signaling, publish stamped VP8 simulcast
//! and Opus, and subscribers count, time and check what arrives. The same run
//! measures the floor (SRTP encrypt + send) on the server's CPU.

mod contender;
pub(crate) mod epoll;
mod floor;
mod generator;
mod participant;
mod peer;
mod publishing;
mod report;
pub(crate) mod signaling;
mod stamp;
mod tally;
mod traffic;

use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::report::Report;
use crate::server::{free_port, RunningServer, ServerKind, ServerSpec};
use generator::Plan;
use publishing::Sends;
use traffic::Layer;

#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// N participants, each publishing simulcast video and audio, each
    /// viewing everybody at the tile size.
    Meeting,
    /// One ~1 Mbps presenter (video and audio), N receive-only subscribers.
    Webinar,
    /// M audio publishers, N receive-only subscribers.
    AudioOnly,
}

#[derive(Args)]
pub struct SfuArgs {
    #[arg(value_enum)]
    scenario: Scenario,
    /// Participants (meeting) or receive-only subscribers (webinar, audio-only).
    #[arg(long, short = 'n', default_value_t = 10)]
    participants: usize,
    /// Audio publishers (audio-only).
    #[arg(long, default_value_t = 5)]
    publishers: usize,
    /// Tile size meeting participants view each other at (`WxH`).
    #[arg(long, default_value = "640x360", value_parser = parse_tile)]
    tile: (u32, u32),
    #[arg(long, default_value_t = 20)]
    join_interval_ms: u64,
    /// Wait this long after the last join for everybody's first media.
    #[arg(long, default_value_t = 15_000)]
    join_timeout_ms: u64,
    #[arg(long, default_value_t = 3000)]
    warmup_ms: u64,
    #[arg(long, default_value_t = 10_000)]
    duration_ms: u64,
    /// SFU worker threads (1: the per-worker figures).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Packets the floor loop sends per run.
    #[arg(long, default_value_t = 300_000)]
    floor_packets: usize,
    #[arg(long, default_value = "target/release/huddle")]
    huddle_bin: std::path::PathBuf,
    /// CPUs the server (and the floor loop) run on (default: the first half).
    #[arg(long, value_delimiter = ',')]
    server_cpus: Option<Vec<usize>>,
    /// CPUs the generator runs on (default: the second half).
    #[arg(long, value_delimiter = ',')]
    client_cpus: Option<Vec<usize>>,
    /// Once everybody joined, a busy loop shares the server's CPU: the worker gets about half of
    /// it, so the call's load becomes about twice what it carries (the overload target).
    #[arg(long)]
    contend: bool,
    /// Runs; figures are medians over them.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long)]
    pub json: bool,
}

fn parse_tile(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once('x').ok_or("WxH, e.g. 640x360")?;
    Ok((
        w.parse().map_err(|e| format!("{e}"))?,
        h.parse().map_err(|e| format!("{e}"))?,
    ))
}

impl SfuArgs {
    /// Who joins, in order: publishers first, so subscribers' join times
    /// include getting media that already flows.
    fn roster(&self) -> Vec<(Sends, Option<(u32, u32)>)> {
        const SUBSCRIBER: Sends = Sends {
            video: &[],
            audio: false,
        };
        let subscribers = std::iter::repeat_n((SUBSCRIBER, None), self.participants);
        match self.scenario {
            Scenario::Meeting => {
                let member = Sends {
                    video: &traffic::SIMULCAST,
                    audio: true,
                };
                vec![(member, Some(self.tile)); self.participants]
            }
            Scenario::Webinar => {
                let presenter = Sends {
                    video: &traffic::PRESENTER,
                    audio: true,
                };
                std::iter::once((presenter, None))
                    .chain(subscribers)
                    .collect()
            }
            Scenario::AudioOnly => {
                let speaker = Sends {
                    video: &[],
                    audio: true,
                };
                let speakers = std::iter::repeat_n((speaker, None), self.publishers);
                speakers.chain(subscribers).collect()
            }
        }
    }

    /// The wire sizes of one second of what a subscriber receives from one
    /// publisher: the floor sends these.
    fn packet_mix(&self) -> Vec<usize> {
        let video: Option<Layer> = match self.scenario {
            Scenario::Meeting => traffic::SIMULCAST
                .iter()
                .rev()
                .find(|l| u32::from(l.height) <= self.tile.1)
                .or(traffic::SIMULCAST.first())
                .copied(),
            Scenario::Webinar => Some(traffic::PRESENTER[0]),
            Scenario::AudioOnly => None,
        };
        let mut mix = traffic::audio_packets_per_second();
        mix.extend(video.iter().flat_map(Layer::packets_per_second));
        mix
    }
}

impl SfuArgs {
    /// Packets/s the subscribers should receive in all: one publisher's
    /// [`packet_mix`](Self::packet_mix) for every (receiver, other publisher) pair.
    fn expected_per_sec(&self) -> f64 {
        let roster = self.roster();
        let publishers = roster.iter().filter(|(s, _)| s.publishes()).count();
        let pairs: usize = roster
            .iter()
            .map(|(s, _)| publishers - usize::from(s.publishes()))
            .sum();
        (pairs * self.packet_mix().len()) as f64
    }
}

pub fn run(args: &SfuArgs) -> anyhow::Result<Report> {
    let (server_cpus, client_cpus) =
        crate::split_cpus(args.server_cpus.clone(), args.client_cpus.clone());
    let mut runs = Vec::new();
    for run in 0..args.runs.max(1) {
        let floor_us = floor::micros_per_packet(
            &args.packet_mix(),
            args.floor_packets,
            server_cpus.first().copied(),
            client_cpus.first().copied(),
        )?;
        let outcome = one_run(args, run, &server_cpus, &client_cpus)?;
        runs.push(report::RunFigures::new(
            &outcome,
            floor_us,
            args.expected_per_sec(),
        ));
    }
    Ok(report::build(args, &runs))
}

fn one_run(
    args: &SfuArgs,
    run: usize,
    server_cpus: &[usize],
    client_cpus: &[usize],
) -> anyhow::Result<generator::Outcome> {
    let sfu = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let data = std::env::temp_dir().join(format!("huddle-bench-sfu-{}-{run}", std::process::id()));
    let extra_args = [
        "--media-mode",
        "sfu",
        "--sfu-workers",
        &args.workers.to_string(),
        "--sfu-listen",
        &sfu.to_string(),
        "--max-participants",
        "5000",
        "--max-connections-per-ip",
        "100000",
        "--max-http-connections-per-ip",
        "100000",
        "--joins-per-minute",
        "1000000",
        "--data-dir",
        &data.to_string_lossy(),
    ];
    let spec = ServerSpec {
        kind: ServerKind::Huddle,
        bin: args.huddle_bin.clone(),
        cpus: server_cpus.to_vec(),
        extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
    };
    let server = RunningServer::start(&spec)?;
    let plan = Plan {
        sfu,
        roster: args.roster(),
        join_interval: Duration::from_millis(args.join_interval_ms),
        join_timeout: Duration::from_millis(args.join_timeout_ms),
        warmup: Duration::from_millis(args.warmup_ms),
        duration: Duration::from_millis(args.duration_ms),
        cpus: client_cpus.to_vec(),
        contend: args.contend.then(|| server_cpus.to_vec()),
        workers: args.workers,
    };
    // Its own thread: the generator pins itself to the client CPUs.
    let outcome = std::thread::scope(|s| {
        s.spawn(|| generator::run(&server, &plan))
            .join()
            .expect("generator panicked")
    });
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    outcome
}
