//! Channel bindings carry ChannelData both ways for 600 s, and keep their
//! number/peer pair reserved for 5 minutes after.
mod common;

use common::*;
use huddle_turn::DropReason;
use stun_codec::rfc5766::methods::{CHANNEL_BIND, CREATE_PERMISSION};
use stun_codec::MessageClass;

const PEER: &str = "203.0.113.77:9000";
const OTHER_PEER: &str = "203.0.113.78:9000";

fn bound_alice(h: &mut Harness) -> (Client, huddle_turn::core::AllocationId) {
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, id) = alice.allocate(h, Some(3600));
    let reply = alice.request(
        h,
        CHANNEL_BIND,
        vec![channel_attr(0x4001), Client::peer_attr(PEER)],
    );
    assert_eq!(reply.class(), MessageClass::SuccessResponse, "{reply:?}");
    (alice, id)
}

#[test]
fn channel_data_flows_both_ways() {
    let mut h = Harness::new();
    let (alice, id) = bound_alice(&mut h);
    h.input(alice.addr, &channel_data(0x4001, b"to peer"));
    let sent = h.take_to_peer();
    assert_eq!(sent, vec![(id, addr(PEER), b"to peer".to_vec())]);
    let back = h.peer_sends(id, addr(PEER), b"to client");
    assert_eq!(back, vec![(alice.addr, channel_data(0x4001, b"to client"))]);
    assert_eq!(h.metrics.relayed_packets.get(), 2);
    assert_eq!(h.metrics.relayed_bytes.get(), 16);
}

#[test]
fn channel_expires_after_600_seconds() {
    let mut h = Harness::new();
    let (mut alice, id) = bound_alice(&mut h);
    // Permissions last 300 s, so a client keeping a channel refreshes those too.
    h.at(secs(400));
    alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    h.at(secs(599));
    h.input(alice.addr, &channel_data(0x4001, b"x"));
    assert_eq!(h.take_to_peer().len(), 1);
    h.at(secs(600));
    h.input(alice.addr, &channel_data(0x4001, b"x"));
    assert!(h.take_to_peer().is_empty());
    assert_eq!(h.metrics.dropped(DropReason::UnknownChannel), 1);
    // The peer's packets now come as Data indications, not ChannelData.
    let back = h.peer_sends(id, addr(PEER), b"y");
    assert_eq!(back.len(), 1);
    assert_ne!(back[0].1, channel_data(0x4001, b"y"));
}

#[test]
fn channel_bind_again_refreshes() {
    let mut h = Harness::new();
    let (mut alice, _) = bound_alice(&mut h);
    h.at(secs(500));
    let reply = alice.request(
        &mut h,
        CHANNEL_BIND,
        vec![channel_attr(0x4001), Client::peer_attr(PEER)],
    );
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
    h.at(secs(1000));
    alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    h.input(alice.addr, &channel_data(0x4001, b"x"));
    assert_eq!(h.take_to_peer().len(), 1);
}

#[test]
fn number_and_peer_stay_paired_until_guard_ends() {
    let mut h = Harness::new();
    let (mut alice, _) = bound_alice(&mut h);
    let reply = alice.request(
        &mut h,
        CHANNEL_BIND,
        vec![channel_attr(0x4001), Client::peer_attr(OTHER_PEER)],
    );
    assert_eq!(error_code(&reply), Some(400));
    let reply = alice.request(
        &mut h,
        CHANNEL_BIND,
        vec![channel_attr(0x4002), Client::peer_attr(PEER)],
    );
    assert_eq!(error_code(&reply), Some(400));
    h.at(secs(700));
    let reply = alice.request(
        &mut h,
        CHANNEL_BIND,
        vec![channel_attr(0x4001), Client::peer_attr(OTHER_PEER)],
    );
    assert_eq!(
        error_code(&reply),
        Some(400),
        "still inside the 5 minute guard"
    );
    h.at(secs(900));
    let reply = alice.request(
        &mut h,
        CHANNEL_BIND,
        vec![channel_attr(0x4001), Client::peer_attr(OTHER_PEER)],
    );
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
}

#[test]
fn bad_channel_numbers_are_refused() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    for number in [0x0001, 0x3FFF, 0x8000] {
        let reply = alice.request(
            &mut h,
            CHANNEL_BIND,
            vec![channel_attr(number), Client::peer_attr(PEER)],
        );
        assert_eq!(error_code(&reply), Some(400), "{number:#x}");
    }
    let reply = alice.request(&mut h, CHANNEL_BIND, vec![channel_attr(0x4001)]);
    assert_eq!(error_code(&reply), Some(400));
}
