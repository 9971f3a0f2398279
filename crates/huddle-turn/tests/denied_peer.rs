//! Relaying to loopback, private, link-local, multicast or our own addresses is
//! refused with 403, unless the operator allow-lists the peer.
mod common;

use common::*;
use huddle_turn::DropReason;
use stun_codec::rfc5766::methods::{CHANNEL_BIND, CREATE_PERMISSION};
use stun_codec::MessageClass;

#[test]
fn special_peers_are_forbidden() {
    let mut h = Harness::with_config(|c| c.external_ips = vec!["192.0.2.99".parse().unwrap()]);
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    for peer in [
        "127.0.0.1:80",
        "10.0.0.1:80",
        "172.16.5.5:80",
        "192.168.1.1:80",
        "169.254.0.1:80",
        "224.0.0.251:5353",
        "0.0.0.0:80",
        "198.51.100.1:80", // the relay's own address
        "192.0.2.99:80",   // the external address
    ] {
        let reply = alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(peer)]);
        assert_eq!(error_code(&reply), Some(403), "{peer}");
    }
    let reply = alice.request(
        &mut h,
        CHANNEL_BIND,
        vec![channel_attr(0x4000), Client::peer_attr("10.1.1.1:80")],
    );
    assert_eq!(error_code(&reply), Some(403));
    // One bad peer refuses the whole request.
    let reply = alice.request(
        &mut h,
        CREATE_PERMISSION,
        vec![
            Client::peer_attr("203.0.113.5:80"),
            Client::peer_attr("10.0.0.1:80"),
        ],
    );
    assert_eq!(error_code(&reply), Some(403));

    h.input(alice.addr, &send_indication(addr("10.0.0.1:80"), b"x"));
    assert!(h.take_to_peer().is_empty());
    assert_eq!(h.metrics.dropped(DropReason::PeerDenied), 1);
}

#[test]
fn allow_list_opens_private_peers() {
    let mut h = Harness::with_config(|c| c.allow_peers = vec!["10.0.0.0/8".parse().unwrap()]);
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    alice.allocate(&mut h, None);
    let reply = alice.request(
        &mut h,
        CREATE_PERMISSION,
        vec![Client::peer_attr("10.2.3.4:80")],
    );
    assert_eq!(reply.class(), MessageClass::SuccessResponse);
    let reply = alice.request(
        &mut h,
        CREATE_PERMISSION,
        vec![Client::peer_attr("192.168.0.1:80")],
    );
    assert_eq!(error_code(&reply), Some(403));
}
