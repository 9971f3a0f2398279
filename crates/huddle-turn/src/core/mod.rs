//! The sans-IO TURN server: packets and `now` in, packets and timeouts out.
//!
//! No sockets, no locks, no threads, no wall clock: the driver (or a test with a
//! fake clock) feeds [`Input`]s through [`Server::handle_input`], wakes it at
//! [`Server::poll_timeout`] with [`Server::handle_timeout`], and carries out every
//! [`Output`] from [`Server::poll_output`]. Relay sockets are bound by the driver
//! on request ([`Output::BindRelay`]) and reported back ([`Input::RelayBound`]).

mod allocate;
mod allocation;
mod authenticate;
mod bandwidth;
mod binding;
mod channel;
mod channel_number;
pub(crate) mod indication;
mod peers;
mod permission;
mod quota;
mod relay;
mod reservation;
pub mod stun;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};

use rustc_hash::FxHashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use stun_codec::rfc5389::attributes::Realm;
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::rfc5766::methods::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};
use stun_codec::MessageClass;

pub use self::allocation::AllocationId;
use self::allocation::{Allocation, AllocationState};
pub use self::channel::CHANNEL_LIFETIME;
pub use self::permission::PERMISSION_LIFETIME;
use self::quota::Quota;
use crate::address_key;
use crate::framing::{self, PacketKind};
use crate::metrics::{DropReason, TurnMetrics};
use crate::nonce::Nonces;
use crate::peer_policy::PeerPolicy;
use crate::TurnConfig;

/// How a client reaches us; with the client's address it names the 5-tuple
/// an allocation belongs to (our side of the tuple is fixed per server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    /// Any stream transport: TCP now, TLS later. ChannelData is padded on these.
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr {
    pub transport: Transport,
    pub addr: SocketAddr,
}

#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram, or one whole frame of a stream, from a client.
    Client { from: ClientAddr, packet: &'a [u8] },
    /// A datagram a peer sent to an allocation's relay socket.
    Peer {
        allocation: AllocationId,
        from: SocketAddr,
        packet: &'a [u8],
    },
    /// The driver's answer to [`Output::BindRelay`].
    RelayBound { allocation: AllocationId, ok: bool },
    /// A stream client disconnected: its allocation goes with it (RFC 8656 3.1).
    ClientClosed(ClientAddr),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    ToClient {
        to: ClientAddr,
        packet: Vec<u8>,
    },
    /// Send `packet` from the relay socket of `allocation` to a peer.
    ToPeer {
        allocation: AllocationId,
        to: SocketAddr,
        packet: Vec<u8>,
    },
    /// Bind a UDP socket on `addr` for `allocation`, then report [`Input::RelayBound`].
    BindRelay {
        allocation: AllocationId,
        addr: SocketAddr,
    },
    /// Close the relay socket of `allocation`.
    ReleaseRelay {
        allocation: AllocationId,
    },
}

/// Buffers kept for reuse; enough for a burst without hoarding memory.
const BUFFER_POOL: usize = 256;
const BUFFER_CAPACITY: usize = 1600;

pub struct Server {
    config: TurnConfig,
    realm: Realm,
    nonces: Nonces,
    policy: PeerPolicy,
    metrics: TurnMetrics,
    epoch: (Instant, u64),
    // Looked up per relayed packet: a fast hasher. Keys are our own ids and the
    // addresses of authenticated clients, so hash flooding needs credentials.
    allocations: FxHashMap<AllocationId, Allocation>,
    by_client: FxHashMap<ClientAddr, AllocationId>,
    used_ports: HashSet<u16>,
    reservations: reservation::Reservations,
    per_user: Quota<String>,
    /// Allocations per client address, whatever credentials they come with: a flood of fresh
    /// credentials from one place cannot take every relay port.
    per_client: Quota<IpAddr>,
    /// "Look at this allocation then"; entries that no longer match the
    /// allocation's `wake_at` are skipped when popped.
    deadlines: BinaryHeap<Reverse<(Instant, AllocationId)>>,
    outputs: VecDeque<Output>,
    buffers: Vec<Vec<u8>>,
    rng: StdRng,
    next_id: u64,
}

impl Server {
    /// `seed` keys nonces and picks relay ports (random in production, fixed in
    /// tests); `now_unix` anchors REST-credential expiry to the monotonic clock.
    pub fn new(
        config: TurnConfig,
        metrics: TurnMetrics,
        seed: [u8; 32],
        now: Instant,
        now_unix: u64,
    ) -> Self {
        let realm = Realm::new(config.realm.clone())
            .unwrap_or_else(|_| Realm::new("huddle".to_owned()).expect("a short realm is valid"));
        let policy = PeerPolicy::new(config.allow_peers.clone(), config.own_addresses());
        Server {
            nonces: Nonces::new(seed, now, config.nonce_lifetime),
            realm,
            policy,
            metrics,
            epoch: (now, now_unix),
            allocations: FxHashMap::default(),
            by_client: FxHashMap::default(),
            used_ports: HashSet::new(),
            reservations: Default::default(),
            per_user: Quota::new(config.user_quota),
            per_client: Quota::new(config.client_quota),
            deadlines: BinaryHeap::new(),
            outputs: VecDeque::new(),
            buffers: Vec::new(),
            rng: StdRng::from_seed(seed),
            next_id: 1,
            config,
        }
    }

    pub fn handle_input(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Client { from, packet } => self.packet_from_client(from, packet, now),
            Input::Peer {
                allocation,
                from,
                packet,
            } => self.packet_from_peer(allocation, from, packet, now),
            Input::RelayBound { allocation, ok } => self.relay_bound(allocation, ok, now),
            Input::ClientClosed(client) => {
                if let Some(id) = self.by_client.get(&client).copied() {
                    self.delete_allocation(id);
                }
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    /// Expires allocations, permissions and channels due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(allocation) = self.allocations.get_mut(&id) else {
                continue;
            };
            if allocation.wake_at != Some(at) {
                continue; // superseded by an earlier wake-up
            }
            allocation.wake_at = None;
            if allocation.expires <= now {
                tracing::debug!(?id, "allocation expired");
                self.delete_allocation(id);
                continue;
            }
            allocation.permissions.remove_expired(now);
            allocation.channels.remove_expired(now);
            let next = allocation.next_deadline(now);
            self.schedule(id, next);
        }
    }

    /// Gives a packet buffer from an [`Output`] back, so relaying does not
    /// allocate once the pool is warm.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.buffers.len() < BUFFER_POOL {
            buffer.clear();
            self.buffers.push(buffer);
        }
    }

    /// Live allocations (for tests and logs).
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// Entries in the deadline heap (for tests: it must not grow with refreshes).
    pub fn pending_wake_ups(&self) -> usize {
        self.deadlines.len()
    }

    pub fn metrics(&self) -> &TurnMetrics {
        &self.metrics
    }

    fn packet_from_client(&mut self, from: ClientAddr, packet: &[u8], now: Instant) {
        match framing::kind(packet) {
            PacketKind::ChannelData => self.channel_data_from_client(from, packet, now),
            PacketKind::Stun
                if indication::message_type(packet) == Some(indication::SEND_INDICATION) =>
            {
                self.send_indication(from, packet, now)
            }
            PacketKind::Stun => self.stun_request(from, packet, now),
            PacketKind::Other => self.metrics.drop_packet(DropReason::Malformed),
        }
    }

    fn stun_request(&mut self, from: ClientAddr, packet: &[u8], now: Instant) {
        if let Some(txid) = binding::plain_request(packet) {
            self.metrics.binding_requests.inc();
            let mut reply = self.take_buffer();
            binding::write_success(&mut reply, &txid, from.addr);
            return self.send_to_client(from, reply);
        }
        let Some(request) = stun::decode(packet) else {
            self.metrics.drop_packet(DropReason::Malformed);
            return;
        };
        if request.class() != MessageClass::Request {
            self.metrics.drop_packet(DropReason::Unexpected);
            return;
        }
        if request.method() == BINDING {
            self.metrics.binding_requests.inc();
            let reply = stun::binding_success(&request, from.addr);
            return self.send_to_client(from, reply);
        }
        let method = request.method();
        if ![ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) {
            self.metrics.drop_packet(DropReason::Unexpected);
            return;
        }
        let unknown = stun::unknown_required(&request);
        if !unknown.is_empty() {
            let mut reply =
                stun::error_response(&request, stun_codec::rfc5389::errors::UnknownAttribute);
            reply.add_attribute(stun_codec::rfc5389::attributes::UnknownAttributes::new(
                unknown,
            ));
            return self.send_to_client(from, stun::finish(reply, None));
        }
        tracing::trace!(?from, ?method, "request");
        let Some(owner) = self.authenticate(from, &request, now) else {
            return;
        };
        match method {
            ALLOCATE => self.allocate(from, &request, owner, now),
            REFRESH => self.refresh(from, &request, owner, now),
            CREATE_PERMISSION => self.create_permission(from, &request, owner, now),
            _ => self.channel_bind(from, &request, owner, now),
        }
    }

    fn send_to_client(&mut self, to: ClientAddr, packet: Vec<u8>) {
        self.outputs.push_back(Output::ToClient { to, packet });
    }

    fn take_buffer(&mut self) -> Vec<u8> {
        self.buffers
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY))
    }

    /// Asks to look at allocation `id` at `at`. One wake-up per allocation is
    /// queued at a time (the earliest): later deadlines are found again when
    /// it fires, so refreshes do not pile up entries in the heap.
    fn schedule(&mut self, id: AllocationId, at: Instant) {
        let Some(allocation) = self.allocations.get_mut(&id) else {
            return;
        };
        if allocation.wake_at.is_some_and(|queued| queued <= at) {
            return;
        }
        allocation.wake_at = Some(at);
        self.deadlines.push(Reverse((at, id)));
    }

    fn unix_now(&self, now: Instant) -> u64 {
        let (at, unix) = self.epoch;
        unix + now.saturating_duration_since(at).as_secs()
    }

    /// RFC 8656 7.2/7.3: the client's wish, at least the default, at most the cap.
    fn granted_lifetime(&self, requested: Option<Duration>) -> Duration {
        let default = self.config.default_lifetime.min(self.config.max_lifetime);
        requested
            .unwrap_or(default)
            .clamp(default, self.config.max_lifetime)
    }

    fn delete_allocation(&mut self, id: AllocationId) {
        let Some(allocation) = self.allocations.remove(&id) else {
            return;
        };
        self.by_client.remove(&allocation.client);
        let held_next = matches!(
            allocation.state,
            AllocationState::Binding {
                reserves_next: true,
                ..
            }
        );
        self.release_port(allocation.relay.port(), held_next);
        self.per_user.give_back(&allocation.owner.user_id);
        self.per_client
            .give_back(&address_key(allocation.client.addr.ip()));
        if allocation.is_active() {
            self.metrics.allocations.dec();
        }
        self.outputs
            .push_back(Output::ReleaseRelay { allocation: id });
    }
}

/// Allocation ids never repeat within a server, so a late packet from a closed
/// relay socket can never be mistaken for one of a newer allocation.
fn next_id(counter: &mut u64) -> AllocationId {
    let id = AllocationId(*counter);
    *counter += 1;
    id
}
