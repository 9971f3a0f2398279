//! `huddle-bench idle`: what idle participants cost the server. N participants join over the
//! real signaling, ten to a room by default, and do nothing but answer pings; the server's
//! resident memory is read before they come, once they all sit there, and after they all left,
//! for several rounds. The targets (docs/benchmarks.md): at most 50 KiB per participant at 10,000
//! in 1,000 rooms, back within 50 MB of the start once they left, and no growth from round to
//! round beyond 5%.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use crate::server::{free_port, RunningServer, ServerKind, ServerSpec};
use crate::sfu::epoll::Epoll;
use crate::sfu::signaling::{http_get, join, metric, Signaling};
use crate::sys;

/// Lets the server finish what joins and leaves set off before reading its memory.
const SETTLE: Duration = Duration::from_secs(3);
/// The longest a round may take to join everybody, or to see everybody gone.
const PHASE_LIMIT: Duration = Duration::from_secs(120);

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

#[derive(Args, Clone)]
pub struct IdleArgs {
    /// The huddle binary to run.
    #[arg(long, default_value = "target/release/huddle")]
    huddle_bin: PathBuf,
    /// Participants per round.
    #[arg(short = 'n', long, default_value_t = 10_000)]
    participants: usize,
    /// Participants per room.
    #[arg(long, default_value_t = 10)]
    room_size: usize,
    /// Rounds of everybody joining and leaving.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// The rooms' media mode (`auto`, the default, moves rooms of three or more to the SFU).
    #[arg(long, default_value = "auto")]
    media_mode: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One round's resident memory, in bytes.
#[derive(Debug, Clone, Copy, Serialize)]
struct Round {
    full: u64,
    after: u64,
}

#[derive(Debug, Serialize)]
struct IdleReport {
    participants: usize,
    rooms: usize,
    media_mode: String,
    start: u64,
    rounds: Vec<Round>,
    /// What one participant costs in the first round.
    bytes_per_participant: f64,
    /// How far above the start the server stays once everybody left, at worst.
    worst_left_behind: u64,
    /// The last round's full memory over the first's.
    growth: f64,
}

pub fn run(args: &IdleArgs) -> anyhow::Result<()> {
    let limit = sys::raise_fd_limit()?;
    if limit < args.participants as u64 + 100 {
        bail!(
            "{} participants need that many open files; the limit is {limit}",
            args.participants
        );
    }
    let data = std::env::temp_dir().join(format!("huddle-bench-idle-{}", std::process::id()));
    let server = RunningServer::start(&server_spec(args, &data)?)?;
    let result = measure(args, &server)
        .with_context(|| format!("the server's last words:\n{}", server.log_tail()));
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn server_spec(args: &IdleArgs, data: &std::path::Path) -> anyhow::Result<ServerSpec> {
    let sfu = format!("127.0.0.1:{}", free_port()?);
    // Default settings but for the limits one address would hit with thousands of participants.
    let extra_args = [
        "--media-mode",
        &args.media_mode,
        "--sfu-listen",
        &sfu,
        "--max-connections-per-ip",
        "1000000",
        "--max-http-connections-per-ip",
        "1000000",
        "--joins-per-minute",
        "100000000",
        "--data-dir",
        &data.to_string_lossy(),
    ];
    Ok(ServerSpec {
        kind: ServerKind::Huddle,
        bin: args.huddle_bin.clone(),
        cpus: Vec::new(),
        extra_args: extra_args.iter().map(|arg| arg.to_string()).collect(),
    })
}

fn measure(args: &IdleArgs, server: &RunningServer) -> anyhow::Result<IdleReport> {
    // One participant first, so that what the server builds once (pools, tables, the SFU's
    // threads' first allocations) counts in the start, not against the participants.
    Crowd::join(server, 1, args.room_size)?.leave(server)?;
    std::thread::sleep(SETTLE);
    let start = server.rss_bytes()?;
    let mut rounds = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let mut crowd = Crowd::join(server, args.participants, args.room_size)?;
        crowd.idle(SETTLE)?;
        let full = server.rss_bytes()?;
        crowd.leave(server)?;
        std::thread::sleep(SETTLE);
        rounds.push(Round {
            full,
            after: server.rss_bytes()?,
        });
    }
    let first = rounds.first().context("at least one round")?;
    let last = rounds.last().context("at least one round")?;
    Ok(IdleReport {
        participants: args.participants,
        rooms: args.participants.div_ceil(args.room_size),
        media_mode: args.media_mode.clone(),
        start,
        bytes_per_participant: first.full.saturating_sub(start) as f64 / args.participants as f64,
        worst_left_behind: rounds
            .iter()
            .map(|round| round.after.saturating_sub(start))
            .max()
            .unwrap_or(0),
        growth: last.full as f64 / first.full as f64,
        rounds,
    })
}

/// Participants connected to one server, who answer its pings and nothing else.
struct Crowd {
    members: Vec<Signaling>,
    epoll: Epoll,
    /// Who of them has been told `joined`, and how many.
    joined: Vec<bool>,
    joined_count: usize,
}

impl Crowd {
    /// Connects `count` participants, `room_size` to a room, and returns once all are in.
    fn join(server: &RunningServer, count: usize, room_size: usize) -> anyhow::Result<Self> {
        let mut crowd = Crowd {
            members: Vec::with_capacity(count),
            epoll: Epoll::new()?,
            joined: vec![false; count],
            joined_count: 0,
        };
        for n in 0..count {
            let mut member = Signaling::connect(server.web_addr)?;
            member.send(&join(
                &format!("idle-{}", n / room_size),
                &format!("p{n}"),
                false,
                false,
            ))?;
            crowd.epoll.add(member.fd(), n as u64)?;
            crowd.members.push(member);
            // Those already in keep answering pings while the others connect.
            crowd.serve(Duration::ZERO)?;
        }
        let deadline = Instant::now() + PHASE_LIMIT;
        while crowd.joined_count < count {
            if Instant::now() > deadline {
                let missing = count - crowd.joined_count;
                bail!("{missing} of {count} participants were not joined in {PHASE_LIMIT:?}");
            }
            crowd.serve(Duration::from_millis(50))?;
        }
        Ok(crowd)
    }

    /// Answers pings for `time`.
    fn idle(&mut self, time: Duration) -> anyhow::Result<()> {
        let until = Instant::now() + time;
        while Instant::now() < until {
            self.serve(Duration::from_millis(50))?;
        }
        Ok(())
    }

    /// Reads what arrived within `wait`, answering pings on the way.
    fn serve(&mut self, wait: Duration) -> anyhow::Result<()> {
        let mut ready = Vec::new();
        self.epoll.wait(wait, &mut ready)?;
        let mut messages = Vec::new();
        for token in ready {
            messages.clear();
            self.members[token as usize].receive(&mut messages)?;
            let joined = &mut self.joined[token as usize];
            if !*joined && messages.iter().any(|message| message["type"] == "joined") {
                *joined = true;
                self.joined_count += 1;
            }
            if let Some(error) = messages.iter().find(|message| message["type"] == "error") {
                bail!("participant {token} got an error: {error}");
            }
        }
        Ok(())
    }

    /// Everybody leaves; returns once the server counts nobody.
    fn leave(self, server: &RunningServer) -> anyhow::Result<()> {
        drop(self);
        let deadline = Instant::now() + PHASE_LIMIT;
        loop {
            let metrics = http_get(server.web_addr, "/metrics")?;
            if metric(&metrics, "huddle_participants") == Some(0.0) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("participants still in the server {PHASE_LIMIT:?} after they left");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn print_table(report: &IdleReport) {
    println!(
        "{} idle participants in {} rooms ({}), server RSS at start {:.1} MiB",
        report.participants,
        report.rooms,
        report.media_mode,
        report.start as f64 / MIB
    );
    println!("round   full MiB  after MiB");
    for (n, round) in report.rounds.iter().enumerate() {
        println!(
            "{:>5} {:>10.1} {:>10.1}",
            n + 1,
            round.full as f64 / MIB,
            round.after as f64 / MIB
        );
    }
    let verdict = |met: bool| if met { "met" } else { "missed" };
    let per_participant = report.bytes_per_participant / KIB;
    let left_behind = report.worst_left_behind as f64 / MIB;
    let growth = (report.growth - 1.0) * 100.0;
    println!(
        "per participant: {per_participant:.1} KiB (target <= 50: {})",
        verdict(per_participant <= 50.0)
    );
    println!(
        "left behind after all left, at worst: {left_behind:.1} MiB (target <= 50: {})",
        verdict(left_behind <= 50.0)
    );
    println!(
        "last round over the first: {growth:+.1}% (target within 5%: {})",
        verdict(growth.abs() <= 5.0)
    );
}
