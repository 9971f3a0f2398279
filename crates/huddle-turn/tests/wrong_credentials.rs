//! Bad, expired or missing credentials get 401 (with realm and nonce to retry).
mod common;

use common::*;
use huddle_turn::rest_credentials;
use stun_codec::rfc5389::attributes::{Nonce, Realm};
use stun_codec::rfc5766::attributes::RequestedTransport;
use stun_codec::rfc5766::methods::{ALLOCATE, REFRESH};

fn allocate_attrs() -> Vec<huddle_turn::core::stun::Attribute> {
    vec![RequestedTransport::new(17).into()]
}

#[test]
fn first_unsigned_request_is_challenged_not_counted() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let reply = alice.send_once(&mut h, alice.message(ALLOCATE, allocate_attrs()));
    assert_eq!(error_code(&reply), Some(401));
    assert_eq!(reply.get_attribute::<Realm>().unwrap().text(), REALM);
    assert!(reply.get_attribute::<Nonce>().is_some());
    assert_eq!(h.metrics.auth_failures.get(), 0);
}

#[test]
fn wrong_password_is_401() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.creds.password = "not-the-password".into();
    let reply = alice.request(&mut h, ALLOCATE, allocate_attrs());
    assert_eq!(error_code(&reply), Some(401));
    assert_eq!(h.metrics.auth_failures.get(), 1);
    assert_eq!(h.server.allocation_count(), 0);
}

#[test]
fn password_from_another_secret_is_401() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.creds = rest_credentials(b"other-secret", "alice", secs(3600), START_UNIX);
    let reply = alice.request(&mut h, ALLOCATE, allocate_attrs());
    assert_eq!(error_code(&reply), Some(401));
}

#[test]
fn expired_username_is_401() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.creds = rest_credentials(SECRET, "alice", secs(60), START_UNIX);
    let reply = alice.request(&mut h, ALLOCATE, allocate_attrs());
    assert_eq!(reply.class(), stun_codec::MessageClass::SuccessResponse);
    // The credential expires while the allocation lives: refreshes are refused.
    h.at(secs(61));
    let reply = alice.request(&mut h, REFRESH, vec![]);
    assert_eq!(error_code(&reply), Some(401));
    assert_eq!(h.metrics.auth_failures.get(), 1);
}

#[test]
fn username_not_in_rest_form_is_401() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.creds.username = "alice".into();
    let reply = alice.request(&mut h, ALLOCATE, allocate_attrs());
    assert_eq!(error_code(&reply), Some(401));
}

#[test]
fn another_user_on_the_same_five_tuple_is_441() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    let mut mallory = Client::new("203.0.113.10:5000", "mallory");
    let reply = mallory.request(&mut h, REFRESH, vec![]);
    assert_eq!(error_code(&reply), Some(441));
}
