//! STUN on the wire. The Binding hot path patches a prebuilt 20-byte header;
//! the TURN control path (a few transactions per allocation) goes through
//! `stun_codec`, the codec huddle-turn uses.

use bytecodec::{DecodeExt, EncodeExt};
use stun_codec::rfc5389::attributes::{
    ErrorCode, Fingerprint, MappedAddress, MessageIntegrity, Nonce, Realm, Software, Username,
    XorMappedAddress,
};
use stun_codec::rfc5766::attributes::{
    ChannelNumber, Lifetime, RequestedTransport, XorPeerAddress, XorRelayAddress,
};
use stun_codec::{define_attribute_enums, Message, MessageDecoder, MessageEncoder};

define_attribute_enums!(
    Attribute,
    AttributeDecoder,
    AttributeEncoder,
    [
        MappedAddress,
        Username,
        MessageIntegrity,
        ErrorCode,
        Realm,
        Nonce,
        XorMappedAddress,
        Software,
        Fingerprint,
        ChannelNumber,
        Lifetime,
        XorPeerAddress,
        XorRelayAddress,
        RequestedTransport
    ]
);

pub type StunMessage = Message<Attribute>;

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// A Binding request without attributes, as ICE connectivity checks minus
/// their ICE attributes; `id` fills the transaction id.
pub fn binding_request(id: u64) -> [u8; 20] {
    let mut msg = [0u8; 20];
    msg[0..2].copy_from_slice(&0x0001u16.to_be_bytes());
    msg[4..8].copy_from_slice(&MAGIC_COOKIE);
    set_transaction_id(&mut msg, id);
    msg
}

/// Rewrites the transaction id of a request built by [`binding_request`].
pub fn set_transaction_id(msg: &mut [u8; 20], id: u64) {
    msg[12..20].copy_from_slice(&id.to_be_bytes());
}

/// A Binding success response (class and method only: the load generator
/// counts answers, it does not need the mapped address).
pub fn is_binding_success(datagram: &[u8]) -> bool {
    datagram.len() >= 20 && datagram[0..2] == [0x01, 0x01] && datagram[4..8] == MAGIC_COOKIE
}

pub fn decode(bytes: &[u8]) -> Option<StunMessage> {
    MessageDecoder::<Attribute>::new()
        .decode_from_bytes(bytes)
        .ok()?
        .ok()
}

pub fn encode(msg: StunMessage) -> Vec<u8> {
    MessageEncoder::new()
        .encode_into_bytes(msg)
        .expect("a message we built encodes")
}

/// A ChannelData message: 4-byte header then the payload, padded to 4 bytes.
pub fn channel_data(channel: u16, payload_len: usize) -> Vec<u8> {
    let mut packet = Vec::with_capacity(4 + payload_len.next_multiple_of(4));
    packet.extend_from_slice(&channel.to_be_bytes());
    packet.extend_from_slice(&(payload_len as u16).to_be_bytes());
    packet.extend((0..payload_len).map(|i| i as u8));
    packet.resize(4 + payload_len.next_multiple_of(4), 0);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;
    use stun_codec::rfc5389::methods::BINDING;
    use stun_codec::MessageClass;

    #[test]
    fn hand_built_binding_request_decodes() {
        let msg = decode(&binding_request(7)).expect("valid STUN");
        assert_eq!(msg.class(), MessageClass::Request);
        assert_eq!(msg.method(), BINDING);
        assert_eq!(msg.transaction_id().as_bytes()[11], 7);
    }

    #[test]
    fn channel_data_header_and_padding() {
        let p = channel_data(0x4000, 1001);
        assert_eq!(&p[..4], &[0x40, 0x00, 0x03, 0xE9]);
        assert_eq!(p.len(), 4 + 1004);
    }
}
