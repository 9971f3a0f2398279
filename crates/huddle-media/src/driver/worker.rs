//! One worker thread: owns an [`Sfu`] (its rooms and their `Rtc`s) and the clock.
//! Sleeps on its input channel until a datagram, a command or its next timeout.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::sync::mpsc as tokio_mpsc;

use super::ingress::RouteUpdate;
use super::Command;
use crate::demux::WorkerId;
use crate::event::{Output, SfuEvent};
use crate::ids::{ParticipantId, RoomId};
use crate::metrics::SfuMetrics;
use crate::outbox::SfuStats;
use crate::pressure::{Pressure, PressureReading};
use crate::relay::Relay;
use crate::sfu::{Sfu, SfuConfig};

/// How often counters are published to prometheus.
const METRICS_INTERVAL: Duration = Duration::from_secs(1);
/// A worker that lets datagrams wait longer than this is logged as falling behind: well
/// above the few ms a busy worker takes to send a frame to hundreds of subscribers, and
/// a delay people in a call notice.
const BEHIND: Duration = Duration::from_millis(100);
/// How long inputs that queued up are handled before a pass over the connections' timers and
/// output: timers are late by no more than that. By time, not by count: a stale datagram
/// (dropped unread, see `Overload::is_stale`) costs next to nothing, and a backlog of them must
/// go in one drain, not 64 at a time between passes over every connection (a worker of 500
/// subscribers on half a core stayed seconds behind that way, forwarding nothing).
const BATCH_TIME: Duration = Duration::from_millis(2);

#[derive(Debug)]
pub enum WorkerInput {
    Datagram {
        at: Instant,
        source: SocketAddr,
        contents: Vec<u8>,
    },
    Command(Command),
    /// From another worker of a room both carry members of, sent at `at`.
    Relay {
        at: Instant,
        from: WorkerId,
        relay: Relay,
    },
    /// The other workers of a room now, and whether this one speaks for it.
    Spread {
        room: RoomId,
        peers: Vec<WorkerId>,
        lead: bool,
    },
    Shutdown,
}

/// A worker's channels, and its flag in the handle's view of who sheds load.
pub struct WorkerLinks {
    pub inputs: mpsc::Receiver<WorkerInput>,
    /// Every worker's input, this one's included (indexed by worker id).
    pub peers: Vec<mpsc::Sender<WorkerInput>>,
    pub events: tokio_mpsc::UnboundedSender<SfuEvent>,
    pub routes: mpsc::Sender<RouteUpdate>,
    pub refusing: Arc<[AtomicBool]>,
}

pub struct Worker {
    id: WorkerId,
    sfu: Sfu,
    socket: UdpSocket,
    local_addr: SocketAddr,
    links: WorkerLinks,
    ufrags: HashMap<ParticipantId, String>,
    metrics: Option<SfuMetrics>,
    published: SfuStats,
    pressure: Pressure,
    /// The last reading's lag was over [`BEHIND`].
    behind: bool,
    next_metrics: Instant,
    /// Datagrams to send, up to a batch, all in one system call (see `huddle_udp`): sent one
    /// per call, the kernel took more than half of the worker's CPU.
    unsent: Vec<(SocketAddr, Vec<u8>)>,
}

impl Worker {
    pub fn new(
        id: WorkerId,
        config: SfuConfig,
        socket: UdpSocket,
        local_addr: SocketAddr,
        links: WorkerLinks,
        metrics: Option<SfuMetrics>,
    ) -> Self {
        let now = Instant::now();
        Worker {
            id,
            sfu: Sfu::new(config, now),
            socket,
            local_addr,
            links,
            ufrags: HashMap::new(),
            metrics,
            published: SfuStats::default(),
            pressure: Pressure::new(now),
            behind: false,
            next_metrics: now,
            unsent: Vec::with_capacity(huddle_udp::BATCH),
        }
    }

    pub fn run(mut self) {
        loop {
            let timeout = self.flush();
            self.publish_metrics();
            let idle = Instant::now();
            let input = self
                .links
                .inputs
                .recv_timeout(timeout.saturating_duration_since(idle));
            let now = Instant::now();
            self.pressure.waited(idle, now);
            match input {
                Ok(WorkerInput::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Ok(input) => {
                    self.handle(input, now);
                    if !self.handle_queued() {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            self.sfu.handle_timeout(Instant::now());
        }
    }

    /// Handles inputs that already wait, for up to [`BATCH_TIME`], before the walks over every
    /// participant (due timers, output, the next timeout): a worker behind its input made those
    /// walks once per datagram, and every timer is due when it is behind, so the cost of a
    /// datagram grew with the backlog (measured: 8 s behind, never catching up, where it now
    /// keeps up). False once the worker is to stop.
    fn handle_queued(&mut self) -> bool {
        let until = Instant::now() + BATCH_TIME;
        loop {
            match self.links.inputs.try_recv() {
                Ok(WorkerInput::Shutdown) | Err(mpsc::TryRecvError::Disconnected) => return false,
                Ok(input) => {
                    let now = Instant::now();
                    self.handle(input, now);
                    if now >= until {
                        return true;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => return true,
            }
        }
    }

    fn handle(&mut self, input: WorkerInput, now: Instant) {
        match input {
            WorkerInput::Datagram {
                at,
                source,
                contents,
            } => {
                self.pressure.handled(at, now);
                let r = self
                    .sfu
                    .handle_receive(at, source, self.local_addr, &contents);
                if let Err(e) = r {
                    tracing::trace!(%source, "datagram dropped: {e}");
                }
            }
            WorkerInput::Command(c) => {
                // A first offer builds its Rtc at the SFU's last known time: make it now.
                self.sfu.handle_timeout(now);
                self.apply(c)
            }
            WorkerInput::Relay { at, from, relay } => {
                self.pressure.handled(at, now);
                self.sfu.handle_relay(at, from, relay);
            }
            WorkerInput::Spread { room, peers, lead } => self.sfu.set_spread(room, peers, lead),
            WorkerInput::Shutdown => {}
        }
    }

    /// Sends everything the SFU has to send; returns when it next needs time.
    fn flush(&mut self) -> Instant {
        loop {
            match self.sfu.poll_output() {
                Output::Transmit(t) => {
                    self.unsent.push((t.destination, t.contents));
                    if self.unsent.len() >= huddle_udp::BATCH {
                        self.send_unsent();
                    }
                }
                Output::Event(e) => {
                    if let SfuEvent::Disconnected { participant, .. } = &e {
                        self.forget(*participant);
                    }
                    // A closed channel means the server is going away; the
                    // Shutdown that follows ends this loop.
                    let _ = self.links.events.send(e);
                }
                Output::Relay { to, relay } => {
                    let input = WorkerInput::Relay {
                        at: Instant::now(),
                        from: self.id,
                        relay,
                    };
                    // A closed channel means the SFU is stopping.
                    let _ = self.links.peers[to].send(input);
                }
                Output::Timeout(t) => {
                    self.send_unsent();
                    self.links.refusing[self.id]
                        .store(self.sfu.refuses_newcomers(), Ordering::Relaxed);
                    return t;
                }
            }
        }
    }

    /// Sends the datagrams gathered by [`Self::flush`], a batch per system call. A datagram the
    /// socket refuses is dropped, as the network could have.
    fn send_unsent(&mut self) {
        let mut sent = 0;
        while sent < self.unsent.len() {
            match huddle_udp::send(&self.socket, &self.unsent[sent..]) {
                Ok(n) => sent += n,
                Err(e) => {
                    tracing::debug!(destination = %self.unsent[sent].0, "send: {e}");
                    sent += 1;
                }
            }
        }
        self.unsent.clear();
    }

    fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Join {
                room,
                participant,
                arrival,
                reply,
            } => {
                let r = self.sfu.join(room, participant, arrival);
                if r.is_ok() {
                    self.route_ufrag(participant);
                }
                let _ = reply.send(r);
            }
            Command::AcceptOffer {
                participant,
                sdp,
                reply,
                ..
            } => {
                let answer = self.sfu.accept_offer(participant, &sdp);
                // An ICE restart gave the participant a new ufrag.
                self.route_ufrag(participant);
                let _ = reply.send(answer);
            }
            Command::AcceptAnswer {
                participant,
                sdp,
                reply,
                ..
            } => {
                let _ = reply.send(self.sfu.accept_answer(participant, &sdp));
            }
            Command::AddRemoteCandidate {
                participant,
                candidate,
                ..
            } => {
                if let Err(e) = self.sfu.add_remote_candidate(participant, &candidate) {
                    tracing::debug!(%participant, "candidate refused: {e}");
                }
            }
            Command::SetSubscription {
                subscriber,
                track,
                spec,
                ..
            } => {
                if let Err(e) = self.sfu.set_subscription(subscriber, track, spec) {
                    tracing::debug!(%subscriber, "subscription refused: {e}");
                }
            }
            Command::SetForwarding {
                participant,
                forwarding,
                ..
            } => {
                if let Err(e) = self.sfu.set_forwarding(participant, forwarding) {
                    tracing::debug!(%participant, "forwarding not changed: {e}");
                }
            }
            Command::Leave { participant, .. } => {
                self.sfu.leave(participant);
                self.forget(participant);
            }
        }
    }

    /// Tells the ingress thread the participant's current ICE ufrag, by which it finds this worker.
    fn route_ufrag(&mut self, participant: ParticipantId) {
        let Some(ufrag) = self.sfu.ice_ufrag(participant) else {
            return;
        };
        if self.ufrags.get(&participant) == Some(&ufrag) {
            return;
        }
        if let Some(old) = self.ufrags.insert(participant, ufrag.clone()) {
            let _ = self.links.routes.send(RouteUpdate::Remove { ufrag: old });
        }
        let _ = self.links.routes.send(RouteUpdate::Add {
            ufrag,
            worker: self.id,
        });
    }

    fn forget(&mut self, participant: ParticipantId) {
        if let Some(ufrag) = self.ufrags.remove(&participant) {
            let _ = self.links.routes.send(RouteUpdate::Remove { ufrag });
        }
    }

    /// Says once when the worker starts and stops falling behind, not every second.
    fn log_if_behind_changed(&mut self, pressure: PressureReading) {
        let behind = pressure.worst_lag > BEHIND;
        if behind == self.behind {
            return;
        }
        self.behind = behind;
        let lag_ms = pressure.worst_lag.as_millis();
        let busy = pressure.busy_share();
        let load = self.sfu.load();
        if behind {
            tracing::warn!(
                worker = self.id,
                lag_ms,
                busy,
                rooms = load.rooms,
                participants = load.participants,
                "SFU worker falling behind: its rooms need more than its core, media is delayed"
            );
        } else {
            tracing::info!(worker = self.id, lag_ms, busy, "SFU worker caught up");
        }
    }

    fn publish_metrics(&mut self) {
        let now = Instant::now();
        if now < self.next_metrics {
            return;
        }
        self.next_metrics = now + METRICS_INTERVAL;
        let pressure = self.pressure.read(now);
        self.log_if_behind_changed(pressure);
        if let Some(m) = &self.metrics {
            let stats = self.sfu.stats();
            let load = self.sfu.load();
            m.add_worker(self.id, load, pressure, stats.since(&self.published));
            self.published = stats;
        }
    }
}
