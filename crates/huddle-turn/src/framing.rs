//! Telling STUN messages and ChannelData apart, and cutting a byte stream (TCP,
//! later TLS) into them. Pure functions over bytes, shared by the core and the
//! stream driver.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
pub(crate) const STUN_HEADER_LEN: usize = 20;
pub(crate) const CHANNEL_DATA_HEADER_LEN: usize = 4;

/// What the first bytes of a packet say it is (RFC 8656 section 12: the two top
/// bits are 0b00 for STUN and 0b01 for ChannelData).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Stun,
    ChannelData,
    Other,
}

pub fn kind(packet: &[u8]) -> PacketKind {
    match packet.first().map(|b| b >> 6) {
        Some(0b00) if packet.len() >= 8 && packet[4..8] == MAGIC_COOKIE => PacketKind::Stun,
        Some(0b01) => PacketKind::ChannelData,
        _ => PacketKind::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// Need more bytes to know.
    Incomplete,
    /// The first `n` bytes are one whole message.
    Complete(usize),
    /// Not STUN and not ChannelData: the stream is garbage and should be closed,
    /// since there is no way to find the next frame boundary.
    Invalid,
}

/// Length of the first frame in a stream buffer.
pub fn frame(buf: &[u8]) -> Frame {
    // The first byte alone can already tell garbage: hang up without waiting.
    match buf.first() {
        Some(b) if b >> 6 > 0b01 => return Frame::Invalid,
        _ if buf.len() < CHANNEL_DATA_HEADER_LEN => return Frame::Incomplete,
        _ => {}
    }
    let declared = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    let total = match buf[0] >> 6 {
        0b00 if declared % 4 == 0 => STUN_HEADER_LEN + declared,
        // Over streams ChannelData is padded to a multiple of four (RFC 8656 12.5).
        0b01 => CHANNEL_DATA_HEADER_LEN + declared.div_ceil(4) * 4,
        _ => return Frame::Invalid,
    };
    if buf.len() < total {
        Frame::Incomplete
    } else {
        Frame::Complete(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_stun_and_channel_data() {
        let mut stun = vec![0, 1, 0, 4, 0x21, 0x12, 0xA4, 0x42];
        stun.resize(24, 0);
        assert_eq!(kind(&stun), PacketKind::Stun);
        assert_eq!(frame(&stun[..10]), Frame::Incomplete);
        assert_eq!(frame(&stun), Frame::Complete(24));
        let cd = [0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0, 0x40];
        assert_eq!(kind(&cd), PacketKind::ChannelData);
        assert_eq!(frame(&cd), Frame::Complete(8));
        assert_eq!(frame(&[0xff, 0, 0, 0]), Frame::Invalid);
        assert_eq!(frame(&[0xff]), Frame::Invalid);
        assert_eq!(frame(&[0x40]), Frame::Incomplete);
        assert_eq!(frame(&[0, 1, 0, 3]), Frame::Invalid);
    }
}
