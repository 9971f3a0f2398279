//! Whatever arrives from the network, the core never panics: random bytes and
//! mutated valid messages (a poor man's fuzzer, deterministic and quick).
mod common;

use common::*;
use huddle_turn::core::{ClientAddr, Transport};
use stun_codec::rfc5766::attributes::{Lifetime, RequestedTransport};
use stun_codec::rfc5766::methods::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};

/// xorshift64*: enough randomness for mutations, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Valid packets a real client would send, to mutate.
fn seeds(h: &mut Harness, alice: &mut Client) -> Vec<Vec<u8>> {
    alice.allocate(h, None);
    let peer = Client::peer_attr("203.0.113.77:9000");
    let mut signed = Vec::new();
    for (method, attrs) in [
        (ALLOCATE, vec![RequestedTransport::new(17).into()]),
        (REFRESH, vec![Lifetime::from_u32(600).into()]),
        (CREATE_PERMISSION, vec![peer.clone()]),
        (CHANNEL_BIND, vec![channel_attr(0x4000), peer]),
    ] {
        let msg = alice.message(method, attrs);
        // Capture the signed bytes by sending once through the harness.
        let nonce = alice.nonce.clone();
        alice.send_once(h, msg.clone());
        alice.nonce = nonce;
        signed.push(encode_signed(alice, msg));
    }
    signed.push(send_indication(addr("203.0.113.77:9000"), b"hello"));
    signed.push(channel_data(0x4000, b"hello"));
    signed
}

fn encode_signed(alice: &Client, mut msg: huddle_turn::core::stun::StunMessage) -> Vec<u8> {
    use stun_codec::rfc5389::attributes::{MessageIntegrity, Nonce, Realm, Username};
    let username = Username::new(alice.creds.username.clone()).unwrap();
    let realm = Realm::new(REALM.to_owned()).unwrap();
    msg.add_attribute(username.clone());
    msg.add_attribute(realm.clone());
    msg.add_attribute(Nonce::new(alice.nonce.clone().unwrap()).unwrap());
    let mi =
        MessageIntegrity::new_long_term_credential(&msg, &username, &realm, &alice.creds.password)
            .unwrap();
    msg.add_attribute(mi);
    encode(msg)
}

#[test]
fn random_and_mutated_packets_never_panic() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let seeds = seeds(&mut h, &mut alice);
    let id = h.last_bound().unwrap();
    let stream = ClientAddr {
        transport: Transport::Stream,
        addr: alice.addr.addr,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..100_000 {
        let mut packet = if round % 4 == 0 {
            (0..rng.below(120)).map(|_| rng.next() as u8).collect()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 if !packet.is_empty() => {
                    let i = rng.below(packet.len());
                    packet[i] = rng.next() as u8;
                }
                1 => packet.truncate(rng.below(packet.len() + 1)),
                2 => packet.push(rng.next() as u8),
                _ if packet.len() > 4 => {
                    // Lie about lengths, where parsers are most often wrong.
                    let i = 2 + rng.below(2);
                    packet[i] = rng.next() as u8;
                }
                _ => {}
            }
        }
        let from = if round % 2 == 0 { alice.addr } else { stream };
        h.input(from, &packet);
        h.peer_sends(id, addr("203.0.113.77:9000"), &packet);
        if round % 1000 == 0 {
            h.advance(secs(1));
        }
        h.take_to_peer();
        h.pending.clear();
    }
}
