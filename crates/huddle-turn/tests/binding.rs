//! A STUN Binding request is answered with the client's address, no credentials needed.
mod common;

use common::*;
use huddle_turn::core::stun;
use stun_codec::rfc5389::attributes::XorMappedAddress;
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::{Message, MessageClass};

#[test]
fn binding_request_answered_with_xor_mapped_address() {
    let mut h = Harness::new();
    let client = udp_client("203.0.113.50:40000");
    let txid = h.txid();
    let request = Message::<stun::Attribute>::new(MessageClass::Request, BINDING, txid);
    let replies = h.input(client, &encode(request));
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].0, client);
    let reply = stun::decode(&replies[0].1).expect("valid reply with valid fingerprint");
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
    assert_eq!(reply.transaction_id(), txid);
    let mapped = reply.get_attribute::<XorMappedAddress>().unwrap().address();
    assert_eq!(mapped, addr("203.0.113.50:40000"));
    assert_eq!(h.metrics.binding_requests.get(), 1);
}

#[test]
fn binding_indication_is_not_answered() {
    let mut h = Harness::new();
    let txid = h.txid();
    let indication = Message::<stun::Attribute>::new(MessageClass::Indication, BINDING, txid);
    assert!(h
        .input(udp_client("203.0.113.50:40000"), &encode(indication))
        .is_empty());
}
