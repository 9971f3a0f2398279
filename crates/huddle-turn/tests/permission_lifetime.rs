//! Permissions let a peer's packets through for 300 s, then they are dropped.
mod common;

use common::*;
use huddle_turn::core::stun;
use huddle_turn::DropReason;
use stun_codec::rfc5766::attributes::{Data, XorPeerAddress};
use stun_codec::rfc5766::methods::CREATE_PERMISSION;
use stun_codec::MessageClass;

const PEER: &str = "203.0.113.77:9000";

#[test]
fn peer_data_passes_for_300_seconds_then_drops() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, id) = alice.allocate(&mut h, Some(3600));
    assert!(h.peer_sends(id, addr(PEER), b"too early").is_empty());
    assert_eq!(h.metrics.dropped(DropReason::NoPermission), 1);

    let reply = alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
    // Any port of the permitted IP may send.
    let delivered = h.peer_sends(id, addr("203.0.113.77:1234"), b"hi");
    assert_eq!(delivered.len(), 1);
    let data = stun::decode(&delivered[0].1).expect("a Data indication");
    assert_eq!(
        data.get_attribute::<XorPeerAddress>().unwrap().address(),
        addr("203.0.113.77:1234")
    );
    assert_eq!(data.get_attribute::<Data>().unwrap().data(), b"hi");

    h.at(secs(299));
    assert_eq!(h.peer_sends(id, addr(PEER), b"still").len(), 1);
    h.at(secs(300));
    assert!(h.peer_sends(id, addr(PEER), b"too late").is_empty());
    assert_eq!(h.metrics.dropped(DropReason::NoPermission), 2);
}

#[test]
fn create_permission_again_refreshes() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, id) = alice.allocate(&mut h, Some(3600));
    alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    h.at(secs(200));
    alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    h.at(secs(450));
    assert_eq!(h.peer_sends(id, addr(PEER), b"x").len(), 1);
    h.at(secs(500));
    assert!(h.peer_sends(id, addr(PEER), b"x").is_empty());
}

#[test]
fn permission_needed_to_send_too() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, Some(3600));
    let send = send_indication(addr(PEER), b"payload");
    assert!(h.input(alice.addr, &send).is_empty());
    assert!(h.take_to_peer().is_empty());
    assert_eq!(h.metrics.dropped(DropReason::NoPermission), 1);

    alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    h.input(alice.addr, &send);
    let sent = h.take_to_peer();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, addr(PEER));
    assert_eq!(sent[0].2, b"payload");
}

#[test]
fn create_permission_without_allocation_is_437() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let reply = alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    assert_eq!(error_code(&reply), Some(437));
    let mut bob = Client::new("203.0.113.11:5000", "bob");
    bob.allocate(&mut h, None);
    let reply = bob.request(&mut h, CREATE_PERMISSION, vec![]);
    assert_eq!(error_code(&reply), Some(400));
    let reply = bob.request(
        &mut h,
        CREATE_PERMISSION,
        vec![Client::peer_attr("[2001:db8::1]:80")],
    );
    assert_eq!(error_code(&reply), Some(443));
}
