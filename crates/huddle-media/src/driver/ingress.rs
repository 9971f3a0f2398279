//! The ingress thread: reads the shared socket and hands datagrams to workers.

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::worker::WorkerInput;
use crate::demux::{Demux, WorkerId};

/// Workers tell the ingress thread which ICE ufrags are theirs.
#[derive(Debug)]
pub enum RouteUpdate {
    Add { ufrag: String, worker: WorkerId },
    Remove { ufrag: String },
}

/// How often the ingress thread looks for shutdown when no datagram arrives.
const IDLE_CHECK: Duration = Duration::from_millis(100);

pub fn run(
    socket: UdpSocket,
    workers: Vec<mpsc::Sender<WorkerInput>>,
    updates: mpsc::Receiver<RouteUpdate>,
) {
    if let Err(e) = socket.set_read_timeout(Some(IDLE_CHECK)) {
        tracing::warn!("ingress set_read_timeout: {e}");
    }
    let mut demux = Demux::default();
    let mut buf = vec![0u8; 2000];
    loop {
        // Updates first: a join's route is sent before the join is answered, so
        // it is here before the client's first STUN request can be.
        loop {
            match updates.try_recv() {
                Ok(RouteUpdate::Add { ufrag, worker }) => demux.add(ufrag, worker),
                Ok(RouteUpdate::Remove { ufrag }) => demux.remove(&ufrag),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                let Some(worker) = demux.route(source, &buf[..n]) else {
                    tracing::trace!(%source, "datagram for no worker");
                    continue;
                };
                let input = WorkerInput::Datagram {
                    at: Instant::now(),
                    source,
                    contents: buf[..n].to_vec(),
                };
                if let Some(w) = workers.get(worker) {
                    let _ = w.send(input);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // ICMP port unreachable from a gone client shows up here on some OSes.
            Err(e) => tracing::debug!("recv_from: {e}"),
        }
    }
}
