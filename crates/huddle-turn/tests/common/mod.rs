//! A fake-clock harness: one sans-IO server, any number of fake clients, no sockets.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytecodec::EncodeExt;
use huddle_turn::core::stun::{self, Attribute, StunMessage};
use huddle_turn::core::{AllocationId, ClientAddr, Input, Output, Server, Transport};
use huddle_turn::{rest_credentials, Credentials, TurnConfig, TurnMetrics};
use stun_codec::rfc5389::attributes::{ErrorCode, MessageIntegrity, Nonce, Realm, Username};
use stun_codec::rfc5766::attributes::{
    Lifetime, RequestedTransport, XorPeerAddress, XorRelayAddress,
};
use stun_codec::rfc5766::methods::ALLOCATE;
use stun_codec::{Message, MessageClass, MessageEncoder, Method, TransactionId};

pub const SECRET: &[u8] = b"test-secret";
pub const REALM: &str = "huddle.test";
pub const START_UNIX: u64 = 1_700_000_000;
pub const SERVER_IP: &str = "198.51.100.1";

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

pub fn test_config() -> TurnConfig {
    let mut config = TurnConfig::new(REALM, SECRET);
    config.listen = addr("198.51.100.1:3478");
    config.relay_bind_ip = SERVER_IP.parse().unwrap();
    config.relay_ports = 50_000..=50_099;
    config.bandwidth_bytes_per_sec = 0;
    config
}

pub struct Harness {
    pub server: Server,
    pub now: Instant,
    pub start: Instant,
    pub metrics: TurnMetrics,
    /// Outputs that were not a reply to the last request (peer traffic, releases).
    pub pending: Vec<Output>,
    /// Answer `BindRelay` with failure this many times first.
    pub failing_binds: usize,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    pub fn with_config(change: impl FnOnce(&mut TurnConfig)) -> Self {
        let mut config = test_config();
        change(&mut config);
        let metrics = TurnMetrics::new();
        let now = Instant::now();
        let server = Server::new(config, metrics.clone(), [42; 32], now, START_UNIX);
        Harness {
            server,
            now,
            start: now,
            metrics,
            pending: Vec::new(),
            failing_binds: 0,
        }
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.server.handle_timeout(self.now);
        self.drain();
    }

    /// Advances to a moment relative to the start.
    pub fn at(&mut self, since_start: Duration) {
        let target = self.start + since_start;
        assert!(target >= self.now, "time only goes forward");
        self.advance(target - self.now);
    }

    pub fn txid(&mut self) -> TransactionId {
        fresh_txid()
    }

    /// Feeds one packet; returns what the server sent to clients, keeps the rest in `pending`.
    pub fn input(&mut self, from: ClientAddr, packet: &[u8]) -> Vec<(ClientAddr, Vec<u8>)> {
        self.server
            .handle_input(Input::Client { from, packet }, self.now);
        self.drain()
    }

    pub fn peer_sends(
        &mut self,
        allocation: AllocationId,
        from: SocketAddr,
        packet: &[u8],
    ) -> Vec<(ClientAddr, Vec<u8>)> {
        self.server.handle_input(
            Input::Peer {
                allocation,
                from,
                packet,
            },
            self.now,
        );
        self.drain()
    }

    pub fn drain(&mut self) -> Vec<(ClientAddr, Vec<u8>)> {
        let mut to_clients = Vec::new();
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::ToClient { to, packet } => to_clients.push((to, packet)),
                Output::BindRelay { allocation, .. } => {
                    let ok = self.failing_binds == 0;
                    self.failing_binds = self.failing_binds.saturating_sub(1);
                    self.pending.push(output);
                    self.server
                        .handle_input(Input::RelayBound { allocation, ok }, self.now);
                }
                other => self.pending.push(other),
            }
        }
        to_clients
    }

    /// Peer-bound packets produced since the last call.
    pub fn take_to_peer(&mut self) -> Vec<(AllocationId, SocketAddr, Vec<u8>)> {
        let (to_peer, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|o| matches!(o, Output::ToPeer { .. }));
        self.pending = rest;
        to_peer
            .into_iter()
            .map(|o| match o {
                Output::ToPeer {
                    allocation,
                    to,
                    packet,
                } => (allocation, to, packet),
                _ => unreachable!(),
            })
            .collect()
    }

    /// The relay allocation id most recently bound.
    pub fn last_bound(&self) -> Option<AllocationId> {
        self.pending.iter().rev().find_map(|o| match o {
            Output::BindRelay { allocation, .. } => Some(*allocation),
            _ => None,
        })
    }
}

pub fn fresh_txid() -> TransactionId {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut id = [0u8; 12];
    id[4..].copy_from_slice(&n.to_be_bytes());
    TransactionId::new(id)
}

pub fn udp_client(address: &str) -> ClientAddr {
    ClientAddr {
        transport: Transport::Udp,
        addr: addr(address),
    }
}

pub fn encode(msg: StunMessage) -> Vec<u8> {
    MessageEncoder::new()
        .encode_into_bytes(msg)
        .expect("test message encodes")
}

pub fn error_code(msg: &StunMessage) -> Option<u16> {
    msg.get_attribute::<ErrorCode>().map(|e| e.code())
}

/// A TURN client that knows its credentials and the server's latest nonce.
pub struct Client {
    pub addr: ClientAddr,
    pub creds: Credentials,
    pub nonce: Option<String>,
}

impl Client {
    pub fn new(address: &str, user_id: &str) -> Self {
        Client {
            addr: udp_client(address),
            creds: rest_credentials(SECRET, user_id, secs(86_400), START_UNIX),
            nonce: None,
        }
    }

    pub fn message(&self, method: Method, attrs: Vec<Attribute>) -> StunMessage {
        let mut msg = Message::new(MessageClass::Request, method, fresh_txid());
        for a in attrs {
            msg.add_attribute(a);
        }
        msg
    }

    /// Signs with the current nonce (if any) and sends; returns the decoded reply.
    pub fn send_once(&mut self, h: &mut Harness, mut msg: StunMessage) -> StunMessage {
        if let Some(nonce) = &self.nonce {
            let username = Username::new(self.creds.username.clone()).unwrap();
            let realm = Realm::new(REALM.to_owned()).unwrap();
            msg.add_attribute(username.clone());
            msg.add_attribute(realm.clone());
            msg.add_attribute(Nonce::new(nonce.clone()).unwrap());
            let mi = MessageIntegrity::new_long_term_credential(
                &msg,
                &username,
                &realm,
                &self.creds.password,
            )
            .unwrap();
            msg.add_attribute(mi);
        }
        let replies = h.input(self.addr, &encode(msg));
        assert_eq!(replies.len(), 1, "expected exactly one reply");
        let reply = stun::decode(&replies[0].1).expect("reply decodes");
        if let Some(nonce) = reply.get_attribute::<Nonce>() {
            self.nonce = Some(nonce.value().to_owned());
        }
        reply
    }

    /// Like a real client: on 401/438 with a fresh nonce, retries once.
    pub fn request(
        &mut self,
        h: &mut Harness,
        method: Method,
        attrs: Vec<Attribute>,
    ) -> StunMessage {
        let had_nonce = self.nonce.clone();
        let reply = self.send_once(h, self.message(method, attrs.clone()));
        let retry = matches!(error_code(&reply), Some(401) if had_nonce.is_none())
            || error_code(&reply) == Some(438);
        if retry {
            return self.send_once(h, self.message(method, attrs));
        }
        reply
    }

    /// Allocates (lifetime as asked) and returns the relayed address and allocation id.
    pub fn allocate(
        &mut self,
        h: &mut Harness,
        lifetime: Option<u32>,
    ) -> (SocketAddr, AllocationId) {
        let mut attrs = vec![RequestedTransport::new(17).into()];
        if let Some(l) = lifetime {
            attrs.push(Lifetime::from_u32(l).into());
        }
        let reply = self.request(h, ALLOCATE, attrs);
        assert_eq!(
            reply.class(),
            MessageClass::SuccessResponse,
            "allocate failed: {reply:?}"
        );
        let relayed = reply.get_attribute::<XorRelayAddress>().unwrap().address();
        (relayed, h.last_bound().expect("a relay was bound"))
    }

    pub fn peer_attr(peer: &str) -> Attribute {
        XorPeerAddress::new(addr(peer)).into()
    }
}

/// A Send indication built with stun_codec (so the hand-written parser is
/// checked against an independent encoder).
pub fn send_indication(peer: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut msg: StunMessage = Message::new(
        MessageClass::Indication,
        stun_codec::rfc5766::methods::SEND,
        fresh_txid(),
    );
    msg.add_attribute(XorPeerAddress::new(peer));
    msg.add_attribute(stun_codec::rfc5766::attributes::Data::new(payload.to_vec()).unwrap());
    encode(msg)
}

pub fn channel_data(number: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = number.to_be_bytes().to_vec();
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub fn channel_attr(number: u16) -> Attribute {
    stun::ChannelNumber(number).into()
}
