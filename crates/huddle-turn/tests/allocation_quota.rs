//! One user id may hold only `user_quota` allocations at once, one client address only
//! `client_quota` (486 beyond).
mod common;

use common::*;
use stun_codec::rfc5766::attributes::{Lifetime, RequestedTransport};
use stun_codec::rfc5766::methods::{ALLOCATE, REFRESH};

#[test]
fn quota_exceeded_is_486_until_an_allocation_goes() {
    let mut h = Harness::with_config(|c| c.user_quota = 2);
    let mut first = Client::new("203.0.113.10:5000", "alice");
    let mut second = Client::new("203.0.113.10:5001", "alice");
    let mut third = Client::new("203.0.113.10:5002", "alice");
    first.allocate(&mut h, None);
    second.allocate(&mut h, None);
    let reply = third.request(&mut h, ALLOCATE, vec![RequestedTransport::new(17).into()]);
    assert_eq!(error_code(&reply), Some(486));

    // Another user is not affected.
    Client::new("203.0.113.20:5000", "bob").allocate(&mut h, None);

    first.request(&mut h, REFRESH, vec![Lifetime::from_u32(0).into()]);
    third.allocate(&mut h, None);
    assert_eq!(h.server.allocation_count(), 3);
}

#[test]
fn quota_counts_user_id_across_fresh_credentials() {
    let mut h = Harness::with_config(|c| c.user_quota = 1);
    let mut first = Client::new("203.0.113.10:5000", "alice");
    first.allocate(&mut h, None);
    let mut again = Client::new("203.0.113.10:5001", "alice");
    again.creds = huddle_turn::rest_credentials(SECRET, "alice", secs(7200), START_UNIX);
    let reply = again.request(&mut h, ALLOCATE, vec![RequestedTransport::new(17).into()]);
    assert_eq!(error_code(&reply), Some(486));
}

#[test]
fn one_client_address_is_bounded_whatever_credentials_it_brings() {
    let mut h = Harness::with_config(|c| c.client_quota = 2);
    Client::new("203.0.113.10:5000", "mallory-1").allocate(&mut h, None);
    Client::new("203.0.113.10:5001", "mallory-2").allocate(&mut h, None);
    let mut third = Client::new("203.0.113.10:5002", "mallory-3");
    let reply = third.request(&mut h, ALLOCATE, vec![RequestedTransport::new(17).into()]);
    assert_eq!(error_code(&reply), Some(486));

    // An honest participant elsewhere still gets a relay.
    Client::new("198.51.100.7:6000", "ada").allocate(&mut h, None);
    assert_eq!(h.server.allocation_count(), 3);
}
