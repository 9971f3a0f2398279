//! An IPv6 relay: families are checked (440/443) and IPv6 peers relayed.
mod common;

use common::*;
use huddle_turn::core::stun;
use stun_codec::rfc5766::attributes::{Data, RequestedTransport, XorPeerAddress, XorRelayAddress};
use stun_codec::rfc5766::methods::{ALLOCATE, CREATE_PERMISSION};
use stun_codec::rfc8656::attributes::{AddressFamily, RequestedAddressFamily};
use stun_codec::MessageClass;

const PEER: &str = "[2001:db8:beef::7]:9000";

fn v6_harness() -> Harness {
    Harness::with_config(|c| {
        c.listen = addr("[2001:db8::1]:3478");
        c.relay_bind_ip = "2001:db8::1".parse().unwrap();
    })
}

#[test]
fn ipv6_allocation_relays_ipv6_peers() {
    let mut h = v6_harness();
    let mut alice = Client::new("[2001:db8:aaaa::10]:5000", "alice");
    let reply = alice.request(
        &mut h,
        ALLOCATE,
        vec![
            RequestedTransport::new(17).into(),
            RequestedAddressFamily::new(AddressFamily::V6).into(),
        ],
    );
    assert_eq!(reply.class(), MessageClass::SuccessResponse, "{reply:?}");
    let relayed = reply.get_attribute::<XorRelayAddress>().unwrap().address();
    assert_eq!(relayed.ip().to_string(), "2001:db8::1");
    let id = h.last_bound().unwrap();

    let reply = alice.request(
        &mut h,
        CREATE_PERMISSION,
        vec![Client::peer_attr("203.0.113.5:80")],
    );
    assert_eq!(error_code(&reply), Some(443));
    let reply = alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(PEER)]);
    assert_eq!(reply.class(), MessageClass::SuccessResponse);

    h.input(alice.addr, &send_indication(addr(PEER), b"v6 out"));
    assert_eq!(h.take_to_peer(), vec![(id, addr(PEER), b"v6 out".to_vec())]);
    let back = h.peer_sends(id, addr(PEER), b"v6 back");
    let data = stun::decode(&back[0].1).unwrap();
    assert_eq!(
        data.get_attribute::<XorPeerAddress>().unwrap().address(),
        addr(PEER)
    );
    assert_eq!(data.get_attribute::<Data>().unwrap().data(), b"v6 back");
}

#[test]
fn asking_for_the_other_family_is_440() {
    let mut h = Harness::new();
    let mut alice = Client::new("203.0.113.10:5000", "alice");
    let reply = alice.request(
        &mut h,
        ALLOCATE,
        vec![
            RequestedTransport::new(17).into(),
            RequestedAddressFamily::new(AddressFamily::V6).into(),
        ],
    );
    assert_eq!(error_code(&reply), Some(440));
}

#[test]
fn ipv6_special_peers_are_forbidden() {
    let mut h = v6_harness();
    let mut alice = Client::new("[2001:db8:aaaa::10]:5000", "alice");
    alice.allocate(&mut h, None);
    for peer in [
        "[::1]:80",
        "[fd00::1]:80",
        "[fe80::1]:80",
        "[ff02::1]:80",
        "[2001:db8::1]:80",
        "[::ffff:10.0.0.1]:80",
    ] {
        let reply = alice.request(&mut h, CREATE_PERMISSION, vec![Client::peer_attr(peer)]);
        assert_eq!(error_code(&reply), Some(403), "{peer}");
    }
}
