//! Cutting a TCP byte stream into STUN messages and ChannelData (RFC 8656
//! section 12), as huddle-turn's stream driver does. `huddle_turn::framing` is
//! private, so this mirrors its rules; keep the two in step.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Stun,
    ChannelData,
    Other,
}

/// What the first bytes say: top two bits 0b00 for STUN, 0b01 for ChannelData.
pub fn kind(packet: &[u8]) -> PacketKind {
    match packet.first().map(|b| b >> 6) {
        Some(0b00) if packet.len() >= 8 && packet[4..8] == MAGIC_COOKIE => PacketKind::Stun,
        Some(0b01) => PacketKind::ChannelData,
        _ => PacketKind::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    Incomplete,
    Complete(usize),
    /// No way to find the next frame boundary: the driver closes the stream.
    Invalid,
}

/// Length of the first frame in a stream buffer.
pub fn frame(buf: &[u8]) -> Frame {
    if buf.len() < 4 {
        return Frame::Incomplete;
    }
    let declared = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let total = match buf[0] >> 6 {
        0b00 if declared % 4 == 0 => 20 + declared,
        // Over streams ChannelData is padded to a multiple of four.
        0b01 => 4 + declared.div_ceil(4) * 4,
        _ => return Frame::Invalid,
    };
    if buf.len() < total {
        Frame::Incomplete
    } else {
        Frame::Complete(total)
    }
}
