//! What the operator configures.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

pub use ipnet::IpNet;

/// Configuration of one TURN server (one UDP+TCP port).
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// UDP and TCP are both served on this address (e.g. `0.0.0.0:3478`).
    pub listen: SocketAddr,
    /// Ports relay sockets are bound to.
    pub relay_ports: RangeInclusive<u16>,
    /// Local address relay sockets are bound to.
    pub relay_bind_ip: IpAddr,
    /// Public addresses of this host when behind a 1:1 NAT: advertised in
    /// XOR-RELAYED-ADDRESS instead of `relay_bind_ip`, and never relayed to.
    pub external_ips: Vec<IpAddr>,
    pub realm: String,
    /// Shared secret of the REST-API credentials (coturn's `static-auth-secret`).
    pub secret: Vec<u8>,
    /// Peers allowed even though they are private, loopback or this server.
    pub allow_peers: Vec<IpNet>,
    /// Allocations one user id may hold at once.
    pub user_quota: usize,
    /// Allocations one client address (IPv6: its /64) may hold at once, whatever its credentials.
    pub client_quota: usize,
    /// Lifetime granted when a client asks for none or less (RFC 8656 default: 600 s).
    pub default_lifetime: Duration,
    /// Longest lifetime granted to an allocation.
    pub max_lifetime: Duration,
    /// How long a nonce stays fresh before a request gets 438 Stale Nonce.
    pub nonce_lifetime: Duration,
    /// Relayed payload per allocation and second, both directions together; 0 = unlimited.
    pub bandwidth_bytes_per_sec: u64,
}

impl TurnConfig {
    /// Safe defaults: port 3478 on all IPv4 addresses, relay ports 49152-65535,
    /// 10 allocations per user and 100 per client address, 600 s default / 3600 s maximum lifetime,
    /// 2 MB/s per allocation, no private peers.
    pub fn new(realm: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        TurnConfig {
            listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 3478)),
            relay_ports: 49152..=65535,
            relay_bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            external_ips: Vec::new(),
            realm: realm.into(),
            secret: secret.into(),
            allow_peers: Vec::new(),
            user_quota: 10,
            client_quota: 100,
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            nonce_lifetime: Duration::from_secs(600),
            bandwidth_bytes_per_sec: 2_000_000,
        }
    }

    /// Addresses that belong to this server and so are never valid peers.
    pub(crate) fn own_addresses(&self) -> Vec<IpAddr> {
        let mut own = self.external_ips.clone();
        own.push(self.relay_bind_ip);
        own.push(self.listen.ip());
        own.retain(|ip| !ip.is_unspecified());
        own
    }

    /// The IP put in XOR-RELAYED-ADDRESS: an external IP of the relay's family
    /// if any, else the bind IP, else the listen IP. Configure one of them when
    /// both bind addresses are unspecified, or clients get `0.0.0.0`.
    pub(crate) fn advertised_relay_ip(&self) -> IpAddr {
        self.external_ips
            .iter()
            .copied()
            .find(|ip| ip.is_ipv4() == self.relay_bind_ip.is_ipv4())
            .or(Some(self.relay_bind_ip).filter(|ip| !ip.is_unspecified()))
            .unwrap_or(self.listen.ip())
    }
}
