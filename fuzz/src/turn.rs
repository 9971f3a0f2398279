//! One sans-IO TURN core, a fake clock and a fake driver that checks every
//! output against what must hold whatever the clients sent.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use huddle_turn::core::stun;
use huddle_turn::core::{AllocationId, ClientAddr, Input, Output, Server, Transport};
use huddle_turn::framing::{self, Frame, PacketKind};
use huddle_turn::{TurnConfig, TurnMetrics};

pub const SECRET: &[u8] = b"fuzz-secret";
pub const REALM: &str = "huddle.fuzz";
pub const START_UNIX: u64 = 1_700_000_000;
pub const SEED: [u8; 32] = [7; 32];
pub const RELAY_IP: &str = "198.51.100.1";
/// Few ports, so exhaustion, reservations and leaks are reachable.
pub const RELAY_PORTS: std::ops::RangeInclusive<u16> = 50_000..=50_007;
/// Longer than any lifetime the core grants (allocation, permission, channel
/// with its rebind guard, reservation, nonce).
pub const PAST_EVERYTHING: Duration = Duration::from_secs(2 * 3600);

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("fixed fuzz address")
}

pub fn udp(s: &str) -> ClientAddr {
    ClientAddr {
        transport: Transport::Udp,
        addr: addr(s),
    }
}

pub fn stream(s: &str) -> ClientAddr {
    ClientAddr {
        transport: Transport::Stream,
        addr: addr(s),
    }
}

pub fn config() -> TurnConfig {
    let mut config = TurnConfig::new(REALM, SECRET);
    config.listen = addr("198.51.100.1:3478");
    config.relay_bind_ip = RELAY_IP.parse().expect("fixed relay ip");
    config.relay_ports = RELAY_PORTS;
    config.user_quota = 3;
    config.bandwidth_bytes_per_sec = 100_000;
    config
}

/// The fake clock's zero; one per process so every run sees the same times.
fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// How the fake driver answers [`Output::BindRelay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binds {
    Succeed,
    Fail,
    /// Keep them unanswered until [`Turn::answer_held`].
    Hold,
}

pub struct Turn {
    pub server: Server,
    pub metrics: TurnMetrics,
    pub start: Instant,
    pub now: Instant,
    pub binds: Binds,
    pub held: Vec<AllocationId>,
    /// Every allocation id the core asked a relay socket for.
    pub bound: Vec<AllocationId>,
    /// Every client address that sent something: the only ones we may answer.
    pub senders: HashSet<ClientAddr>,
    /// Packets to clients since the last [`Turn::take_replies`].
    pub replies: Vec<(ClientAddr, Vec<u8>)>,
}

impl Default for Turn {
    fn default() -> Self {
        Self::new()
    }
}

impl Turn {
    pub fn new() -> Self {
        let metrics = TurnMetrics::new();
        let now = start();
        let server = Server::new(config(), metrics.clone(), SEED, now, START_UNIX);
        Turn {
            server,
            metrics,
            start: now,
            now,
            binds: Binds::Succeed,
            held: Vec::new(),
            bound: Vec::new(),
            senders: HashSet::new(),
            replies: Vec::new(),
        }
    }

    pub fn unix_now(&self) -> u64 {
        START_UNIX + (self.now - self.start).as_secs()
    }

    /// One datagram, or one whole stream frame, from a client.
    pub fn client(&mut self, from: ClientAddr, packet: &[u8]) {
        self.senders.insert(from);
        self.server
            .handle_input(Input::Client { from, packet }, self.now);
        self.drain();
    }

    /// Bytes a stream client wrote: appended to what it sent before, cut into
    /// frames with the stream driver's framing; garbage closes the connection.
    pub fn stream_bytes(&mut self, from: ClientAddr, buffer: &mut Vec<u8>, bytes: &[u8]) {
        buffer.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            match framing::frame(&buffer[at..]) {
                Frame::Incomplete => break,
                Frame::Complete(n) => {
                    assert!(
                        n >= 4 && n <= buffer.len() - at,
                        "frame() said Complete({n}) for {} bytes",
                        buffer.len() - at
                    );
                    let frame = buffer[at..at + n].to_vec();
                    self.client(from, &frame);
                    at += n;
                }
                Frame::Invalid => {
                    self.close(from);
                    buffer.clear();
                    return;
                }
            }
        }
        buffer.drain(..at);
    }

    pub fn close(&mut self, client: ClientAddr) {
        self.server
            .handle_input(Input::ClientClosed(client), self.now);
        self.drain();
    }

    pub fn peer(&mut self, allocation: AllocationId, from: SocketAddr, packet: &[u8]) {
        self.server.handle_input(
            Input::Peer {
                allocation,
                from,
                packet,
            },
            self.now,
        );
        self.drain();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.server.handle_timeout(self.now);
        self.drain();
        if let Some(at) = self.server.poll_timeout() {
            assert!(
                at > self.now,
                "poll_timeout() is not in the future after handle_timeout()"
            );
        }
    }

    /// Answers a bind the driver was holding (possibly twice, or for an
    /// allocation already gone: a real driver's answers can be that late).
    pub fn answer_held(&mut self, index: usize, ok: bool) {
        if self.held.is_empty() {
            return;
        }
        let allocation = self.held.remove(index % self.held.len());
        self.server
            .handle_input(Input::RelayBound { allocation, ok }, self.now);
        self.drain();
    }

    pub fn take_replies(&mut self) -> Vec<(ClientAddr, Vec<u8>)> {
        std::mem::take(&mut self.replies)
    }

    pub fn drain(&mut self) {
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::ToClient { to, packet } => {
                    check_to_client(&self.senders, to, &packet);
                    // Keep memory bounded however long the session is.
                    if self.replies.len() < 64 {
                        self.replies.push((to, packet));
                    }
                }
                Output::ToPeer {
                    allocation,
                    to: _,
                    packet,
                } => {
                    assert!(
                        self.bound.contains(&allocation),
                        "ToPeer for an allocation never bound"
                    );
                    assert!(packet.len() <= 65_535, "relayed more than a datagram");
                    self.server.recycle(packet);
                }
                Output::BindRelay { allocation, addr } => {
                    assert!(
                        RELAY_PORTS.contains(&addr.port()),
                        "relay port {} outside the range",
                        addr.port()
                    );
                    assert_eq!(addr.ip().to_string(), RELAY_IP);
                    self.bound.push(allocation);
                    match self.binds {
                        Binds::Hold => self.held.push(allocation),
                        Binds::Succeed | Binds::Fail => {
                            let ok = self.binds == Binds::Succeed;
                            self.server
                                .handle_input(Input::RelayBound { allocation, ok }, self.now);
                        }
                    }
                }
                Output::ReleaseRelay { allocation } => {
                    assert!(
                        self.bound.contains(&allocation),
                        "ReleaseRelay for an allocation never bound"
                    );
                }
            }
        }
        let count = self.server.allocation_count();
        assert!(
            count <= self.senders.len(),
            "{count} allocations for {} client 5-tuples",
            self.senders.len()
        );
        let gauge = self.metrics.allocations.get();
        assert!(
            (0..=count as i64).contains(&gauge),
            "allocations gauge {gauge} with {count} allocations"
        );
    }
}

/// What the server sends a client must be something a client can read.
fn check_to_client(senders: &HashSet<ClientAddr>, to: ClientAddr, packet: &[u8]) {
    assert!(
        senders.contains(&to),
        "packet to {to:?}, which never sent anything"
    );
    match framing::kind(packet) {
        PacketKind::Stun => assert!(
            stun::decode(packet).is_some(),
            "server sent undecodable STUN: {packet:02x?}"
        ),
        PacketKind::ChannelData => {}
        PacketKind::Other => panic!("server sent neither STUN nor ChannelData: {packet:02x?}"),
    }
    if to.transport == Transport::Stream {
        assert_eq!(
            framing::frame(packet),
            Frame::Complete(packet.len()),
            "a packet to a stream client is not exactly one frame"
        );
    }
}
