//! The thin driver: owns the UDP socket and the clock, runs [`crate::Sfu`] workers on
//! their own threads, and talks to the server through channels of values.
//!
//! One socket (one port) serves every client. An ingress thread reads it and hands
//! each datagram to the worker that owns the client's room ([`crate::demux`]);
//! workers send on clones of the socket. A room lives on one worker, chosen by
//! room id, so no state is shared between threads and nothing is locked.
//!
//! Commands carry their room so the handle can route them without a table.
//! Calls that need an answer carry a oneshot; events come out on one channel.

mod ingress;
mod worker;

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::error::SfuError;
use crate::event::SfuEvent;
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::layer::SubscriptionSpec;
use crate::metrics::SfuMetrics;
use crate::participant::Forwarding;
use crate::sfu::{Arrival, SfuConfig};

use worker::{Worker, WorkerInput};

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
    pub fn room(&self) -> RoomId {
        match self {
            Command::Join { room, .. }
            | Command::AcceptOffer { room, .. }
            | Command::AcceptAnswer { room, .. }
            | Command::AddRemoteCandidate { room, .. }
            | Command::SetSubscription { room, .. }
            | Command::SetForwarding { room, .. }
            | Command::Leave { room, .. } => *room,
        }
    }
}

/// The server's end of the running SFU. `Send + Sync`: share it behind an `Arc`.
pub struct SfuHandle {
    workers: Vec<mpsc::Sender<WorkerInput>>,
    threads: Vec<JoinHandle<()>>,
    pub local_addr: SocketAddr,
}

impl SfuHandle {
    /// Hands a command to the worker of its room. Fails only after shutdown.
    pub fn send(&self, command: Command) -> Result<(), SfuError> {
        let n = self.workers.len() as u64;
        let worker = (command.room().0 % n) as usize;
        self.workers[worker]
            .send(WorkerInput::Command(command))
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

    let mut senders = vec![];
    let mut threads = vec![];
    for id in 0..workers.max(1) {
        let (tx, rx) = mpsc::channel();
        let worker = Worker::new(
            id,
            config.clone(),
            socket.try_clone()?,
            local_addr,
            rx,
            events_tx.clone(),
            routes_tx.clone(),
            metrics.clone(),
        );
        threads.push(
            std::thread::Builder::new()
                .name(format!("huddle-sfu-{id}"))
                .spawn(move || worker.run())?,
        );
        senders.push(tx);
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
            local_addr,
        },
        events_rx,
    ))
}
