//! This host on the network: a leaf the TURN server, the SFU and the self-signed certificate ask.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The local address of the default route; connecting a UDP socket sends nothing.
pub fn outbound_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}
