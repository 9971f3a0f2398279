//! The one loop that owns the core: every input goes in here, every output is
//! carried out here, so the core needs no lock.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::relay_socket::{Readiness, RelaySocket};
use super::stream::{self, OUTGOING_QUEUE};
use super::{ClientStream, Event};
use crate::core::{AllocationId, ClientAddr, Input, Output, Server, Transport};
use crate::metrics::{DropReason, TurnMetrics};
use huddle_udp::{Datagrams, BATCH};

const EVENT_QUEUE: usize = 4096;
/// Stream (TCP, later TLS) clients served at once.
const MAX_STREAMS: usize = 10_000;
/// Batches taken from the listening socket per wake-up, so a flood of
/// clients cannot starve relay sockets, streams and timers.
const LISTEN_ROUNDS: usize = 8;
/// Sleep target when the core has nothing scheduled.
const IDLE: Duration = Duration::from_secs(3600);

struct StreamClient {
    outgoing: mpsc::Sender<Vec<u8>>,
    task: AbortHandle,
}

pub(crate) struct EventLoop {
    core: Server,
    udp: UdpSocket,
    tcp: TcpListener,
    /// Streams accepted by other listeners (TURN over TLS).
    intake: mpsc::Receiver<(ClientStream, SocketAddr)>,
    metrics: TurnMetrics,
    events_tx: mpsc::Sender<Event>,
    events_rx: mpsc::Receiver<Event>,
    streams: HashMap<SocketAddr, StreamClient>,
    relays: HashMap<AllocationId, RelaySocket>,
    readable: FuturesUnordered<Readiness>,
    /// Receive slots shared by the listening and the relay sockets.
    datagrams: Datagrams,
    /// Datagrams for clients, sent together in one `sendmmsg`.
    to_clients: Vec<(SocketAddr, Vec<u8>)>,
    /// Datagrams for peers, gathered over a whole wake-up so that each relay
    /// socket sends its share in one `sendmmsg`.
    to_peers: Vec<(AllocationId, SocketAddr, Vec<u8>)>,
    /// One relay socket's share of `to_peers` while it is sent.
    peer_batch: Vec<(SocketAddr, Vec<u8>)>,
}

impl EventLoop {
    pub fn new(
        core: Server,
        udp: UdpSocket,
        tcp: TcpListener,
        intake: mpsc::Receiver<(ClientStream, SocketAddr)>,
        metrics: TurnMetrics,
    ) -> Self {
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        EventLoop {
            core,
            udp,
            tcp,
            intake,
            metrics,
            events_tx,
            events_rx,
            streams: HashMap::new(),
            relays: HashMap::new(),
            readable: FuturesUnordered::new(),
            datagrams: Datagrams::new(),
            to_clients: Vec::with_capacity(BATCH),
            to_peers: Vec::new(),
            peer_batch: Vec::with_capacity(BATCH),
        }
    }

    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        tokio::pin!(shutdown);
        let timer = tokio::time::sleep(IDLE);
        tokio::pin!(timer);
        loop {
            self.carry_out_outputs().await;
            let deadline = self
                .core
                .poll_timeout()
                .map(Instant::from_std)
                .unwrap_or_else(|| Instant::now() + IDLE);
            timer.as_mut().reset(deadline);
            tokio::select! {
                _ = &mut shutdown => break,
                readable = self.udp.readable() => match readable {
                    Ok(()) => self.drain_listening().await,
                    Err(e) => tracing::debug!("udp readiness error: {e}"),
                },
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, addr)) => self.accept_stream(stream, addr),
                    Err(e) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!("tcp accept error: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some((stream, addr)) = self.intake.recv() => self.accept_stream(stream, addr),
                Some(event) = self.events_rx.recv() => self.handle_event(event),
                Some(ready) = self.readable.next() => {
                    // Aborted: the relay was released while waiting.
                    if let Ok(allocation) = ready {
                        self.drain_relay(allocation).await;
                    }
                }
                _ = &mut timer => self.core.handle_timeout(std::time::Instant::now()),
            }
        }
        for (_, client) in self.streams.drain() {
            client.task.abort();
        }
        self.relays.clear();
        Ok(())
    }

    /// Accepts any stream: our TCP listener's, and those handed in through the intake.
    fn accept_stream<S>(&mut self, stream: S, addr: SocketAddr)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        if self.streams.len() >= MAX_STREAMS {
            // Dropping the stream closes it; file descriptors are finite.
            tracing::warn!(%addr, "too many TURN stream clients, refusing one");
            return;
        }
        let client = ClientAddr {
            transport: Transport::Stream,
            addr,
        };
        let (outgoing, outgoing_rx) = mpsc::channel(OUTGOING_QUEUE);
        let task = tokio::spawn(stream::serve(
            stream,
            client,
            self.events_tx.clone(),
            outgoing_rx,
            self.metrics.clone(),
        ));
        let task = task.abort_handle();
        self.streams.insert(addr, StreamClient { outgoing, task });
    }

    fn handle_event(&mut self, event: Event) {
        let now = std::time::Instant::now();
        match event {
            Event::StreamFrame { client, frame } => self.core.handle_input(
                Input::Client {
                    from: client,
                    packet: &frame,
                },
                now,
            ),
            Event::StreamClosed(client) => {
                self.streams.remove(&client.addr);
                self.core.handle_input(Input::ClientClosed(client), now);
            }
        }
    }

    /// Feeds the core what waits on the listening socket, a batch at a time,
    /// and sends each batch's answers and relayed packets before the next.
    async fn drain_listening(&mut self) {
        for _ in 0..LISTEN_ROUNDS {
            let datagrams = &mut self.datagrams;
            let udp = &self.udp;
            let count = match udp.try_io(Interest::READABLE, || datagrams.recv(udp)) {
                Ok(count) => count,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!("udp recv error: {e}");
                    break;
                }
            };
            let now = std::time::Instant::now();
            for i in 0..count {
                let (Some(addr), packet) = self.datagrams.get(i) else {
                    continue;
                };
                let from = ClientAddr {
                    transport: Transport::Udp,
                    addr,
                };
                self.core.handle_input(Input::Client { from, packet }, now);
            }
            if count < BATCH {
                break;
            }
        }
        self.carry_out_outputs().await;
    }

    /// Reads one batch from a relay socket, so one busy peer cannot starve
    /// everyone else; then waits for readiness again (at once, if datagrams
    /// are left).
    async fn drain_relay(&mut self, allocation: AllocationId) {
        let Some(relay) = self.relays.get(&allocation) else {
            return;
        };
        let datagrams = &mut self.datagrams;
        match relay
            .socket
            .try_io(Interest::READABLE, |socket| datagrams.recv(socket))
        {
            Ok(count) => {
                let now = std::time::Instant::now();
                for i in 0..count {
                    let (Some(from), packet) = self.datagrams.get(i) else {
                        continue;
                    };
                    let input = Input::Peer {
                        allocation,
                        from,
                        packet,
                    };
                    self.core.handle_input(input, now);
                }
                self.carry_out_outputs().await;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // ICMP errors from earlier sends surface here; the socket is fine.
            Err(e) => tracing::debug!(?allocation, "relay recv error: {e}"),
        }
        // Outputs carried out above may have released this very relay.
        if let Some(relay) = self.relays.get_mut(&allocation) {
            self.readable.push(relay.wait_readable(allocation));
        }
    }

    async fn carry_out_outputs(&mut self) {
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::ToClient { to, packet } => self.send_to_client(to, packet).await,
                Output::ToPeer {
                    allocation,
                    to,
                    packet,
                } => {
                    self.to_peers.push((allocation, to, packet));
                }
                Output::BindRelay { allocation, addr } => {
                    let bound = RelaySocket::bind(addr);
                    if let Err(e) = &bound {
                        tracing::debug!(%addr, "relay bind failed: {e}");
                    }
                    let ok = bound.is_ok();
                    if let Ok(mut relay) = bound {
                        self.readable.push(relay.wait_readable(allocation));
                        self.relays.insert(allocation, relay);
                    }
                    let now = std::time::Instant::now();
                    self.core
                        .handle_input(Input::RelayBound { allocation, ok }, now);
                }
                Output::ReleaseRelay { allocation } => {
                    self.flush_to_peers();
                    self.relays.remove(&allocation);
                }
            }
        }
        self.flush_to_peers();
        self.flush_to_clients().await;
    }

    /// Sends the gathered peer datagrams, one `sendmmsg` per relay socket
    /// and [`BATCH`], in order per allocation. Sends never wait: a relay socket
    /// whose send buffer is full drops the datagram (counted), as a congested
    /// router would.
    fn flush_to_peers(&mut self) {
        // Stable: datagrams of one allocation keep their order.
        self.to_peers.sort_by_key(|(allocation, _, _)| *allocation);
        let mut to_peers = std::mem::take(&mut self.to_peers);
        let mut peers = to_peers.drain(..).peekable();
        while let Some((allocation, to, packet)) = peers.next() {
            self.peer_batch.push((to, packet));
            while self.peer_batch.len() < BATCH {
                match peers.next_if(|(next, _, _)| *next == allocation) {
                    Some((_, to, packet)) => self.peer_batch.push((to, packet)),
                    None => break,
                }
            }
            self.send_peer_batch(allocation);
        }
        drop(peers);
        // Keep the (now empty) vector's capacity for the next wake-up.
        self.to_peers = to_peers;
    }

    fn send_peer_batch(&mut self, allocation: AllocationId) {
        let mut sent = 0;
        if let Some(relay) = self.relays.get(&allocation) {
            let socket = relay.socket.get_ref();
            while sent < self.peer_batch.len() {
                match huddle_udp::send(socket, &self.peer_batch[sent..]) {
                    Ok(n) => sent += n.max(1),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::debug!(?allocation, "relay send error: {e}");
                        self.metrics.drop_packet(DropReason::SendFailed);
                        sent += 1;
                    }
                }
            }
        }
        for _ in sent.min(self.peer_batch.len())..self.peer_batch.len() {
            self.metrics.drop_packet(DropReason::SendFailed);
        }
        for (_, packet) in self.peer_batch.drain(..) {
            self.core.recycle(packet);
        }
    }

    /// Sends the queued client datagrams, a `sendmmsg` per [`BATCH`].
    async fn flush_to_clients(&mut self) {
        let mut sent = 0;
        while sent < self.to_clients.len() {
            let pending = &self.to_clients[sent..];
            let udp = &self.udp;
            match udp.try_io(Interest::WRITABLE, || huddle_udp::send(udp, pending)) {
                Ok(n) => sent += n.max(1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.udp.writable().await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::debug!(to = %self.to_clients[sent].0, "udp send error: {e}");
                    self.metrics.drop_packet(DropReason::SendFailed);
                    sent += 1;
                }
            }
        }
        for _ in sent..self.to_clients.len() {
            self.metrics.drop_packet(DropReason::SendFailed);
        }
        for (_, packet) in self.to_clients.drain(..) {
            self.core.recycle(packet);
        }
    }

    async fn send_to_client(&mut self, to: ClientAddr, packet: Vec<u8>) {
        match to.transport {
            Transport::Udp => {
                self.to_clients.push((to.addr, packet));
                if self.to_clients.len() >= BATCH {
                    self.flush_to_clients().await;
                }
            }
            Transport::Stream => {
                let sent = self
                    .streams
                    .get(&to.addr)
                    .map(|c| c.outgoing.try_send(packet).is_ok());
                if sent != Some(true) {
                    self.metrics.drop_packet(DropReason::SendFailed);
                }
            }
        }
    }
}
