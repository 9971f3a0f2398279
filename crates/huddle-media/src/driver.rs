//! The thin driver: owns a UDP socket and the clock, runs one [`Sfu`] worker on its
//! own thread, and talks to the server through channels of values.
//!
//! Commands go in on an unbounded channel (sending never blocks the async server),
//! [`SfuEvent`]s come out on another; calls that need an answer carry a oneshot.
//! The socket is read with a short timeout so commands are applied within a few
//! milliseconds even when no packet arrives.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::error::SfuError;
use crate::event::{Output, SfuEvent};
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::layer::SubscriptionSpec;
use crate::metrics::SfuMetrics;
use crate::outbox::SfuStats;
use crate::sfu::{Sfu, SfuConfig};

/// Longest the loop sleeps in `recv_from` before looking at commands again.
const COMMAND_LATENCY: Duration = Duration::from_millis(5);
/// How often counters are published to prometheus.
const METRICS_INTERVAL: Duration = Duration::from_secs(1);

type Reply<T> = oneshot::Sender<Result<T, SfuError>>;

/// What the server asks of the SFU worker.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    Join {
        room: RoomId,
        participant: ParticipantId,
        reply: Reply<()>,
    },
    AcceptOffer {
        participant: ParticipantId,
        sdp: String,
        reply: Reply<String>,
    },
    AcceptAnswer {
        participant: ParticipantId,
        sdp: String,
        reply: Reply<()>,
    },
    AddRemoteCandidate {
        participant: ParticipantId,
        candidate: String,
    },
    SetSubscription {
        subscriber: ParticipantId,
        track: TrackId,
        spec: SubscriptionSpec,
    },
    Leave {
        participant: ParticipantId,
    },
    Shutdown,
}

/// The server's end of a running worker.
pub struct SfuHandle {
    pub commands: mpsc::UnboundedSender<Command>,
    pub events: mpsc::UnboundedReceiver<SfuEvent>,
    pub local_addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl SfuHandle {
    /// Stops the worker and waits for its thread.
    pub fn shutdown(mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a worker on its own thread over `socket`.
///
/// `config.local_addrs[0]` is the address clients send to (the host candidate); it
/// is used as the destination of received datagrams, so a socket bound to 0.0.0.0
/// works as long as the config names the public address.
pub fn spawn(
    socket: UdpSocket,
    mut config: SfuConfig,
    metrics: Option<SfuMetrics>,
) -> std::io::Result<SfuHandle> {
    let bound = socket.local_addr()?;
    if config.local_addrs.is_empty() {
        config.local_addrs.push(bound);
    }
    let local_addr = config.local_addrs[0];
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let thread = std::thread::Builder::new()
        .name("huddle-sfu".into())
        .spawn(move || {
            let sfu = Sfu::new(config, Instant::now());
            Worker {
                sfu,
                socket,
                local_addr,
                commands: cmd_rx,
                events: ev_tx,
                metrics,
                published: SfuStats::default(),
                next_metrics: Instant::now(),
            }
            .run()
        })?;
    Ok(SfuHandle {
        commands: cmd_tx,
        events: ev_rx,
        local_addr,
        thread: Some(thread),
    })
}

struct Worker {
    sfu: Sfu,
    socket: UdpSocket,
    local_addr: SocketAddr,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<SfuEvent>,
    metrics: Option<SfuMetrics>,
    published: SfuStats,
    next_metrics: Instant,
}

impl Worker {
    fn run(mut self) {
        let mut buf = vec![0u8; 2000];
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Shutdown) | Err(mpsc::error::TryRecvError::Disconnected) => return,
                    Ok(cmd) => self.apply(cmd),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                }
            }
            let timeout = self.flush();
            self.publish_metrics();

            let wait = timeout
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), COMMAND_LATENCY);
            if let Err(e) = self.socket.set_read_timeout(Some(wait)) {
                tracing::warn!("set_read_timeout: {e}");
            }
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    let r =
                        self.sfu
                            .handle_receive(Instant::now(), source, self.local_addr, &buf[..n]);
                    if let Err(e) = r {
                        tracing::trace!(%source, "datagram dropped: {e}");
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // ICMP port unreachable from a gone client shows up here on some OSes.
                Err(e) => tracing::debug!("recv_from: {e}"),
            }
            self.sfu.handle_timeout(Instant::now());
        }
    }

    /// Sends everything the SFU has to send; returns when it next needs time.
    fn flush(&mut self) -> Instant {
        loop {
            match self.sfu.poll_output() {
                Output::Transmit(t) => {
                    if let Err(e) = self.socket.send_to(&t.contents, t.destination) {
                        tracing::debug!(destination = %t.destination, "send_to: {e}");
                    }
                }
                Output::Event(e) => {
                    // The server went away: nothing to tell; the loop ends on the
                    // closed command channel.
                    let _ = self.events.send(e);
                }
                Output::Timeout(t) => return t,
            }
        }
    }

    fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Join {
                room,
                participant,
                reply,
            } => {
                let _ = reply.send(self.sfu.join(room, participant));
            }
            Command::AcceptOffer {
                participant,
                sdp,
                reply,
            } => {
                let _ = reply.send(self.sfu.accept_offer(participant, &sdp));
            }
            Command::AcceptAnswer {
                participant,
                sdp,
                reply,
            } => {
                let _ = reply.send(self.sfu.accept_answer(participant, &sdp));
            }
            Command::AddRemoteCandidate {
                participant,
                candidate,
            } => {
                if let Err(e) = self.sfu.add_remote_candidate(participant, &candidate) {
                    tracing::debug!(%participant, "candidate refused: {e}");
                }
            }
            Command::SetSubscription {
                subscriber,
                track,
                spec,
            } => {
                if let Err(e) = self.sfu.set_subscription(subscriber, track, spec) {
                    tracing::debug!(%subscriber, "subscription refused: {e}");
                }
            }
            Command::Leave { participant } => self.sfu.leave(participant),
            Command::Shutdown => {}
        }
    }

    fn publish_metrics(&mut self) {
        let now = Instant::now();
        if now < self.next_metrics {
            return;
        }
        self.next_metrics = now + METRICS_INTERVAL;
        if let Some(m) = &self.metrics {
            let stats = self.sfu.stats();
            m.add(stats.since(&self.published));
            self.published = stats;
        }
    }
}
