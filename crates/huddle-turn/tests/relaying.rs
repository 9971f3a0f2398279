//! Relaying details: Data indications, stream padding, bandwidth cap, disconnects.
mod common;

use common::*;
use huddle_turn::core::{ClientAddr, Input, Output, Transport};
use huddle_turn::DropReason;
use stun_codec::rfc5766::methods::{CHANNEL_BIND, CREATE_PERMISSION};

const PEER: &str = "203.0.113.77:9000";

#[test]
fn stream_clients_get_padded_channel_data() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.addr = ClientAddr {
        transport: Transport::Stream,
        addr: addr("203.0.113.10:5000"),
    };
    let (_, id) = alice.allocate(&mut h, None);
    alice.request(
        &mut h,
        CHANNEL_BIND,
        vec![channel_attr(0x4000), Client::peer_attr(PEER)],
    );
    let back = h.peer_sends(id, addr(PEER), b"abcde");
    let mut expected = channel_data(0x4000, b"abcde");
    expected.resize(12, 0);
    assert_eq!(back, vec![(alice.addr, expected)]);
}

#[test]
fn stream_close_deletes_the_allocation() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.addr = ClientAddr {
        transport: Transport::Stream,
        addr: addr("203.0.113.10:5000"),
    };
    let (_, id) = alice.allocate(&mut h, None);
    h.server
        .handle_input(Input::ClientClosed(alice.addr), h.now);
    h.drain();
    assert_eq!(h.server.allocation_count(), 0);
    assert!(h.pending.contains(&Output::ReleaseRelay { allocation: id }));
}

#[test]
fn bandwidth_beyond_the_cap_is_dropped() {
    let mut h = Harness::with_config(|c| c.bandwidth_bytes_per_sec = 1000);
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, id) = alice.allocate(&mut h, None);
    alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    let payload = [7u8; 400];
    for _ in 0..3 {
        h.input(alice.addr, &send_indication(addr(PEER), &payload));
    }
    assert_eq!(h.take_to_peer().len(), 2);
    assert_eq!(h.metrics.dropped(DropReason::BandwidthExceeded), 1);
    // The cap counts both directions.
    assert!(h.peer_sends(id, addr(PEER), &payload).is_empty());
    h.advance(secs(1));
    assert_eq!(h.peer_sends(id, addr(PEER), &payload).len(), 1);
}

#[test]
fn packets_for_a_gone_allocation_are_dropped() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, id) = alice.allocate(&mut h, None);
    h.at(secs(600));
    assert!(h.peer_sends(id, addr(PEER), b"late").is_empty());
    assert_eq!(h.metrics.dropped(DropReason::NoAllocation), 1);
}

#[test]
fn buffers_are_recycled() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, id) = alice.allocate(&mut h, None);
    alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    let first = h.peer_sends(id, addr(PEER), b"one").remove(0).1;
    let pointer = first.as_ptr();
    h.server.recycle(first);
    let second = h.peer_sends(id, addr(PEER), b"two").remove(0).1;
    assert_eq!(second.as_ptr(), pointer, "the recycled buffer is reused");
}
