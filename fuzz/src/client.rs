//! Building the packets a TURN client sends: requests signed with REST-API
//! credentials (or deliberately mis-signed), Send indications and ChannelData.

use std::net::SocketAddr;

use bytecodec::EncodeExt;
use huddle_turn::core::stun::{Attribute, StunMessage};
use huddle_turn::Credentials;
use stun_codec::rfc5389::attributes::{Fingerprint, MessageIntegrity, Nonce, Realm, Username};
use stun_codec::rfc5766::attributes::{Data, DontFragment, XorPeerAddress};
use stun_codec::rfc5766::methods::SEND;
use stun_codec::{Message, MessageClass, MessageEncoder, Method, TransactionId};

/// How a request is signed.
pub struct Signing<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub realm: &'a str,
    /// `None`: no NONCE attribute (a 400 when MESSAGE-INTEGRITY is there).
    pub nonce: Option<&'a str>,
}

pub fn txid(n: u64) -> TransactionId {
    let mut id = [0u8; 12];
    id[4..].copy_from_slice(&n.to_be_bytes());
    TransactionId::new(id)
}

/// A request with `attrs`; signed when `signing` is given. `None` when the
/// fuzzer picked a username or nonce STUN cannot carry.
pub fn request(
    method: Method,
    id: TransactionId,
    attrs: Vec<Attribute>,
    signing: Option<&Signing<'_>>,
    fingerprint: bool,
) -> Option<Vec<u8>> {
    let mut msg: StunMessage = Message::new(MessageClass::Request, method, id);
    for attr in attrs {
        msg.add_attribute(attr);
    }
    if let Some(s) = signing {
        let username = Username::new(s.username.to_owned()).ok()?;
        let realm = Realm::new(s.realm.to_owned()).ok()?;
        msg.add_attribute(username.clone());
        msg.add_attribute(realm.clone());
        if let Some(nonce) = s.nonce {
            msg.add_attribute(Nonce::new(nonce.to_owned()).ok()?);
        }
        let integrity =
            MessageIntegrity::new_long_term_credential(&msg, &username, &realm, s.password)
                .ok()?;
        msg.add_attribute(integrity);
    }
    if fingerprint {
        msg.add_attribute(Fingerprint::new(&msg).ok()?);
    }
    MessageEncoder::new().encode_into_bytes(msg).ok()
}

pub fn signing<'a>(creds: &'a Credentials, nonce: Option<&'a str>) -> Signing<'a> {
    Signing {
        username: &creds.username,
        password: &creds.password,
        realm: crate::turn::REALM,
        nonce,
    }
}

pub fn send_indication(
    id: TransactionId,
    peer: SocketAddr,
    payload: &[u8],
    dont_fragment: bool,
) -> Option<Vec<u8>> {
    let mut msg: StunMessage = Message::new(MessageClass::Indication, SEND, id);
    msg.add_attribute(XorPeerAddress::new(peer));
    msg.add_attribute(Data::new(payload.to_vec()).ok()?);
    if dont_fragment {
        msg.add_attribute(DontFragment);
    }
    MessageEncoder::new().encode_into_bytes(msg).ok()
}

/// ChannelData, padded to four bytes when it goes over a stream.
pub fn channel_data(number: u16, payload: &[u8], padded: bool) -> Vec<u8> {
    let len = payload.len().min(usize::from(u16::MAX));
    let mut out = Vec::with_capacity(4 + len + 3);
    out.extend_from_slice(&number.to_be_bytes());
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&payload[..len]);
    if padded {
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    out
}

/// The NONCE and RESERVATION-TOKEN a reply carries, if it is STUN at all.
pub fn learn(packet: &[u8]) -> (Option<String>, Option<u64>, Option<u16>) {
    use stun_codec::rfc5389::attributes::ErrorCode;
    use stun_codec::rfc5766::attributes::ReservationToken;
    let Some(msg) = huddle_turn::core::stun::decode(packet) else {
        return (None, None, None);
    };
    (
        msg.get_attribute::<Nonce>().map(|n| n.value().to_owned()),
        msg.get_attribute::<ReservationToken>().map(|t| t.token()),
        msg.get_attribute::<ErrorCode>().map(|e| e.code()),
    )
}
