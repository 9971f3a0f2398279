//! Allocations live for the granted lifetime, are extended by Refresh and die at expiry.
mod common;

use common::*;
use huddle_turn::core::Output;
use stun_codec::rfc5766::attributes::{Lifetime, RequestedTransport};
use stun_codec::rfc5766::methods::{ALLOCATE, REFRESH};
use stun_codec::MessageClass;

fn lifetime_of(reply: &huddle_turn::core::stun::StunMessage) -> u64 {
    reply
        .get_attribute::<Lifetime>()
        .unwrap()
        .lifetime()
        .as_secs()
}

#[test]
fn allocation_expires_after_default_lifetime() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (relayed, id) = alice.allocate(&mut h, None);
    assert_eq!(relayed.ip().to_string(), SERVER_IP);
    assert!((50_000..=50_099).contains(&relayed.port()));
    assert_eq!(h.server.allocation_count(), 1);
    assert_eq!(h.metrics.allocations.get(), 1);
    assert_eq!(h.server.poll_timeout(), Some(h.start + secs(600)));

    h.at(secs(599));
    assert_eq!(h.server.allocation_count(), 1);
    h.at(secs(600));
    assert_eq!(h.server.allocation_count(), 0);
    assert_eq!(h.metrics.allocations.get(), 0);
    assert!(h.pending.contains(&Output::ReleaseRelay { allocation: id }));
}

#[test]
fn requested_lifetime_is_clamped_between_default_and_max() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let reply = alice.request(
        &mut h,
        ALLOCATE,
        vec![
            RequestedTransport::new(17).into(),
            Lifetime::from_u32(30).into(),
        ],
    );
    assert_eq!(lifetime_of(&reply), 600);
    let reply = alice.request(&mut h, REFRESH, vec![Lifetime::from_u32(100_000).into()]);
    assert_eq!(lifetime_of(&reply), 3600);
    let reply = alice.request(&mut h, REFRESH, vec![Lifetime::from_u32(1200).into()]);
    assert_eq!(lifetime_of(&reply), 1200);
}

#[test]
fn refresh_extends_the_allocation() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    h.at(secs(500));
    let reply = alice.request(&mut h, REFRESH, vec![]);
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
    assert_eq!(lifetime_of(&reply), 600);
    h.at(secs(1099));
    assert_eq!(h.server.allocation_count(), 1);
    h.at(secs(1100));
    assert_eq!(h.server.allocation_count(), 0);
}

#[test]
fn refresh_with_zero_lifetime_deletes() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, id) = alice.allocate(&mut h, None);
    let reply = alice.request(&mut h, REFRESH, vec![Lifetime::from_u32(0).into()]);
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
    assert_eq!(lifetime_of(&reply), 0);
    assert_eq!(h.server.allocation_count(), 0);
    assert!(h.pending.contains(&Output::ReleaseRelay { allocation: id }));
}

#[test]
fn refresh_after_expiry_is_an_allocation_mismatch() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    h.at(secs(700));
    let reply = alice.request(&mut h, REFRESH, vec![]);
    assert_eq!(error_code(&reply), Some(437));
}

#[test]
fn second_allocate_on_same_five_tuple_is_a_mismatch_but_retransmit_is_answered() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    // First round trip to learn the nonce, then a signed Allocate sent twice.
    let _ = alice.send_once(
        &mut h,
        alice.message(ALLOCATE, vec![RequestedTransport::new(17).into()]),
    );
    let msg = alice.message(ALLOCATE, vec![RequestedTransport::new(17).into()]);
    let first = alice.send_once(&mut h, msg.clone());
    let again = alice.send_once(&mut h, msg);
    assert_eq!(first.class(), MessageClass::SuccessResponse);
    assert_eq!(again.class(), MessageClass::SuccessResponse);
    let other = alice.request(&mut h, ALLOCATE, vec![RequestedTransport::new(17).into()]);
    assert_eq!(error_code(&other), Some(437));
    assert_eq!(h.server.allocation_count(), 1);
}

#[test]
fn allocate_without_udp_transport_is_refused() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let reply = alice.request(&mut h, ALLOCATE, vec![RequestedTransport::new(6).into()]);
    assert_eq!(error_code(&reply), Some(442));
    let reply = alice.request(&mut h, ALLOCATE, vec![]);
    assert_eq!(error_code(&reply), Some(400));
    assert_eq!(h.server.allocation_count(), 0);
}

#[test]
fn relay_port_taken_is_retried_then_508() {
    let mut h = Harness::new();
    h.failing_binds = 3;
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let (_, _) = alice.allocate(&mut h, None);
    let binds = h
        .pending
        .iter()
        .filter(|o| matches!(o, Output::BindRelay { .. }))
        .count();
    assert_eq!(binds, 4);

    h.failing_binds = 100;
    let mut bob = Client::new("203.0.113.11:5000", "bob");
    let reply = bob.request(&mut h, ALLOCATE, vec![RequestedTransport::new(17).into()]);
    assert_eq!(error_code(&reply), Some(508));
    assert_eq!(h.server.allocation_count(), 1);
}

#[test]
fn many_refreshes_keep_one_wake_up_per_allocation() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    for minute in 1..=100 {
        h.at(secs(minute * 60));
        alice.request(&mut h, REFRESH, vec![]);
        alice.request(
            &mut h,
            stun_codec::rfc5766::methods::CREATE_PERMISSION,
            vec![Client::peer_attr("203.0.113.77:9000")],
        );
    }
    assert_eq!(h.server.allocation_count(), 1);
    // Last refresh at 6000 s: alive until 6600 s, gone after.
    h.at(secs(6599));
    assert_eq!(h.server.allocation_count(), 1);
    h.at(secs(6600));
    assert_eq!(h.server.allocation_count(), 0);
    assert_eq!(h.server.pending_wake_ups(), 0);
}
