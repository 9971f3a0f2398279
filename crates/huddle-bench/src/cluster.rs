//! `huddle-bench cluster`: a cluster of huddle nodes on this machine (docs/cluster.md), with its
//! own Redis and PostgreSQL. Participants join rooms through every node in turn, following
//! redirects to each room's home as browsers do: joins per second, and how evenly the rooms and
//! their participants spread over the nodes. Then the busiest node drains (SIGTERM): its members
//! follow their `migrate` to the rooms' next homes (joining with the pass, then leaving the old
//! node), and the figure is how long the node took to empty and stop.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use huddle_cluster::testing::{PostgresServer, RedisServer};
use serde::Serialize;
use serde_json::{json, Value};

use crate::server::{free_port, RunningServer, ServerKind, ServerSpec};
use crate::sfu::epoll::Epoll;
use crate::sfu::signaling::{http_get, metric, Signaling};
use crate::sys;

/// The longest the joins, or the drain, may take.
const PHASE_LIMIT: Duration = Duration::from_secs(120);
/// How long a join told `room_moving` waits before asking again, as a browser does (less: the
/// bench has no reason to be polite).
const MOVING_RETRY: Duration = Duration::from_millis(200);

#[derive(Args, Clone)]
pub struct ClusterArgs {
    /// The huddle binary to run.
    #[arg(long, default_value = "target/release/huddle")]
    huddle_bin: std::path::PathBuf,
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Participants joining.
    #[arg(short = 'n', long, default_value_t = 1_000)]
    participants: usize,
    #[arg(long, default_value_t = 50)]
    rooms: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct NodeFigures {
    id: String,
    rooms: f64,
    participants: f64,
}

#[derive(Debug, Serialize)]
struct ClusterReport {
    nodes: usize,
    participants: usize,
    rooms: usize,
    joins_per_second: f64,
    redirects: usize,
    placement: Vec<NodeFigures>,
    drained_node: String,
    drained_rooms: f64,
    migrated: usize,
    drain_seconds: f64,
}

pub fn run(args: &ClusterArgs) -> anyhow::Result<()> {
    let limit = sys::raise_fd_limit()?;
    if limit < 2 * args.participants as u64 + 100 {
        bail!(
            "{} participants need twice as many open files; the limit is {limit}",
            args.participants
        );
    }
    let redis = RedisServer::start();
    let postgres = PostgresServer::start();
    let data = std::env::temp_dir().join(format!("huddle-bench-cluster-{}", std::process::id()));
    let result = Cluster::start(args, &redis, &postgres, &data).and_then(|mut cluster| {
        let report = measure(args, &mut cluster);
        report.with_context(|| cluster.last_words())
    });
    let _ = std::fs::remove_dir_all(&data);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// The nodes, by id (`n1`, `n2`, ...).
struct Cluster {
    nodes: Vec<(String, RunningServer)>,
}

impl Cluster {
    fn start(
        args: &ClusterArgs,
        redis: &RedisServer,
        postgres: &PostgresServer,
        data: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let mut nodes = Vec::with_capacity(args.nodes);
        for n in 1..=args.nodes {
            let id = format!("n{n}");
            let web = SocketAddr::from(([127, 0, 0, 1], free_port()?));
            let sfu = format!("127.0.0.1:{}", free_port()?);
            let dir = data.join(&id);
            std::fs::create_dir_all(&dir)?;
            let extra_args = [
                "--cluster",
                &redis.url(),
                "--database-url",
                &postgres.url("postgres"),
                "--node-id",
                &id,
                "--public-url",
                &format!("http://{web}"),
                "--sfu-listen",
                &sfu,
                "--data-dir",
                &dir.to_string_lossy(),
                "--drain-timeout",
                "60",
                // Everybody comes from one address here.
                "--max-connections-per-ip",
                "1000000",
                "--max-http-connections-per-ip",
                "1000000",
                "--joins-per-minute",
                "100000000",
            ];
            let spec = ServerSpec {
                kind: ServerKind::Huddle,
                bin: args.huddle_bin.clone(),
                cpus: Vec::new(),
                extra_args: extra_args.iter().map(|arg| arg.to_string()).collect(),
            };
            nodes.push((id, RunningServer::start_at(&spec, web)?));
        }
        let cluster = Cluster { nodes };
        cluster.wait_until_all_see(args.nodes)?;
        Ok(cluster)
    }

    fn wait_until_all_see(&self, count: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        for (id, node) in &self.nodes {
            while self.metric(node, "huddle_cluster_nodes")? != count as f64 {
                if Instant::now() > deadline {
                    bail!("node {id} does not see {count} nodes in 20 s");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    fn metric(&self, node: &RunningServer, name: &str) -> anyhow::Result<f64> {
        let text = http_get(node.web_addr, "/metrics")?;
        Ok(metric(&text, name).unwrap_or(0.0))
    }

    fn last_words(&self) -> String {
        let words = self
            .nodes
            .iter()
            .map(|(id, node)| format!("{id}:\n{}", node.log_tail()));
        format!(
            "the nodes' last words:\n{}",
            words.collect::<Vec<_>>().join("\n")
        )
    }
}

fn measure(args: &ClusterArgs, cluster: &mut Cluster) -> anyhow::Result<ClusterReport> {
    let entries: Vec<SocketAddr> = cluster
        .nodes
        .iter()
        .map(|(_, node)| node.web_addr)
        .collect();
    let started = Instant::now();
    let mut crowd = Crowd::new()?;
    for n in 0..args.participants {
        let room = format!("room-{}", n % args.rooms);
        crowd.arrive(entries[n % entries.len()], &room, &format!("p{n}"))?;
        crowd.serve(Duration::ZERO)?;
    }
    crowd.until(
        |crowd| crowd.joined == args.participants,
        "everybody joined",
    )?;
    let joins_per_second = args.participants as f64 / started.elapsed().as_secs_f64();

    let mut placement = Vec::with_capacity(cluster.nodes.len());
    for (id, node) in &cluster.nodes {
        placement.push(NodeFigures {
            id: id.clone(),
            rooms: cluster.metric(node, "huddle_cluster_rooms_homed")?,
            participants: cluster.metric(node, "huddle_participants")?,
        });
    }
    let busiest = (0..placement.len())
        .max_by(|&a, &b| placement[a].rooms.total_cmp(&placement[b].rooms))
        .context("at least one node")?;

    let drain_started = Instant::now();
    let drained = &mut cluster.nodes[busiest].1;
    drained.terminate();
    while !drained.exited() {
        if drain_started.elapsed() > PHASE_LIMIT {
            bail!("the drained node did not stop in {PHASE_LIMIT:?}");
        }
        crowd.serve(Duration::from_millis(10))?;
    }
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    crowd.until(|crowd| crowd.moving == 0, "every move done")?;
    Ok(ClusterReport {
        nodes: args.nodes,
        participants: args.participants,
        rooms: args.rooms,
        joins_per_second,
        redirects: crowd.redirects,
        drained_node: placement[busiest].id.clone(),
        drained_rooms: placement[busiest].rooms,
        migrated: crowd.migrated,
        drain_seconds,
        placement,
    })
}

/// One participant: its connection now, and during a move the one it leaves.
struct Member {
    room: String,
    name: String,
    current: usize,
    leaving: Option<usize>,
    joined: bool,
}

/// Participants over non-blocking WebSockets; each connection is a slot, watched under its index.
struct Crowd {
    epoll: Epoll,
    slots: Vec<Option<(Signaling, usize)>>,
    members: Vec<Member>,
    joined: usize,
    moving: usize,
    redirects: usize,
    migrated: usize,
    /// Joins told `room_moving`, asked again at the time given.
    retries: Vec<(Instant, usize, SocketAddr)>,
}

impl Crowd {
    fn new() -> anyhow::Result<Self> {
        Ok(Crowd {
            epoll: Epoll::new()?,
            slots: Vec::new(),
            members: Vec::new(),
            joined: 0,
            moving: 0,
            redirects: 0,
            migrated: 0,
            retries: Vec::new(),
        })
    }

    /// A newcomer joins `room` through `entry`.
    fn arrive(&mut self, entry: SocketAddr, room: &str, name: &str) -> anyhow::Result<()> {
        let member = self.members.len();
        self.members.push(Member {
            room: room.to_owned(),
            name: name.to_owned(),
            current: usize::MAX,
            leaving: None,
            joined: false,
        });
        self.join(member, entry, json!({}))
    }

    /// Opens a connection for `member` at `node` and joins its room there with `extra` fields.
    fn join(&mut self, member: usize, node: SocketAddr, extra: Value) -> anyhow::Result<()> {
        let mut join = json!({"type": "join", "room": self.members[member].room,
            "name": self.members[member].name, "version": 1});
        if let (Value::Object(join), Value::Object(extra)) = (&mut join, extra) {
            join.extend(extra);
        }
        let mut signaling = Signaling::connect(node)?;
        signaling.send(&join)?;
        let slot = self.slots.len();
        self.epoll.add(signaling.fd(), slot as u64)?;
        self.slots.push(Some((signaling, member)));
        self.members[member].current = slot;
        Ok(())
    }

    /// Serves the connections until `done` holds.
    fn until(&mut self, done: impl Fn(&Crowd) -> bool, what: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + PHASE_LIMIT;
        while !done(self) {
            if Instant::now() > deadline {
                bail!("not {what} in {PHASE_LIMIT:?}");
            }
            self.serve(Duration::from_millis(20))?;
        }
        Ok(())
    }

    /// Reads what arrived within `wait` and acts on it as a browser would.
    fn serve(&mut self, wait: Duration) -> anyhow::Result<()> {
        let mut ready = Vec::new();
        self.epoll.wait(wait, &mut ready)?;
        let mut messages = Vec::new();
        for slot in ready {
            let slot = slot as usize;
            let Some((signaling, member)) = self.slots[slot].as_mut() else {
                continue;
            };
            let member = *member;
            messages.clear();
            let received = signaling.receive(&mut messages);
            for message in messages.drain(..) {
                self.handle(member, slot, &message)?;
            }
            if let Err(e) = received {
                // A connection redirected away, or being left behind, may close first.
                if self.members[member].current == slot {
                    return Err(e.context(format!("{}'s connection", self.members[member].name)));
                }
                self.slots[slot] = None;
            }
        }
        let now = Instant::now();
        let due: Vec<_> = self
            .retries
            .iter()
            .filter(|(at, ..)| *at <= now)
            .cloned()
            .collect();
        self.retries.retain(|(at, ..)| *at > now);
        for (_, member, entry) in due {
            self.join(member, entry, json!({}))?;
        }
        Ok(())
    }

    fn handle(&mut self, member: usize, slot: usize, message: &Value) -> anyhow::Result<()> {
        let node = || -> anyhow::Result<SocketAddr> {
            let url = message["url"].as_str().context("a URL")?;
            url.trim_start_matches("http://")
                .trim_end_matches('/')
                .parse()
                .context("a node's address")
        };
        match message["type"].as_str() {
            Some("joined") => self.joined_at(member, slot),
            Some("redirect") => {
                self.redirects += 1;
                self.slots[slot] = None;
                self.join(member, node()?, json!({"home": message["node"]}))?;
            }
            Some("migrate") => {
                self.moving += 1;
                self.members[member].leaving = Some(slot);
                let pass = json!({"home": message["node"], "pass": message["pass"]});
                self.join(member, node()?, pass)?;
            }
            Some("error") if message["code"] == "room_moving" => {
                let entry = self.slots[slot].take().context("an open slot")?.0.peer()?;
                self.retries
                    .push((Instant::now() + MOVING_RETRY, member, entry));
            }
            Some("error") => bail!("{}: {message}", self.members[member].name),
            _ => {}
        }
        Ok(())
    }

    /// `member` is in its room on `slot`'s node: after a move, it leaves the old node.
    fn joined_at(&mut self, member: usize, slot: usize) {
        let state = &mut self.members[member];
        if state.current != slot {
            return;
        }
        if !std::mem::replace(&mut state.joined, true) {
            self.joined += 1;
        }
        if let Some(old) = state.leaving.take() {
            if let Some((mut signaling, _)) = self.slots[old].take() {
                let _ = signaling.send(&json!({"type": "leave"}));
            }
            self.moving -= 1;
            self.migrated += 1;
        }
    }
}

fn print_table(report: &ClusterReport) {
    println!(
        "{} participants joining {} rooms through {} nodes in turn",
        report.participants, report.rooms, report.nodes
    );
    println!(
        "joins per second: {:.0} ({} redirects to a room's home)",
        report.joins_per_second, report.redirects
    );
    println!("node   rooms homed  participants");
    for node in &report.placement {
        println!(
            "{:<6} {:>11} {:>13}",
            node.id, node.rooms, node.participants
        );
    }
    println!(
        "drain of {} ({} rooms): {} members moved, node stopped after {:.2} s",
        report.drained_node, report.drained_rooms, report.migrated, report.drain_seconds
    );
}
