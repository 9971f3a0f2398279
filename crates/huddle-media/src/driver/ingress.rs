//! The ingress thread: reads the shared socket and hands datagrams to workers.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
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
        let received = socket.recv_from(&mut buf);
        // Routes next, also those that came while this thread waited for the datagram: a join's
        // route is sent before the join is answered, so it is here before the client's first
        // STUN request is routed (taken before the wait, that request found no worker and was
        // dropped whenever the socket had been idle, as it is for a browser's first check).
        if !apply_route_updates(&updates, &mut demux) {
            return;
        }
        match received {
            Ok((n, source)) => hand_on(source, &buf[..n], &mut demux, &workers),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // ICMP port unreachable from a gone client shows up here on some OSes.
            Err(e) => tracing::debug!("recv_from: {e}"),
        }
    }
}

/// False once the workers are gone.
fn apply_route_updates(updates: &mpsc::Receiver<RouteUpdate>, demux: &mut Demux) -> bool {
    loop {
        match updates.try_recv() {
            Ok(RouteUpdate::Add { ufrag, worker }) => demux.add(ufrag, worker),
            Ok(RouteUpdate::Remove { ufrag }) => demux.remove(&ufrag),
            Err(mpsc::TryRecvError::Empty) => return true,
            Err(mpsc::TryRecvError::Disconnected) => return false,
        }
    }
}

/// Hands the datagram to the worker that carries its sender.
fn hand_on(
    source: SocketAddr,
    datagram: &[u8],
    demux: &mut Demux,
    workers: &[mpsc::Sender<WorkerInput>],
) {
    let Some(worker) = demux.route(source, datagram) else {
        tracing::trace!(%source, "datagram for no worker");
        return;
    };
    let input = WorkerInput::Datagram {
        at: Instant::now(),
        source,
        contents: datagram.to_vec(),
    };
    if let Some(w) = workers.get(worker) {
        let _ = w.send(input);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demux::tests::binding_request;

    /// The route of a join made while the thread waited on an idle socket: the client's first
    /// STUN request, right behind it, reaches the worker.
    #[test]
    fn a_route_sent_while_waiting_serves_the_datagram_that_ends_the_wait() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = socket.local_addr().unwrap();
        let (worker_tx, worker_rx) = mpsc::channel();
        let (routes, updates) = mpsc::channel();
        let ingress = std::thread::spawn(move || run(socket, vec![worker_tx], updates));
        // Well inside the thread's wait for a first datagram.
        std::thread::sleep(Duration::from_millis(20));
        routes
            .send(RouteUpdate::Add {
                ufrag: "abcd".into(),
                worker: 0,
            })
            .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(&binding_request("abcd:wxyz"), to).unwrap();
        let got = worker_rx.recv_timeout(Duration::from_secs(1));
        assert!(
            matches!(got, Ok(WorkerInput::Datagram { .. })),
            "the first STUN request reached the worker"
        );
        drop(routes);
        ingress.join().unwrap();
    }
}
