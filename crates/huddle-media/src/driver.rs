//! The thin driver: owns the UDP socket and the clock, runs [`crate::Sfu`] workers on
//! their own threads, and talks to the server through channels of values.
//!
//! One socket (one port) serves every client. An ingress thread reads it and hands
//! each datagram to the worker that carries the client ([`crate::demux`]); workers send on
//! clones of the socket. The handle places each participant on a worker ([`placement`]): a small
//! room on one, a large one spread over several, whose workers pass each other its frames once
//! per worker ([`crate::relay`]) through their input channels. Workers share no state but one
//! flag each: whether they shed load (and so take no newcomers).
//!
//! Calls that need an answer carry a oneshot; events come out on one channel.

mod ingress;
mod placement;
mod worker;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::demux::WorkerId;
use crate::error::SfuError;
use crate::event::SfuEvent;
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::layer::SubscriptionSpec;
use crate::metrics::SfuMetrics;
use crate::participant::Forwarding;
use crate::sfu::{Arrival, SfuConfig};

use placement::Placement;
pub use placement::SPREAD_SLACK;
use worker::{Worker, WorkerInput, WorkerLinks};

pub type Reply<T> = oneshot::Sender<Result<T, SfuError>>;

/// What the server asks of the SFU.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    Join {
        room: RoomId,
        participant: ParticipantId,
        arrival: Arrival,
        reply: Reply<()>,
    },
    AcceptOffer {
        room: RoomId,
        participant: ParticipantId,
        sdp: String,
        reply: Reply<String>,
    },
    AcceptAnswer {
        room: RoomId,
        participant: ParticipantId,
        sdp: String,
        reply: Reply<()>,
    },
    AddRemoteCandidate {
        room: RoomId,
        participant: ParticipantId,
        candidate: String,
    },
    SetSubscription {
        room: RoomId,
        subscriber: ParticipantId,
        track: TrackId,
        spec: SubscriptionSpec,
    },
    /// Which of a publisher's media the SFU forwards (moderation, receive-only viewers).
    SetForwarding {
        room: RoomId,
        participant: ParticipantId,
        forwarding: Forwarding,
    },
    Leave {
        room: RoomId,
        participant: ParticipantId,
    },
}

impl Command {
    pub fn participant(&self) -> ParticipantId {
        match self {
            Command::Join { participant, .. }
            | Command::AcceptOffer { participant, .. }
            | Command::AcceptAnswer { participant, .. }
            | Command::AddRemoteCandidate { participant, .. }
            | Command::SetForwarding { participant, .. }
            | Command::Leave { participant, .. } => *participant,
            Command::SetSubscription { subscriber, .. } => *subscriber,
        }
    }
}

/// The server's end of the running SFU. `Send + Sync`: share it behind an `Arc`.
pub struct SfuHandle {
    workers: Vec<mpsc::Sender<WorkerInput>>,
    threads: Vec<JoinHandle<()>>,
    placement: Mutex<Placement>,
    /// Whether each worker sheds load now (set by the worker).
    refusing: Arc<[AtomicBool]>,
    pub local_addr: SocketAddr,
}

impl SfuHandle {
    /// Hands a command to the worker of its participant (a join places it first). Fails only
    /// after shutdown.
    pub fn send(&self, command: Command) -> Result<(), SfuError> {
        let mut placement = self.placement.lock().expect("never poisoned");
        let (worker, spread) = match &command {
            Command::Join {
                room, participant, ..
            } => {
                let refusing: Vec<bool> = self
                    .refusing
                    .iter()
                    .map(|r| r.load(Ordering::Relaxed))
                    .collect();
                let (worker, changed) = placement.place(*room, *participant, &refusing);
                (worker, changed.then_some(*room))
            }
            Command::Leave { participant, .. } => match placement.remove(*participant) {
                Some((room, worker, changed)) => (worker, changed.then_some(room)),
                None => return Ok(()),
            },
            // Never placed, or gone: any worker answers that it does not know it.
            other => (placement.worker_of(other.participant()).unwrap_or(0), None),
        };
        self.to_worker(worker, WorkerInput::Command(command))?;
        // After the join: the worker has the room before its peers relay anything to it.
        if let Some(room) = spread {
            self.tell_spread(room, &placement.spread(room))?;
        }
        Ok(())
    }

    /// Tells each worker of a room which others carry it, and which one speaks for it.
    fn tell_spread(&self, room: RoomId, workers: &[WorkerId]) -> Result<(), SfuError> {
        let lead = workers.first().copied();
        for worker in workers {
            let peers = workers.iter().copied().filter(|w| w != worker).collect();
            let lead = lead == Some(*worker);
            self.to_worker(*worker, WorkerInput::Spread { room, peers, lead })?;
        }
        Ok(())
    }

    fn to_worker(&self, worker: WorkerId, input: WorkerInput) -> Result<(), SfuError> {
        self.workers[worker]
            .send(input)
            .map_err(|_| SfuError::Stopped)
    }

    /// Stops the workers and the ingress thread, and waits for their threads.
    pub fn shutdown(self) {
        for w in &self.workers {
            let _ = w.send(WorkerInput::Shutdown);
        }
        drop(self.workers);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Starts `workers` SFU workers and an ingress thread over `socket`.
///
/// `config.local_addrs[0]` is the address clients send to (the host candidate),
/// used as the destination of received datagrams: with a socket bound to 0.0.0.0
/// the config must name the public address.
pub fn spawn(
    socket: UdpSocket,
    mut config: SfuConfig,
    workers: usize,
    metrics: Option<SfuMetrics>,
) -> std::io::Result<(SfuHandle, tokio_mpsc::UnboundedReceiver<SfuEvent>)> {
    let bound = socket.local_addr()?;
    if config.local_addrs.is_empty() {
        config.local_addrs.push(bound);
    }
    let local_addr = config.local_addrs[0];
    let (events_tx, events_rx) = tokio_mpsc::unbounded_channel();
    let (routes_tx, routes_rx) = mpsc::channel();

    let count = workers.max(1);
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..count).map(|_| mpsc::channel()).unzip();
    let refusing: Arc<[AtomicBool]> = (0..count).map(|_| AtomicBool::new(false)).collect();
    let mut threads = vec![];
    for (id, rx) in receivers.into_iter().enumerate() {
        let links = WorkerLinks {
            inputs: rx,
            peers: senders.clone(),
            events: events_tx.clone(),
            routes: routes_tx.clone(),
            refusing: refusing.clone(),
        };
        let worker = Worker::new(
            id,
            config.clone(),
            socket.try_clone()?,
            local_addr,
            links,
            metrics.clone(),
        );
        threads.push(
            std::thread::Builder::new()
                .name(format!("huddle-sfu-{id}"))
                .spawn(move || worker.run())?,
        );
    }
    // The ingress thread ends when every worker dropped its route sender.
    drop(routes_tx);
    let to_workers = senders.clone();
    threads.push(
        std::thread::Builder::new()
            .name("huddle-sfu-ingress".into())
            .spawn(move || ingress::run(socket, to_workers, routes_rx))?,
    );
    Ok((
        SfuHandle {
            workers: senders,
            threads,
            placement: Mutex::new(Placement::new(count)),
            refusing,
            local_addr,
        },
        events_rx,
    ))
}
