//! The TURN control path of the bench: Allocate (with the 401 challenge) and
//! ChannelBind to a peer, for thousands of allocations at once. Each allocation
//! is a small state machine; one loop drives a window of them over `poll`.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use stun_codec::rfc5389::attributes::{ErrorCode, MessageIntegrity, Nonce, Realm, Username};
use stun_codec::rfc5766::attributes::{
    ChannelNumber, Lifetime, RequestedTransport, XorPeerAddress, XorRelayAddress,
};
use stun_codec::rfc5766::methods::{ALLOCATE, CHANNEL_BIND};
use stun_codec::{Message, MessageClass, TransactionId};

use crate::credentials::{rest_credentials, Credentials};
use crate::server::SECRET;
use crate::stun::{self, StunMessage};
use crate::sys;

/// The channel every allocation binds (channels are per allocation).
pub const CHANNEL: u16 = 0x4000;
const UDP: u8 = 17;
const WINDOW: usize = 256;
const RETRANSMIT_AFTER: Duration = Duration::from_millis(300);
const MAX_TRIES: u32 = 8;

/// A relayed allocation with a channel bound to a peer: the client socket
/// whose 5-tuple the server knows it by.
pub struct Allocation {
    pub socket: UdpSocket,
}

/// Creates `count` allocations on `server`, the `i`th bound to `peers[i % len]`.
pub fn allocate_many(
    server: SocketAddr,
    peers: &[SocketAddr],
    count: usize,
) -> anyhow::Result<Vec<Allocation>> {
    let mut done = Vec::with_capacity(count);
    let mut active: Vec<Pending> = Vec::with_capacity(WINDOW);
    let mut ready = Vec::new();
    let mut buf = [0u8; 2048];
    let mut next = 0;
    while done.len() < count {
        while active.len() < WINDOW && next < count {
            active.push(Pending::start(server, peers[next % peers.len()])?);
            next += 1;
        }
        let sockets: Vec<&UdpSocket> = active.iter().map(|p| &p.socket).collect();
        sys::poll_readable(&sockets, Duration::from_millis(5), &mut ready)?;
        for &i in &ready {
            while let Ok(n) = active[i].socket.recv(&mut buf) {
                active[i].on_response(&buf[..n])?;
            }
        }
        for p in &mut active {
            p.retransmit_if_due()?;
        }
        let mut i = 0;
        while i < active.len() {
            if let Step::Done = active[i].step {
                let p = active.swap_remove(i);
                done.push(Allocation { socket: p.socket });
            } else {
                i += 1;
            }
        }
    }
    Ok(done)
}

/// The long-term credential context a 401 hands out.
#[derive(Clone)]
struct Challenge {
    realm: Realm,
    nonce: Nonce,
}

enum Step {
    /// An unauthenticated Allocate is out, expecting 401 with realm and nonce.
    Challenged,
    Allocating(Challenge),
    Binding(Challenge, SocketAddr),
    Done,
}

struct Pending {
    socket: UdpSocket,
    peer: SocketAddr,
    creds: Credentials,
    step: Step,
    request: Vec<u8>,
    transaction: TransactionId,
    sent_at: Instant,
    tries: u32,
}

impl Pending {
    fn start(server: SocketAddr, peer: SocketAddr) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").context("client socket")?;
        socket.connect(server)?;
        socket.set_nonblocking(true)?;
        static USER: AtomicU64 = AtomicU64::new(0);
        let user = format!("bench{}", USER.fetch_add(1, Ordering::Relaxed));
        let expiry = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 3600;
        let mut p = Pending {
            socket,
            peer,
            creds: rest_credentials(SECRET, &user, expiry),
            step: Step::Challenged,
            request: Vec::new(),
            transaction: TransactionId::new([0; 12]),
            sent_at: Instant::now(),
            tries: 0,
        };
        p.send(allocate(new_transaction(), None))?;
        Ok(p)
    }

    fn send(&mut self, msg: StunMessage) -> anyhow::Result<()> {
        self.transaction = msg.transaction_id();
        self.request = stun::encode(msg);
        self.tries = 0;
        self.transmit()
    }

    fn transmit(&mut self) -> anyhow::Result<()> {
        self.sent_at = Instant::now();
        self.tries += 1;
        match self.socket.send(&self.request) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn retransmit_if_due(&mut self) -> anyhow::Result<()> {
        if matches!(self.step, Step::Done) || self.sent_at.elapsed() < RETRANSMIT_AFTER {
            return Ok(());
        }
        if self.tries >= MAX_TRIES {
            bail!("no answer to a TURN request after {MAX_TRIES} tries");
        }
        self.transmit()
    }

    fn on_response(&mut self, datagram: &[u8]) -> anyhow::Result<()> {
        let Some(msg) = stun::decode(datagram) else {
            return Ok(());
        };
        // Answers to earlier transactions, and the second answer to a
        // retransmitted last one, change nothing.
        if msg.transaction_id() != self.transaction || matches!(self.step, Step::Done) {
            return Ok(());
        }
        let error = msg.get_attribute::<ErrorCode>().map(|e| e.code());
        let fresh_nonce = msg.get_attribute::<Nonce>().cloned();
        match (&self.step, msg.class(), error) {
            (Step::Challenged, MessageClass::ErrorResponse, Some(401)) => {
                let realm = msg
                    .get_attribute::<Realm>()
                    .cloned()
                    .context("401 without REALM")?;
                let nonce = fresh_nonce.context("401 without NONCE")?;
                let challenge = Challenge { realm, nonce };
                self.step = Step::Allocating(challenge.clone());
                self.send(allocate(new_transaction(), Some((&challenge, &self.creds))))
            }
            (Step::Allocating(c), MessageClass::SuccessResponse, _) => {
                let relay = msg
                    .get_attribute::<XorRelayAddress>()
                    .context("Allocate success without XOR-RELAYED-ADDRESS")?
                    .address();
                let c = c.clone();
                let bind = channel_bind(self.peer, &c, &self.creds);
                self.step = Step::Binding(c, relay);
                self.send(bind)
            }
            (Step::Binding(..), MessageClass::SuccessResponse, _) => {
                self.step = Step::Done;
                Ok(())
            }
            // Stale nonce: take the new one and ask again.
            (Step::Allocating(c) | Step::Binding(c, _), MessageClass::ErrorResponse, Some(438)) => {
                let mut c = c.clone();
                c.nonce = fresh_nonce.context("438 without NONCE")?;
                let retry = match &self.step {
                    Step::Allocating(_) => allocate(new_transaction(), Some((&c, &self.creds))),
                    _ => channel_bind(self.peer, &c, &self.creds),
                };
                self.step = match std::mem::replace(&mut self.step, Step::Challenged) {
                    Step::Binding(_, relay) => Step::Binding(c, relay),
                    _ => Step::Allocating(c),
                };
                self.send(retry)
            }
            (_, class, error) => bail!("unexpected TURN answer: {class:?} error {error:?}"),
        }
    }
}

fn new_transaction() -> TransactionId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut id = [0u8; 12];
    id[..4].copy_from_slice(&std::process::id().to_be_bytes());
    id[4..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    TransactionId::new(id)
}

fn allocate(tid: TransactionId, auth: Option<(&Challenge, &Credentials)>) -> StunMessage {
    let mut msg = Message::new(MessageClass::Request, ALLOCATE, tid);
    msg.add_attribute(RequestedTransport::new(UDP));
    msg.add_attribute(Lifetime::from_u32(3600));
    match auth {
        Some((c, creds)) => sign(msg, c, creds),
        None => msg,
    }
}

fn channel_bind(peer: SocketAddr, c: &Challenge, creds: &Credentials) -> StunMessage {
    let mut msg = Message::new(MessageClass::Request, CHANNEL_BIND, new_transaction());
    msg.add_attribute(ChannelNumber::new(CHANNEL).expect("0x4000 is a valid channel"));
    msg.add_attribute(XorPeerAddress::new(peer));
    sign(msg, c, creds)
}

fn sign(mut msg: StunMessage, c: &Challenge, creds: &Credentials) -> StunMessage {
    let username = Username::new(creds.username.clone()).expect("short username");
    msg.add_attribute(username.clone());
    msg.add_attribute(c.realm.clone());
    msg.add_attribute(c.nonce.clone());
    let integrity =
        MessageIntegrity::new_long_term_credential(&msg, &username, &c.realm, &creds.password)
            .expect("a message we built encodes");
    msg.add_attribute(integrity);
    msg
}
