//! The Binding fast path: a plain Binding request (a header, at most a
//! FINGERPRINT) is recognised from its bytes and answered with a success
//! response written by hand, byte for byte what [`super::stun`] would build
//! through `stun_codec`, at a fraction of the cost. Anything else (other
//! attributes, a bad FINGERPRINT) takes the general path, which decodes fully.

use std::net::SocketAddr;

use crate::framing::STUN_HEADER_LEN;

const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const MAGIC_COOKIE: u32 = 0x2112_A442;
const MAPPED_ADDRESS: u16 = 0x0001;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
const SOFTWARE: u16 = 0x8022;
const FINGERPRINT: u16 = 0x8028;
/// RFC 8489 14.7: the CRC-32 is XORed with "STUN".
const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// Same name as [`super::stun`] puts in every response.
const SOFTWARE_NAME: &[u8] = b"huddle";

pub type TransactionId = [u8; 12];

/// The transaction id of a Binding request this path can answer: no
/// attributes, or only a FINGERPRINT that checks out.
pub fn plain_request(packet: &[u8]) -> Option<TransactionId> {
    let header = packet.get(..STUN_HEADER_LEN)?;
    let message_type = u16::from_be_bytes([header[0], header[1]]);
    let length = u16::from_be_bytes([header[2], header[3]]) as usize;
    let cookie = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    if message_type != BINDING_REQUEST
        || cookie != MAGIC_COOKIE
        || packet.len() != STUN_HEADER_LEN + length
    {
        return None;
    }
    match length {
        0 => {}
        8 if fingerprint_matches(packet) => {}
        _ => return None,
    }
    Some(header[8..20].try_into().expect("twelve bytes"))
}

/// A request whose only attribute is FINGERPRINT, checked over what precedes it.
fn fingerprint_matches(packet: &[u8]) -> bool {
    let (body, attribute) = packet.split_at(STUN_HEADER_LEN);
    let attribute_type = u16::from_be_bytes([attribute[0], attribute[1]]);
    let attribute_len = u16::from_be_bytes([attribute[2], attribute[3]]);
    let value = u32::from_be_bytes([attribute[4], attribute[5], attribute[6], attribute[7]]);
    attribute_type == FINGERPRINT
        && attribute_len == 4
        && value == crc32fast::hash(body) ^ FINGERPRINT_XOR
}

/// Writes a Binding success response into `out` (cleared first): SOFTWARE,
/// XOR-MAPPED-ADDRESS, MAPPED-ADDRESS (old RFC 3489 clients read only that)
/// and FINGERPRINT, in the order the general path encodes them.
pub fn write_success(out: &mut Vec<u8>, txid: &TransactionId, mapped: SocketAddr) {
    out.clear();
    out.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // length, set below
    out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out.extend_from_slice(txid);

    attribute_header(out, SOFTWARE, SOFTWARE_NAME.len());
    out.extend_from_slice(SOFTWARE_NAME);
    out.resize(out.len().next_multiple_of(4), 0);

    let mut xor_key = [0u8; 16];
    xor_key[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    xor_key[4..].copy_from_slice(txid);
    address(out, XOR_MAPPED_ADDRESS, mapped, Some(&xor_key));
    address(out, MAPPED_ADDRESS, mapped, None);

    // The length covers the FINGERPRINT, whose CRC covers everything before it.
    let length = (out.len() - STUN_HEADER_LEN + 8) as u16;
    out[2..4].copy_from_slice(&length.to_be_bytes());
    let crc = crc32fast::hash(out) ^ FINGERPRINT_XOR;
    attribute_header(out, FINGERPRINT, 4);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn attribute_header(out: &mut Vec<u8>, attribute_type: u16, len: usize) {
    out.extend_from_slice(&attribute_type.to_be_bytes());
    out.extend_from_slice(&(len as u16).to_be_bytes());
}

/// A (XOR-)MAPPED-ADDRESS value: family, port and address, XORed with the
/// cookie and transaction id when `xor_key` is given (RFC 8489 14.1, 14.2).
fn address(out: &mut Vec<u8>, attribute_type: u16, addr: SocketAddr, xor_key: Option<&[u8; 16]>) {
    let key = xor_key.copied().unwrap_or([0; 16]);
    let port = addr.port() ^ u16::from_be_bytes([key[0], key[1]]);
    let mut ip = [0u8; 16];
    let (family, ip) = match addr {
        SocketAddr::V4(a) => {
            ip[..4].copy_from_slice(&a.ip().octets());
            (1, &ip[..4])
        }
        SocketAddr::V6(a) => {
            ip.copy_from_slice(&a.ip().octets());
            (2, &ip[..])
        }
    };
    attribute_header(out, attribute_type, 4 + ip.len());
    out.extend_from_slice(&[0, family]);
    out.extend_from_slice(&port.to_be_bytes());
    out.extend(ip.iter().zip(key).map(|(b, k)| b ^ k));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stun;
    use bytecodec::EncodeExt;
    use stun_codec::rfc5389::attributes::Fingerprint;
    use stun_codec::rfc5389::methods::BINDING;
    use stun_codec::{Message, MessageClass, MessageEncoder, TransactionId as Txid};

    fn request(with_fingerprint: bool) -> Vec<u8> {
        let mut msg =
            Message::<stun::Attribute>::new(MessageClass::Request, BINDING, Txid::new([7; 12]));
        if with_fingerprint {
            let fingerprint = Fingerprint::new(&msg).unwrap();
            msg.add_attribute(fingerprint);
        }
        MessageEncoder::new().encode_into_bytes(msg).unwrap()
    }

    #[test]
    fn same_bytes_as_the_general_path() {
        for mapped in ["203.0.113.5:40000", "[2001:db8::7]:3478"] {
            let mapped: SocketAddr = mapped.parse().unwrap();
            let bytes = request(false);
            let general = stun::binding_success(&stun::decode(&bytes).unwrap(), mapped);
            let mut fast = Vec::new();
            write_success(&mut fast, &[7; 12], mapped);
            assert_eq!(fast, general, "{mapped}");
        }
    }

    #[test]
    fn recognises_only_plain_requests() {
        assert_eq!(plain_request(&request(false)), Some([7; 12]));
        assert_eq!(plain_request(&request(true)), Some([7; 12]));
        let mut bad_crc = request(true);
        *bad_crc.last_mut().unwrap() ^= 1;
        assert_eq!(plain_request(&bad_crc), None);
        let mut indication = request(false);
        indication[1] = 0x11;
        assert_eq!(plain_request(&indication), None);
        assert_eq!(plain_request(&request(false)[..19]), None);
        let mut trailing = request(false);
        trailing.push(0);
        assert_eq!(plain_request(&trailing), None);
    }
}
