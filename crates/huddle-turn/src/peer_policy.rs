//! Which peers a client may relay to.
//!
//! A TURN server is an open proxy into whatever network it sits in; by default we
//! only relay to public unicast addresses that are not the server itself. Operators
//! who really want a relay into a private network list those CIDRs in `allow_peers`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// An IPv6 address that carries an IPv4 one reaches that IPv4 address (through a NAT64
/// gateway, a 6to4 or Teredo relay, or the host's own stack); judge it as that address, so
/// that `::ffff:127.0.0.1` or `64:ff9b::a00:1` cannot sneak past the IPv4 rules.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(v6);
    let low32 = Ipv4Addr::from(bits as u32);
    let [first, second, ..] = v6.segments();
    match first {
        // IPv4-mapped ::ffff:0:0/96 and IPv4-compatible ::/96.
        0 => v6.to_ipv4(),
        // NAT64: the well-known prefix 64:ff9b::/96 and the local-use 64:ff9b:1::/48.
        0x0064 if second == 0xff9b => Some(low32),
        // 6to4, 2002::/16: the IPv4 address follows the prefix.
        0x2002 => Some(Ipv4Addr::from((bits >> 80) as u32)),
        // Teredo, 2001::/32: the client's address, inverted, in the last 32 bits.
        0x2001 if second == 0 => Some(Ipv4Addr::from(!(bits as u32))),
        _ => None,
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
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::c0a8:101",
            "2002:a00:1::1",
            "2002:7f00:1::",
            "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        ] {
            assert!(!policy.permits(ip(denied)), "{denied} should be denied");
        }
        assert!(policy.permits(ip("8.8.8.8")));
        assert!(policy.permits(ip("2001:4860::8888")));
        // The same rules see through the IPv6 forms of a public IPv4 address.
        assert!(policy.permits(ip("64:ff9b::808:808")));
        assert!(policy.permits(ip("2002:808:808::1")));
    }

    #[test]
    fn allow_list_overrides() {
        let policy = PeerPolicy::new(vec!["127.0.0.1/32".parse().unwrap()], vec![ip("127.0.0.1")]);
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(!policy.permits(ip("127.0.0.2")));
    }
}
