//! STUN encoding and decoding through `stun_codec` (public so tests and tools
//! can speak the same attribute set), plus the response builders
//! every request handler shares. Only the control path goes through here; the
//! relaying hot path (Send/Data indications, ChannelData) is in `indication.rs`
//! and `relay.rs` and never builds a `Message`.

use std::net::SocketAddr;

pub use super::channel_number::ChannelNumber;
use bytecodec::{DecodeExt, EncodeExt};
use stun_codec::rfc5389::attributes::{
    ErrorCode, Fingerprint, MappedAddress, MessageIntegrity, Nonce, Realm, Software,
    UnknownAttributes, Username, XorMappedAddress,
};
use stun_codec::rfc5766::attributes::{
    Data, DontFragment, EvenPort, Lifetime, RequestedTransport, ReservationToken, XorPeerAddress,
    XorRelayAddress,
};
use stun_codec::rfc8656::attributes::{AdditionalAddressFamily, RequestedAddressFamily};
use stun_codec::{
    define_attribute_enums, Attribute as _, Message, MessageClass, MessageDecoder, MessageEncoder,
};

define_attribute_enums!(
    Attribute,
    AttributeDecoder,
    AttributeEncoder,
    [
        MappedAddress,
        Username,
        MessageIntegrity,
        ErrorCode,
        UnknownAttributes,
        Realm,
        Nonce,
        XorMappedAddress,
        Software,
        Fingerprint,
        ChannelNumber,
        Lifetime,
        XorPeerAddress,
        Data,
        XorRelayAddress,
        EvenPort,
        RequestedTransport,
        DontFragment,
        ReservationToken,
        RequestedAddressFamily,
        AdditionalAddressFamily
    ]
);

pub type StunMessage = Message<Attribute>;

const SOFTWARE: &str = "huddle";

/// Decodes one whole STUN message; `None` for anything broken, including a bad
/// FINGERPRINT (stun_codec verifies it while decoding).
pub fn decode(bytes: &[u8]) -> Option<StunMessage> {
    let mut decoder = MessageDecoder::<Attribute>::new();
    match decoder.decode_from_bytes(bytes) {
        Ok(Ok(msg)) => Some(msg),
        Ok(Err(broken)) => {
            tracing::debug!("broken STUN message: {:?}", broken.error());
            None
        }
        Err(e) => {
            tracing::debug!("undecodable STUN message: {e}");
            None
        }
    }
}

/// The key material a response is signed with: the requester's long-term credential.
pub struct Signer<'a> {
    pub username: &'a Username,
    pub realm: &'a Realm,
    pub password: &'a str,
}

/// Starts a success or error response to `request`.
pub fn response(request: &StunMessage, class: MessageClass) -> StunMessage {
    let mut msg = Message::new(class, request.method(), request.transaction_id());
    msg.add_attribute(Software::new(SOFTWARE.to_owned()).expect("short software name"));
    msg
}

pub fn error_response(request: &StunMessage, code: impl Into<ErrorCode>) -> StunMessage {
    let mut msg = response(request, MessageClass::ErrorResponse);
    msg.add_attribute(code.into());
    msg
}

/// Appends MESSAGE-INTEGRITY (when signed) and FINGERPRINT, then encodes.
/// Encoding a message we built ourselves cannot fail unless we built it wrong.
pub fn finish(mut msg: StunMessage, signer: Option<&Signer<'_>>) -> Vec<u8> {
    if let Some(s) = signer {
        let integrity =
            MessageIntegrity::new_long_term_credential(&msg, s.username, s.realm, s.password)
                .expect("our own message encodes");
        msg.add_attribute(integrity);
    }
    let fingerprint = Fingerprint::new(&msg).expect("our own message encodes");
    msg.add_attribute(fingerprint);
    MessageEncoder::new()
        .encode_into_bytes(msg)
        .expect("our own message encodes")
}

pub fn binding_success(request: &StunMessage, mapped: SocketAddr) -> Vec<u8> {
    let mut msg = response(request, MessageClass::SuccessResponse);
    msg.add_attribute(XorMappedAddress::new(mapped));
    // Old (RFC 3489) clients only read MAPPED-ADDRESS; it costs 12 bytes.
    msg.add_attribute(MappedAddress::new(mapped));
    finish(msg, None)
}

/// Unknown comprehension-required attributes (type < 0x8000), which oblige us
/// to answer 420 instead of guessing.
pub fn unknown_required(msg: &StunMessage) -> Vec<stun_codec::AttributeType> {
    msg.unknown_attributes()
        .map(|a| a.get_type())
        .filter(|t| t.is_comprehension_required())
        .collect()
}
