//! Which peers a client may relay to.
//!
//! A TURN server is an open proxy into whatever network it sits in; by default we
//! only relay to public unicast addresses that are not the server itself. Operators
//! who really want a relay into a private network list those CIDRs in `allow_peers`.

use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    allow: Vec<IpNet>,
    own_addresses: Vec<IpAddr>,
}

impl PeerPolicy {
    pub fn new(allow: Vec<IpNet>, own_addresses: Vec<IpAddr>) -> Self {
        PeerPolicy {
            allow,
            own_addresses,
        }
    }

    /// Whether relaying to `peer` is allowed. The allow-list wins over every denial.
    pub fn permits(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        if self.allow.iter().any(|net| net.contains(&peer)) {
            return true;
        }
        !is_special(peer) && !self.own_addresses.iter().any(|own| canonical(*own) == peer)
    }
}

/// An IPv4-mapped IPv6 address is the IPv4 address in disguise; judge it as such
/// so `::ffff:127.0.0.1` cannot sneak past the loopback rule.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Loopback, private (RFC 1918 / ULA), link-local, multicast, unspecified and a
/// few other ranges that never belong to a peer on the internet.
fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0 // "this network"
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, RFC 6598
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn denies_special_ranges_by_default() {
        let policy = PeerPolicy::new(vec![], vec![ip("203.0.113.7")]);
        for denied in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "224.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "203.0.113.7",
            "::1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::",
            "::ffff:127.0.0.1",
        ] {
            assert!(!policy.permits(ip(denied)), "{denied} should be denied");
        }
        assert!(policy.permits(ip("8.8.8.8")));
        assert!(policy.permits(ip("2001:4860::8888")));
    }

    #[test]
    fn allow_list_overrides() {
        let policy = PeerPolicy::new(vec!["127.0.0.1/32".parse().unwrap()], vec![ip("127.0.0.1")]);
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(!policy.permits(ip("127.0.0.2")));
    }
}
