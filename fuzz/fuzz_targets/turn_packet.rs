//! Raw bytes into the TURN core, the ways a network can deliver them: as one
//! UDP datagram, as a TCP byte stream cut the way the stream driver cuts it
//! (`huddle_turn::framing`), and each
//! frame of that stream again as a datagram from a second client. Then as a
//! datagram from a peer to every allocation that came out of it, and finally
//! time runs out for everything. Nothing may panic, and every output must be
//! something a client or peer can receive (see `Turn::drain`).
#![no_main]

use huddle_fuzz::turn::{addr, stream, udp, Turn, PAST_EVERYTHING};
use huddle_turn::framing::{self, Frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut turn = Turn::new();
    turn.client(udp("203.0.113.10:5000"), data);

    let mut buffer = Vec::new();
    turn.stream_bytes(stream("203.0.113.10:5001"), &mut buffer, data);

    let second = udp("203.0.113.11:6000");
    let mut rest = data;
    while let Frame::Complete(n) = framing::frame(rest) {
        turn.client(second, &rest[..n]);
        rest = &rest[n..];
    }

    let peer = addr("203.0.113.50:4000");
    for allocation in turn.bound.clone() {
        turn.peer(allocation, peer, data);
    }
    turn.advance(PAST_EVERYTHING);
    assert_eq!(turn.server.allocation_count(), 0, "an allocation outlived every lifetime");
});
