//! The relaying hot path in STUN clothing: Send indications in, Data indications
//! out. Parsed and written by hand into reusable buffers because these carry
//! every relayed packet of clients that do not use channels, and building a
//! `stun_codec::Message` would copy and allocate several times per packet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;

use crate::framing::STUN_HEADER_LEN;

pub const SEND_INDICATION: u16 = 0x0016;
const DATA_INDICATION: u16 = 0x0017;
const XOR_PEER_ADDRESS: u16 = 0x0012;
const DATA: u16 = 0x0013;
const DONT_FRAGMENT: u16 = 0x001A;
const COOKIE: u32 = 0x2112_A442;

/// A parsed Send indication: the peer and where its payload sits in the packet.
#[derive(Debug, PartialEq, Eq)]
pub struct SendIndication {
    pub peer: SocketAddr,
    pub data: Range<usize>,
}

pub fn message_type(packet: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*packet.first()?, *packet.get(1)?]))
}

/// Parses a Send indication; `None` if anything is off (the caller drops it).
pub fn parse_send(packet: &[u8]) -> Option<SendIndication> {
    if packet.len() < STUN_HEADER_LEN || message_type(packet)? != SEND_INDICATION {
        return None;
    }
    let body_len = u16::from_be_bytes([packet[2], packet[3]]) as usize;
    if STUN_HEADER_LEN + body_len != packet.len() {
        return None;
    }
    let txid = &packet[8..20];
    let (mut peer, mut data) = (None, None);
    let mut at = STUN_HEADER_LEN;
    while at + 4 <= packet.len() {
        let kind = u16::from_be_bytes([packet[at], packet[at + 1]]);
        let len = u16::from_be_bytes([packet[at + 2], packet[at + 3]]) as usize;
        let value = at + 4..at + 4 + len;
        let value_bytes = packet.get(value.clone())?;
        match kind {
            XOR_PEER_ADDRESS if peer.is_none() => {
                peer = Some(decode_xor_address(value_bytes, txid)?)
            }
            DATA if data.is_none() => data = Some(value),
            DONT_FRAGMENT => {}
            // Unknown comprehension-required attribute: RFC 8489 says discard.
            k if k < 0x8000 => return None,
            _ => {}
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    Some(SendIndication {
        peer: peer?,
        data: data?,
    })
}

/// Writes a Data indication carrying `payload` from `peer` into `out` (cleared first).
pub fn write_data(out: &mut Vec<u8>, txid: [u8; 12], peer: SocketAddr, payload: &[u8]) {
    out.clear();
    let addr_len = if peer.is_ipv4() { 8 } else { 20 };
    let padded = payload.len().div_ceil(4) * 4;
    let body_len = 4 + addr_len + 4 + padded;
    out.extend_from_slice(&DATA_INDICATION.to_be_bytes());
    out.extend_from_slice(&(body_len as u16).to_be_bytes());
    out.extend_from_slice(&COOKIE.to_be_bytes());
    out.extend_from_slice(&txid);
    out.extend_from_slice(&XOR_PEER_ADDRESS.to_be_bytes());
    out.extend_from_slice(&(addr_len as u16).to_be_bytes());
    encode_xor_address(out, peer, txid);
    out.extend_from_slice(&DATA.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.resize(STUN_HEADER_LEN + body_len, 0);
}

fn decode_xor_address(value: &[u8], txid: &[u8]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]) ^ (COOKIE >> 16) as u16;
    let mask = xor_mask(txid);
    let ip = match (value.get(1)?, value.len()) {
        (1, 8) => {
            let mut o = [0u8; 4];
            for (i, b) in o.iter_mut().enumerate() {
                *b = value[4 + i] ^ mask[i];
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
        (2, 20) => {
            let mut o = [0u8; 16];
            for (i, b) in o.iter_mut().enumerate() {
                *b = value[4 + i] ^ mask[i];
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn encode_xor_address(out: &mut Vec<u8>, addr: SocketAddr, txid: [u8; 12]) {
    let mask = xor_mask(&txid);
    let family = if addr.is_ipv4() { 1 } else { 2 };
    out.extend_from_slice(&[0, family]);
    out.extend_from_slice(&(addr.port() ^ (COOKIE >> 16) as u16).to_be_bytes());
    match addr.ip() {
        IpAddr::V4(v4) => out.extend(v4.octets().iter().zip(mask).map(|(b, m)| b ^ m)),
        IpAddr::V6(v6) => out.extend(v6.octets().iter().zip(mask).map(|(b, m)| b ^ m)),
    }
}

/// Magic cookie followed by the transaction id: the XOR key of X-addresses.
fn xor_mask(txid: &[u8]) -> [u8; 16] {
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&COOKIE.to_be_bytes());
    mask[4..].copy_from_slice(&txid[..12]);
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stun;
    use stun_codec::rfc5766::attributes::{Data, XorPeerAddress};

    #[test]
    fn data_indication_decodes_with_stun_codec() {
        for peer in ["203.0.113.9:4000", "[2001:db8::1]:5000"] {
            let peer: SocketAddr = peer.parse().unwrap();
            let mut out = Vec::new();
            write_data(&mut out, [9; 12], peer, b"hello");
            let msg = stun::decode(&out).expect("valid STUN");
            assert_eq!(
                msg.get_attribute::<XorPeerAddress>().unwrap().address(),
                peer
            );
            assert_eq!(msg.get_attribute::<Data>().unwrap().data(), b"hello");
        }
    }

    #[test]
    fn send_indication_roundtrip_and_garbage() {
        let peer: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        let mut out = Vec::new();
        write_data(&mut out, [3; 12], peer, b"abc");
        out[1] = 0x16; // turn the Data indication into a Send indication
        let send = parse_send(&out).unwrap();
        assert_eq!(send.peer, peer);
        assert_eq!(&out[send.data], b"abc");
        assert!(parse_send(&out[..out.len() - 4]).is_none());
        assert!(parse_send(&[0; 3]).is_none());
    }
}
