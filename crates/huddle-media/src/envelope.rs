//! The envelope of a data channel message the SFU forwards: only the SFU knows who sent it (a
//! message could claim anybody), so it says so in front of the message. An envelope is binary:
//! the sender's id (8 bytes, big-endian), 1 if the message was text or 0 if binary, the message.

use crate::ParticipantId;

const SENDER_BYTES: usize = 8;

/// `data`, sent by `from` as text or binary, in its envelope.
pub fn seal(from: ParticipantId, binary: bool, data: &[u8]) -> Vec<u8> {
    let mut envelope = Vec::with_capacity(SENDER_BYTES + 1 + data.len());
    envelope.extend_from_slice(&from.0.to_be_bytes());
    envelope.push(u8::from(!binary));
    envelope.extend_from_slice(data);
    envelope
}

/// The sender, whether the message was binary, and the message; `None` when too short.
pub fn open(envelope: &[u8]) -> Option<(ParticipantId, bool, &[u8])> {
    let (sender, rest) = envelope.split_first_chunk::<SENDER_BYTES>()?;
    let (&kind, data) = rest.split_first()?;
    Some((ParticipantId(u64::from_be_bytes(*sender)), kind == 0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_names_its_sender_and_keeps_the_message() {
        let from = ParticipantId(0x0123_4567_89ab_cdef);
        let sealed = seal(from, false, b"{\"t\":\"file_end\"}");
        assert_eq!(
            &sealed[..9],
            &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 1]
        );
        assert_eq!(
            open(&sealed),
            Some((from, false, &b"{\"t\":\"file_end\"}"[..]))
        );
        assert_eq!(open(&seal(from, true, &[])), Some((from, true, &[][..])));
        assert_eq!(open(&sealed[..8]), None);
    }
}
