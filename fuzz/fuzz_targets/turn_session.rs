//! A whole TURN session chosen by the fuzzer: correctly signed (or deliberately
//! mis-signed) Allocate, Refresh, CreatePermission and ChannelBind from four
//! clients (UDP and TCP, IPv4 and IPv6, two users), relaying both ways, time
//! jumps, closed connections and a relay-socket driver that fails or answers
//! late. Besides "never panics" it checks that every allocation dies with its
//! lifetime and that, once everything has expired, every relay port can be
//! allocated again (no port leaks through reservations or failed binds).
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use arbitrary::Arbitrary;
use huddle_fuzz::client;
use huddle_fuzz::turn::{addr, stream, udp, Binds, Turn, PAST_EVERYTHING, RELAY_PORTS, SECRET};
use huddle_turn::core::stun::{Attribute, ChannelNumber};
use huddle_turn::core::{ClientAddr, Transport};
use huddle_turn::{rest_credentials, Credentials};
use libfuzzer_sys::fuzz_target;
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::rfc5766::attributes::{
    EvenPort, Lifetime, RequestedTransport, ReservationToken, XorPeerAddress,
};
use stun_codec::rfc5766::methods::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};
use stun_codec::rfc8656::attributes::{AddressFamily, RequestedAddressFamily};
use stun_codec::Method;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Who {
    /// alice over UDP.
    A,
    /// alice over TCP from the same IP and port: another 5-tuple.
    B,
    /// bob over UDP.
    C,
    /// alice over UDP from IPv6 (the relay is IPv4).
    D,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Peer {
    Public,
    OtherPublic,
    V6,
    Loopback,
    Private,
    TheRelay,
    MappedLoopback,
    Any([u8; 4], u16),
}

impl Peer {
    fn addr(self) -> SocketAddr {
        match self {
            Peer::Public => addr("203.0.113.50:4000"),
            Peer::OtherPublic => addr("203.0.113.51:4001"),
            Peer::V6 => addr("[2001:db8::50]:4000"),
            Peer::Loopback => addr("127.0.0.1:4000"),
            Peer::Private => addr("10.1.2.3:4000"),
            Peer::TheRelay => addr("198.51.100.1:50000"),
            Peer::MappedLoopback => addr("[::ffff:127.0.0.1]:4000"),
            Peer::Any(ip, port) => SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Auth {
    /// Signed with the nonce last learnt (and retried once on 401/438, as clients do).
    Good,
    Unsigned,
    WrongPassword,
    WrongRealm,
    NoNonce,
    ForgedNonce,
    /// Credentials that expired before the session began.
    Expired,
    /// The other user's valid credentials on this 5-tuple.
    OtherUser,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Transport17 {
    Udp,
    Missing,
    Other(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Channel {
    First,
    Valid(u8),
    Any(u16),
}

impl Channel {
    fn number(self) -> u16 {
        match self {
            Channel::First => 0x4000,
            Channel::Valid(n) => 0x4000 + u16::from(n),
            Channel::Any(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Step {
    Millis(u16),
    Seconds(u16),
    PastEverything,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum BindMode {
    Succeed,
    Fail,
    Hold,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Allocate {
        who: Who,
        auth: Auth,
        transport: Transport17,
        lifetime: Option<u32>,
        /// `Some(r)`: EVEN-PORT, asking to reserve the next port when `r`.
        even_port: Option<bool>,
        /// Claim the last RESERVATION-TOKEN handed out (or a made-up one).
        token: Option<Option<u64>>,
        /// REQUESTED-ADDRESS-FAMILY: IPv4 when true.
        family: Option<bool>,
    },
    Refresh {
        who: Who,
        auth: Auth,
        lifetime: Option<u32>,
    },
    CreatePermission {
        who: Who,
        auth: Auth,
        peers: Vec<Peer>,
    },
    ChannelBind {
        who: Who,
        auth: Auth,
        channel: Option<Channel>,
        peer: Option<Peer>,
    },
    Binding {
        who: Who,
    },
    ChannelData {
        who: Who,
        channel: Channel,
        payload: Vec<u8>,
    },
    Send {
        who: Who,
        peer: Peer,
        payload: Vec<u8>,
        dont_fragment: bool,
    },
    FromPeer {
        allocation: u8,
        peer: Peer,
        payload: Vec<u8>,
        big: bool,
    },
    /// The last request of `who` again, byte for byte.
    Retransmit {
        who: Who,
    },
    /// The last request of `who` with one byte flipped.
    Corrupt {
        who: Who,
        at: u16,
        xor: u8,
    },
    Raw {
        who: Who,
        bytes: Vec<u8>,
    },
    Advance(Step),
    Close {
        who: Who,
    },
    Binds(BindMode),
    AnswerHeld {
        index: u8,
        ok: bool,
    },
}

struct Client {
    addr: ClientAddr,
    creds: Credentials,
    other: Credentials,
    nonce: Option<String>,
    last: Option<Vec<u8>>,
    /// Bytes of a TCP stream not yet a whole frame.
    stream: Vec<u8>,
}

struct Session {
    turn: Turn,
    clients: [Client; 4],
    expired: Credentials,
    token: Option<u64>,
    next_txid: u64,
}

const DAY: Duration = Duration::from_secs(86_400);

fn creds(user: &str) -> Credentials {
    rest_credentials(SECRET, user, 30 * DAY, huddle_fuzz::turn::START_UNIX)
}

impl Session {
    fn new() -> Self {
        let alice = creds("alice");
        let bob = creds("bob");
        let client = |addr: ClientAddr, creds: &Credentials, other: &Credentials| Client {
            addr,
            creds: creds.clone(),
            other: other.clone(),
            nonce: None,
            last: None,
            stream: Vec::new(),
        };
        Session {
            turn: Turn::new(),
            clients: [
                client(udp("203.0.113.10:5000"), &alice, &bob),
                client(stream("203.0.113.10:5000"), &alice, &bob),
                client(udp("203.0.113.11:6000"), &bob, &alice),
                client(udp("[2001:db8::10]:7000"), &alice, &bob),
            ],
            expired: rest_credentials(SECRET, "carol", Duration::ZERO, 1_000),
            token: None,
            next_txid: 1,
        }
    }

    /// Sends and learns from the replies; returns the last error code.
    fn send(&mut self, who: Who, packet: &[u8]) -> Option<u16> {
        let client = &mut self.clients[who as usize];
        if client.addr.transport == Transport::Stream {
            let mut buffer = std::mem::take(&mut client.stream);
            self.turn.stream_bytes(client.addr, &mut buffer, packet);
            self.clients[who as usize].stream = buffer;
        } else {
            self.turn.client(client.addr, packet);
        }
        self.learn(who)
    }

    /// Picks up nonces and reservation tokens from what `who` was sent;
    /// returns the last error code.
    fn learn(&mut self, who: Who) -> Option<u16> {
        let to = self.clients[who as usize].addr;
        let mut code = None;
        for (addr, packet) in self.turn.take_replies() {
            let (nonce, token, error) = client::learn(&packet);
            if addr == to {
                if nonce.is_some() {
                    self.clients[who as usize].nonce = nonce;
                }
                code = error.or(code);
            }
            self.token = token.or(self.token);
        }
        code
    }

    fn request(&mut self, who: Who, auth: Auth, method: Method, attrs: Vec<Attribute>) {
        let had_nonce = self.clients[who as usize].nonce.is_some();
        let Some(packet) = self.sign(who, auth, method, attrs.clone()) else {
            return;
        };
        self.clients[who as usize].last = Some(packet.clone());
        let code = self.send(who, &packet);
        let retry = matches!(auth, Auth::Good)
            && (code == Some(438) || (code == Some(401) && !had_nonce));
        if retry {
            if let Some(packet) = self.sign(who, auth, method, attrs) {
                self.clients[who as usize].last = Some(packet.clone());
                self.send(who, &packet);
            }
        }
    }

    fn sign(
        &mut self,
        who: Who,
        auth: Auth,
        method: Method,
        attrs: Vec<Attribute>,
    ) -> Option<Vec<u8>> {
        self.next_txid += 1;
        let id = client::txid(self.next_txid);
        let c = &self.clients[who as usize];
        let nonce = c.nonce.as_deref();
        let mut signing = client::signing(&c.creds, nonce);
        match auth {
            Auth::Good => {}
            Auth::Unsigned => return client::request(method, id, attrs, None, true),
            Auth::WrongPassword => signing.password = "not the password",
            Auth::WrongRealm => signing.realm = "elsewhere",
            Auth::NoNonce => signing.nonce = None,
            Auth::ForgedNonce => signing.nonce = Some("00000fff0123456789abcdef"),
            Auth::Expired => signing = client::signing(&self.expired, nonce),
            Auth::OtherUser => signing = client::signing(&c.other, nonce),
        }
        client::request(method, id, attrs, Some(&signing), self.next_txid % 2 == 0)
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Allocate {
                who,
                auth,
                transport,
                lifetime,
                even_port,
                token,
                family,
            } => {
                let mut attrs: Vec<Attribute> = Vec::new();
                match transport {
                    Transport17::Udp => attrs.push(RequestedTransport::new(17).into()),
                    Transport17::Missing => {}
                    Transport17::Other(p) => attrs.push(RequestedTransport::new(p).into()),
                }
                if let Some(l) = lifetime {
                    attrs.push(Lifetime::from_u32(l).into());
                }
                if let Some(reserve) = even_port {
                    attrs.push(EvenPort::new(reserve).into());
                }
                if let Some(token) = token {
                    let token = token.or(self.token).unwrap_or(0);
                    attrs.push(ReservationToken::new(token).into());
                }
                if let Some(v4) = family {
                    let family = if v4 { AddressFamily::V4 } else { AddressFamily::V6 };
                    attrs.push(RequestedAddressFamily::new(family).into());
                }
                self.request(who, auth, ALLOCATE, attrs);
            }
            Op::Refresh {
                who,
                auth,
                lifetime,
            } => {
                let attrs = lifetime
                    .map(|l| vec![Lifetime::from_u32(l).into()])
                    .unwrap_or_default();
                self.request(who, auth, REFRESH, attrs);
            }
            Op::CreatePermission { who, auth, peers } => {
                let attrs = peers
                    .iter()
                    .take(4)
                    .map(|p| XorPeerAddress::new(p.addr()).into())
                    .collect();
                self.request(who, auth, CREATE_PERMISSION, attrs);
            }
            Op::ChannelBind {
                who,
                auth,
                channel,
                peer,
            } => {
                let mut attrs: Vec<Attribute> = Vec::new();
                if let Some(c) = channel {
                    attrs.push(ChannelNumber(c.number()).into());
                }
                if let Some(p) = peer {
                    attrs.push(XorPeerAddress::new(p.addr()).into());
                }
                self.request(who, auth, CHANNEL_BIND, attrs);
            }
            Op::Binding { who } => {
                self.next_txid += 1;
                let id = client::txid(self.next_txid);
                if let Some(packet) = client::request(BINDING, id, vec![], None, true) {
                    self.send(who, &packet);
                }
            }
            Op::ChannelData {
                who,
                channel,
                payload,
            } => {
                let padded = self.clients[who as usize].addr.transport == Transport::Stream;
                let packet = client::channel_data(channel.number(), &payload, padded);
                self.send(who, &packet);
            }
            Op::Send {
                who,
                peer,
                payload,
                dont_fragment,
            } => {
                self.next_txid += 1;
                let id = client::txid(self.next_txid);
                if let Some(packet) = client::send_indication(id, peer.addr(), &payload, dont_fragment)
                {
                    self.send(who, &packet);
                }
            }
            Op::FromPeer {
                allocation,
                peer,
                mut payload,
                big,
            } => {
                if big {
                    // Around the largest payload the core relays.
                    payload.resize(64_990 + payload.len() % 20, 0xAB);
                }
                let id = match self.turn.bound.len() {
                    0 => huddle_turn::core::AllocationId(u64::from(allocation)),
                    n => self.turn.bound[usize::from(allocation) % n],
                };
                self.turn.peer(id, peer.addr(), &payload);
                self.turn.take_replies();
            }
            Op::Retransmit { who } => {
                if let Some(packet) = self.clients[who as usize].last.clone() {
                    self.send(who, &packet);
                }
            }
            Op::Corrupt { who, at, xor } => {
                if let Some(mut packet) = self.clients[who as usize].last.clone() {
                    if !packet.is_empty() {
                        let at = usize::from(at) % packet.len();
                        packet[at] ^= xor;
                    }
                    self.send(who, &packet);
                }
            }
            Op::Raw { who, bytes } => {
                self.send(who, &bytes);
            }
            Op::Advance(step) => {
                let by = match step {
                    Step::Millis(ms) => Duration::from_millis(u64::from(ms)),
                    Step::Seconds(s) => Duration::from_secs(u64::from(s)),
                    Step::PastEverything => PAST_EVERYTHING,
                };
                self.turn.advance(by);
                self.turn.take_replies();
                if by >= PAST_EVERYTHING {
                    self.assert_all_expired();
                }
            }
            Op::Close { who } => {
                let client = &mut self.clients[who as usize];
                client.stream.clear();
                let addr = client.addr;
                self.turn.close(addr);
            }
            Op::Binds(mode) => {
                self.turn.binds = match mode {
                    BindMode::Succeed => Binds::Succeed,
                    BindMode::Fail => Binds::Fail,
                    BindMode::Hold => Binds::Hold,
                }
            }
            Op::AnswerHeld { index, ok } => {
                self.turn.answer_held(usize::from(index), ok);
                self.turn.take_replies();
            }
        }
    }

    fn assert_all_expired(&self) {
        assert_eq!(
            self.turn.server.allocation_count(),
            0,
            "an allocation outlived every lifetime"
        );
        assert_eq!(self.turn.metrics.allocations.get(), 0, "allocations gauge");
    }

    /// After everything expired, each relay port must be allocatable again.
    fn check_no_port_leaked(mut self) {
        self.turn.advance(PAST_EVERYTHING);
        self.assert_all_expired();
        self.turn.binds = Binds::Succeed;
        let ports = RELAY_PORTS.len();
        for i in 0..ports {
            let from = udp(&format!("192.0.2.{}:9000", i + 1));
            let user = rest_credentials(SECRET, &format!("check{i}"), DAY, self.turn.unix_now());
            let attrs = || vec![RequestedTransport::new(17).into()];
            self.next_txid += 1;
            let first = client::request(ALLOCATE, client::txid(self.next_txid), attrs(), None, false)
                .expect("an unsigned Allocate encodes");
            self.turn.client(from, &first);
            let nonce = self
                .turn
                .take_replies()
                .iter()
                .find_map(|(_, p)| client::learn(p).0)
                .expect("a 401 with a nonce");
            self.next_txid += 1;
            let signing = client::signing(&user, Some(&nonce));
            let signed = client::request(
                ALLOCATE,
                client::txid(self.next_txid),
                attrs(),
                Some(&signing),
                false,
            )
            .expect("a signed Allocate encodes");
            self.turn.client(from, &signed);
            let replies = self.turn.take_replies();
            let code = replies.iter().find_map(|(_, p)| client::learn(p).2);
            assert_eq!(
                code, None,
                "allocation {} of {ports} failed after everything expired: a relay port leaked",
                i + 1
            );
        }
        assert_eq!(self.turn.server.allocation_count(), ports);
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut session = Session::new();
    for op in ops.into_iter().take(256) {
        session.run(op);
    }
    session.check_no_port_leaked();
});
