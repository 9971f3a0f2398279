//! The load generator: one thread drives every synthetic participant through
//! one epoll — joins them one after another, lets the room settle, then
//! counts what subscribers receive over a window while reading the server's
//! CPU time and forwarding counter at the window's edges.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use super::contender::Contender;
use super::epoll::Epoll;
use super::participant::{Counting, Participant};
use super::publishing::Sends;
use super::signaling;
use super::stamp::Epoch;
use super::tally::Tally;
use crate::batch::RecvBatch;
use crate::server::RunningServer;
use crate::sys;

/// Peers' str0m timeouts (RTCP, STUN keepalives) are handled in a sweep this
/// often; publishers are served on their own cadence.
const SWEEP: Duration = Duration::from_millis(2);
const ROOM: &str = "bench";
pub const FORWARDED: &str = "huddle_sfu_packets_forwarded_total";
const WORKER_LAG: &str = "huddle_sfu_worker_lag_seconds";
const WORKER_FORWARDED: &str = "huddle_sfu_worker_packets_forwarded_total";
const SHEDDING: &str = "huddle_sfu_worker_shedding";
const KEYFRAMES_ONLY: &str = "huddle_sfu_worker_keyframes_only";
const FRAMES_LATE: &str = "huddle_sfu_frames_late_total";
const DATAGRAMS_STALE: &str = "huddle_sfu_datagrams_stale_total";
const FRAMES_SKIPPED: &str = "huddle_sfu_frames_skipped_total";
const JOINS_REFUSED: &str = "huddle_sfu_joins_refused_total";

/// Who joins, in order, and how long each phase lasts.
pub struct Plan {
    pub sfu: SocketAddr,
    /// What each participant sends, and the tile size it views video at.
    pub roster: Vec<(Sends, Option<(u32, u32)>)>,
    pub join_interval: Duration,
    /// How long after the last join to wait for everybody's first media.
    pub join_timeout: Duration,
    pub warmup: Duration,
    pub duration: Duration,
    pub cpus: Vec<usize>,
    /// The server's CPUs, to share with a busy loop once everybody joined (`--contend`).
    pub contend: Option<Vec<usize>>,
    /// The server's SFU workers, for the per-worker figures.
    pub workers: usize,
}

/// The server's side at one instant.
#[derive(Debug, Clone)]
struct Reading {
    cpu: Duration,
    forwarded: f64,
    /// Packets forwarded by each worker so far.
    by_worker: Vec<f64>,
    /// The slowest worker's lag over the last second.
    worker_lag: f64,
    shed: Shed,
}

/// What the SFU's workers shed (see huddle-media's `overload`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shed {
    /// The furthest a worker sheds: 0 nothing, 1 lower layers, 2 keyframes only.
    pub level: f64,
    /// Video subscriptions on keyframes only, in all workers.
    pub keyframes_only: f64,
    /// Frames forwarded to nobody because they waited past the delay bound (a counter).
    pub frames_late: f64,
    /// Datagrams dropped unread after waiting twice the delay bound (a counter).
    pub datagrams_stale: f64,
    /// Frames not sent to a subscriber whose send queue was too far behind (a counter).
    pub frames_skipped: f64,
    /// Newcomers refused with `room_overloaded` (a counter).
    pub joins_refused: f64,
}

impl Shed {
    fn read(metrics: &str) -> Self {
        Shed {
            level: signaling::max_series(metrics, SHEDDING).unwrap_or(0.0),
            keyframes_only: signaling::series(metrics, KEYFRAMES_ONLY).sum(),
            frames_late: signaling::metric(metrics, FRAMES_LATE).unwrap_or(0.0),
            datagrams_stale: signaling::metric(metrics, DATAGRAMS_STALE).unwrap_or(0.0),
            frames_skipped: signaling::metric(metrics, FRAMES_SKIPPED).unwrap_or(0.0),
            joins_refused: signaling::metric(metrics, JOINS_REFUSED).unwrap_or(0.0),
        }
    }
}

impl Reading {
    fn take(server: &RunningServer, workers: usize) -> anyhow::Result<Self> {
        let metrics = signaling::http_get(server.web_addr, "/metrics")?;
        let of_worker = |w: usize| format!("{WORKER_FORWARDED}{{worker=\"{w}\"}}");
        Ok(Reading {
            cpu: server.cpu_time()?,
            forwarded: signaling::metric(&metrics, FORWARDED).unwrap_or(f64::NAN),
            by_worker: (0..workers)
                .map(|w| signaling::metric(&metrics, &of_worker(w)).unwrap_or(0.0))
                .collect(),
            worker_lag: signaling::max_series(&metrics, WORKER_LAG).unwrap_or(f64::NAN),
            shed: Shed::read(&metrics),
        })
    }
}

pub struct Outcome {
    pub tally: Tally,
    /// Join sent to first media received, in µs, of those that got media.
    pub join_us: Vec<u64>,
    /// Participants that should receive media, and of those the ones that did.
    pub receivers: usize,
    pub receiving: usize,
    pub window: Duration,
    pub server_cpu: Duration,
    pub server_forwarded: f64,
    /// Each worker's share of the packets forwarded over the window.
    pub worker_shares: Vec<f64>,
    /// The slowest SFU worker's lag over the window's last second, in seconds.
    pub worker_lag: f64,
    /// At the window's end; its counters over the whole run.
    pub shed: Shed,
    pub rss_growth: u64,
    pub generator_cpu: Duration,
    pub generator_busy: Duration,
    pub errors: Vec<Value>,
    pub refused: u64,
}

pub fn run(server: &RunningServer, plan: &Plan) -> anyhow::Result<Outcome> {
    if let Some(&cpu) = plan.cpus.first() {
        sys::pin_to(&[cpu])?;
    }
    let mut gen = Generator::new(plan)?;
    let rss_before = server.rss_bytes()?;
    gen.join_all(server)?;
    let rss_growth = server.rss_bytes()?.saturating_sub(rss_before);
    let _contender = plan.contend.as_deref().map(Contender::start);
    gen.run_for(plan.warmup, false)?;
    let (cpu, busy) = (sys::thread_cpu_time(), sys::thread_busy_time());
    let before = Reading::take(server, plan.workers)?;
    let started = Instant::now();
    gen.run_for(plan.duration, true)?;
    let window = started.elapsed();
    let after = Reading::take(server, plan.workers)?;
    let (generator_cpu, generator_busy) =
        (sys::thread_cpu_time() - cpu, sys::thread_busy_time() - busy);
    let join_us = gen.join_times();
    Ok(Outcome {
        receivers: gen.expects.iter().filter(|e| **e).count(),
        receiving: join_us.len(),
        join_us,
        window,
        server_cpu: after.cpu - before.cpu,
        server_forwarded: after.forwarded - before.forwarded,
        worker_shares: shares(&before.by_worker, &after.by_worker),
        worker_lag: after.worker_lag,
        shed: after.shed,
        rss_growth,
        generator_cpu,
        generator_busy,
        errors: gen
            .participants
            .iter()
            .flat_map(|p| p.errors.clone())
            .take(5)
            .collect(),
        refused: gen.participants.iter().map(|p| p.peer.refused).sum(),
        tally: gen.tally,
    })
}

/// Each worker's share of what all forwarded between two readings.
fn shares(before: &[f64], after: &[f64]) -> Vec<f64> {
    let grown: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let total: f64 = grown.iter().sum();
    grown.iter().map(|g| g / total.max(1.0)).collect()
}

struct Generator<'a> {
    plan: &'a Plan,
    epoll: Epoll,
    participants: Vec<Participant>,
    /// Whether participant i should receive media (someone else publishes).
    expects: Vec<bool>,
    publishers: Vec<usize>,
    epoch: Epoch,
    tally: Tally,
    batch: RecvBatch,
    ready: Vec<u64>,
    last_sweep: Instant,
}

impl<'a> Generator<'a> {
    fn new(plan: &'a Plan) -> anyhow::Result<Self> {
        let expects = (0..plan.roster.len())
            .map(|i| {
                let mut others = plan.roster.iter().enumerate().filter(|(j, _)| *j != i);
                others.any(|(_, (s, _))| s.publishes())
            })
            .collect();
        let now = Instant::now();
        Ok(Generator {
            plan,
            epoll: Epoll::new()?,
            participants: Vec::new(),
            expects,
            publishers: Vec::new(),
            epoch: Epoch(now),
            tally: Tally::default(),
            batch: RecvBatch::default(),
            ready: Vec::new(),
            last_sweep: now,
        })
    }

    /// Joins the roster at the plan's pace, serving those already in, and
    /// returns once everybody who should receive media has, or at the timeout.
    fn join_all(&mut self, server: &RunningServer) -> anyhow::Result<()> {
        let mut next_join = Instant::now();
        let mut deadline = None;
        loop {
            let now = Instant::now();
            let joined = self.participants.len();
            if joined < self.plan.roster.len() && now >= next_join {
                self.add(server)?;
                next_join += self.plan.join_interval;
                continue;
            }
            if joined == self.plan.roster.len() {
                let deadline = *deadline.get_or_insert(now + self.plan.join_timeout);
                if now >= deadline || self.all_receiving() {
                    return Ok(());
                }
            }
            self.step(Some(next_join), false)?;
        }
    }

    fn add(&mut self, server: &RunningServer) -> anyhow::Result<()> {
        let i = self.participants.len();
        let (sends, tile) = self.plan.roster[i];
        let name = format!("bench-{i}");
        let p = Participant::join(server.web_addr, self.plan.sfu, ROOM, &name, sends, tile)
            .with_context(|| format!("participant {i} joining"))?;
        self.epoll.add(p.peer_fd(), 2 * i as u64)?;
        self.epoll.add(p.signaling_fd(), 2 * i as u64 + 1)?;
        if sends.publishes() {
            self.publishers.push(i);
        }
        self.participants.push(p);
        Ok(())
    }

    fn all_receiving(&self) -> bool {
        let participants = self.participants.iter().zip(&self.expects);
        participants
            .filter(|(_, e)| **e)
            .all(|(p, _)| p.first_media.is_some())
    }

    fn run_for(&mut self, time: Duration, counting: bool) -> anyhow::Result<()> {
        let end = Instant::now() + time;
        while Instant::now() < end {
            self.step(Some(end), counting)?;
        }
        Ok(())
    }

    /// Waits for sockets (at most until a publisher is due, the next sweep or
    /// `until`), then serves what is ready and what is due.
    fn step(&mut self, until: Option<Instant>, counting: bool) -> anyhow::Result<()> {
        let now = Instant::now();
        let publishes = self
            .publishers
            .iter()
            .filter_map(|&i| self.participants[i].next_publish());
        let wake = publishes
            .chain(until)
            .chain([self.last_sweep + SWEEP])
            .min()
            .expect("the sweep is always there");
        let mut ready = std::mem::take(&mut self.ready);
        self.epoll
            .wait(wake.saturating_duration_since(now), &mut ready)?;
        let mut count = Counting {
            epoch: self.epoch,
            tally: counting.then_some(&mut self.tally),
        };
        for &token in &ready {
            let i = (token / 2) as usize;
            let p = &mut self.participants[i];
            let served = if token % 2 == 0 {
                p.on_media(&mut self.batch, &mut count)
            } else {
                p.on_signaling()
            };
            served.with_context(|| format!("participant {i}"))?;
        }
        self.ready = ready;
        let now = Instant::now();
        if now >= self.last_sweep + SWEEP {
            self.last_sweep = now;
            for p in &mut self.participants {
                p.tick(now, &mut count);
            }
        } else {
            for &i in &self.publishers {
                self.participants[i].tick(now, &mut count);
            }
        }
        Ok(())
    }

    fn join_times(&self) -> Vec<u64> {
        let participants = self.participants.iter().zip(&self.expects);
        participants
            .filter(|(_, e)| **e)
            .filter_map(|(p, _)| Some((p.first_media? - p.join_sent).as_micros() as u64))
            .collect()
    }
}
