//! Nonces go stale: a request with an old or forged nonce gets 438 and a new one.
mod common;

use common::*;
use stun_codec::rfc5389::attributes::{Nonce, Realm};
use stun_codec::rfc5766::attributes::RequestedTransport;
use stun_codec::rfc5766::methods::{ALLOCATE, REFRESH};
use stun_codec::MessageClass;

#[test]
fn old_nonce_gets_438_with_a_fresh_nonce() {
    let mut h = Harness::with_config(|c| c.nonce_lifetime = secs(60));
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    let first_nonce = alice.nonce.clone().unwrap();

    h.at(secs(59));
    let reply = alice.send_once(&mut h, alice.message(REFRESH, vec![]));
    assert_eq!(reply.class(), MessageClass::SuccessResponse);

    h.at(secs(61));
    let reply = alice.send_once(&mut h, alice.message(REFRESH, vec![]));
    assert_eq!(error_code(&reply), Some(438));
    assert_eq!(reply.get_attribute::<Realm>().unwrap().text(), REALM);
    let new_nonce = reply.get_attribute::<Nonce>().unwrap().value().to_owned();
    assert_ne!(new_nonce, first_nonce);
    // Not a credential problem, so not counted as one.
    assert_eq!(h.metrics.auth_failures.get(), 0);

    let reply = alice.send_once(&mut h, alice.message(REFRESH, vec![]));
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
}

#[test]
fn forged_nonce_gets_438() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.nonce = Some("00ffffff0123456789abcdef".to_owned());
    let reply = alice.send_once(
        &mut h,
        alice.message(ALLOCATE, vec![RequestedTransport::new(17).into()]),
    );
    assert_eq!(error_code(&reply), Some(438));
    assert_eq!(h.server.allocation_count(), 0);
}
