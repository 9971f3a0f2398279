//! Malformed or unexpected packets are dropped without an answer and counted by reason.
mod common;

use common::*;
use huddle_turn::core::stun;
use huddle_turn::DropReason;
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::{Message, MessageClass};

fn binding_request() -> Vec<u8> {
    encode(Message::<stun::Attribute>::new(
        MessageClass::Request,
        BINDING,
        fresh_txid(),
    ))
}

#[test]
fn garbage_is_dropped_and_counted() {
    let mut h = Harness::new();
    let client = udp_client("203.0.113.10:5000");
    for packet in [
        &[][..],
        &[0xff; 40][..],
        &[0x80, 0x01, 0x00, 0x00][..],
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        assert!(h.input(client, packet).is_empty());
    }
    assert_eq!(h.metrics.dropped(DropReason::Malformed), 4);
}

#[test]
fn broken_stun_is_dropped() {
    let mut h = Harness::new();
    let client = udp_client("203.0.113.10:5000");
    let good = binding_request();
    // Truncated.
    assert!(h.input(client, &good[..good.len() - 2]).is_empty());
    // Length field larger than the datagram.
    let mut long = good.clone();
    long[3] = 0x40;
    assert!(h.input(client, &long).is_empty());
    // Attribute running past the end of the message.
    let mut bad_attr = good.clone();
    bad_attr.extend_from_slice(&[0x80, 0x22, 0x00, 0x40, 1, 2, 3, 4]);
    bad_attr[3] = 8;
    assert!(h.input(client, &bad_attr).is_empty());
    assert_eq!(h.metrics.dropped(DropReason::Malformed), 3);
    // The intact request is still answered.
    assert_eq!(h.input(client, &good).len(), 1);
}

#[test]
fn bad_fingerprint_is_dropped() {
    let mut h = Harness::new();
    let client = udp_client("203.0.113.10:5000");
    let replies = h.input(client, &binding_request());
    // Our own reply carries a FINGERPRINT; corrupt its CRC and feed it back as a request.
    let mut packet = replies[0].1.clone();
    packet[0] = 0x00; // success response (0x0101) -> request (0x0001)
    let last = packet.len() - 1;
    packet[last] ^= 0xff;
    assert!(h.input(client, &packet).is_empty());
    assert_eq!(h.metrics.dropped(DropReason::Malformed), 1);
}

#[test]
fn responses_and_unknown_methods_are_unexpected() {
    let mut h = Harness::new();
    let client = udp_client("203.0.113.10:5000");
    let response = encode(Message::<stun::Attribute>::new(
        MessageClass::SuccessResponse,
        BINDING,
        fresh_txid(),
    ));
    assert!(h.input(client, &response).is_empty());
    let unknown = stun_codec::Method::new(0x0123).unwrap();
    let request = encode(Message::<stun::Attribute>::new(
        MessageClass::Request,
        unknown,
        fresh_txid(),
    ));
    assert!(h.input(client, &request).is_empty());
    assert_eq!(h.metrics.dropped(DropReason::Unexpected), 2);
}

#[test]
fn channel_data_problems_are_counted_apart() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    // No allocation yet.
    assert!(h.input(alice.addr, &channel_data(0x4000, b"x")).is_empty());
    assert_eq!(h.metrics.dropped(DropReason::NoAllocation), 1);
    alice.allocate(&mut h, None);
    // Shorter than its header says.
    let mut short = channel_data(0x4000, b"abcd");
    short.truncate(6);
    assert!(h.input(alice.addr, &short).is_empty());
    assert_eq!(h.metrics.dropped(DropReason::Malformed), 1);
    // Not bound.
    assert!(h.input(alice.addr, &channel_data(0x4000, b"x")).is_empty());
    assert_eq!(h.metrics.dropped(DropReason::UnknownChannel), 1);
    // A Send indication without DATA.
    let mut send = send_indication(addr("203.0.113.5:80"), b"");
    send.truncate(send.len() - 4);
    send[3] -= 4;
    assert!(h.input(alice.addr, &send).is_empty());
    assert_eq!(h.metrics.dropped(DropReason::Malformed), 2);
    assert!(h.take_to_peer().is_empty());
}

#[test]
fn unknown_comprehension_required_attribute_gets_420() {
    let mut h = Harness::new();
    let client = udp_client("203.0.113.10:5000");
    let mut packet = encode(Message::<stun::Attribute>::new(
        MessageClass::Request,
        stun_codec::rfc5766::methods::ALLOCATE,
        fresh_txid(),
    ));
    packet.extend_from_slice(&[0x00, 0x7f, 0x00, 0x04, 0, 0, 0, 0]);
    packet[3] = 8;
    let replies = h.input(client, &packet);
    assert_eq!(replies.len(), 1);
    let reply = stun::decode(&replies[0].1).unwrap();
    assert_eq!(error_code(&reply), Some(420));
}
