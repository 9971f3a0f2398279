//! One RTP packet of a published track as the SFU forwards it: what str0m received, in
//! huddle-media's own terms, cheap to copy (the payload is shared by every subscriber's send
//! queue and retransmission cache), so it can be offered to each subscriber and cross to another
//! worker ([`crate::relay`]). Packets are forwarded as they arrive, never reassembled into frames:
//! a subscriber waits for no frame to complete, and a packet lost upstream shows downstream as
//! the gap it is (its retransmission, when it comes, fills it there too).

use std::sync::Arc;
use std::time::Instant;

use str0m::format::{Codec, PayloadParams};
use str0m::media::MediaTime;
use str0m::rtp::{RtpPacket, SeqNo, Ssrc, Vp8Descriptor};

use crate::forward::LayerKey;

#[derive(Debug, Clone)]
pub struct Packet {
    pub layer: LayerKey,
    /// The publisher's stream the layer came on.
    pub ssrc: Ssrc,
    /// The layer came on a new stream with this packet: another numbering of sequence numbers
    /// and times begins.
    pub restart: bool,
    /// The publisher's codec, matched to each subscriber's payload type.
    pub params: PayloadParams,
    /// Extended sequence number on its layer.
    pub seq: SeqNo,
    pub time: MediaTime,
    pub marker: bool,
    /// When it reached the SFU.
    pub network_time: Instant,
    pub payload: Arc<[u8]>,
    /// It opens a keyframe: a decoder can start here.
    pub keyframe: bool,
    /// The first packet of its layer with this RTP time: a new frame begins.
    pub frame_start: bool,
    /// The audio level header extension (-127 silence ..= 0 loudest) and voice activity.
    pub audio_level: Option<(i8, bool)>,
    /// VP8's payload descriptor, whose picture ids each subscriber renumbers across switches.
    pub vp8: Option<Vp8Descriptor>,
}

impl Packet {
    /// Whether it begins a frame or a new stream is the publisher's to tell (it knows the
    /// layer's previous packets): not until then.
    pub fn new(rtp: RtpPacket, layer: LayerKey, params: PayloadParams) -> Self {
        let codec = params.spec().codec;
        let vp8 = (codec == Codec::Vp8)
            .then(|| Vp8Descriptor::parse(&rtp.payload).ok())
            .flatten();
        let keyframe = match vp8 {
            Some(d) => d.starts_keyframe(&rtp.payload),
            None => opens_keyframe(codec, &rtp.payload),
        };
        let ext = &rtp.header.ext_vals;
        Packet {
            layer,
            ssrc: rtp.header.ssrc,
            restart: false,
            params,
            seq: rtp.seq_no,
            time: rtp.time,
            marker: rtp.header.marker,
            network_time: rtp.timestamp,
            audio_level: ext
                .audio_level
                .map(|level| (level, ext.voice_activity.unwrap_or(false))),
            payload: rtp.payload,
            keyframe,
            frame_start: false,
            vp8,
        }
    }

    /// Width and height when it opens a VP8 keyframe.
    pub fn vp8_keyframe_size(&self) -> Option<(u16, u16)> {
        let descriptor = self.vp8.filter(|_| self.keyframe)?;
        vp8_keyframe_size(self.payload.get(descriptor.payload_offset()..)?)
    }
}

/// Whether a payload of `codec` opens a keyframe (VP8 is read through its descriptor). Audio has
/// no frames to wait for: every packet is a place to start. The SFU negotiates no other video
/// codec (see `RtcRecipe`).
fn opens_keyframe(codec: Codec, payload: &[u8]) -> bool {
    let first = payload.first().copied().unwrap_or(0);
    match codec {
        // VP9 descriptor: B (beginning of a frame) set and P (inter-picture predicted) clear.
        Codec::Vp9 => first & 0x48 == 0x08,
        Codec::H264 => opens_h264_keyframe(payload),
        // AV1 aggregation header: N, the first packet of a coded video sequence.
        Codec::Av1 => first & 0x08 != 0,
        Codec::Vp8 | Codec::H265 | Codec::H266 => false,
        _ => true,
    }
}

/// An H.264 payload (RFC 6184) that starts a keyframe: a sequence parameter set (browsers send it
/// first, and a decoder switched onto the stream needs it) or an IDR slice, alone, aggregated in
/// a STAP-A, or at the start of a FU-A.
fn opens_h264_keyframe(payload: &[u8]) -> bool {
    const IDR: u8 = 5;
    const SPS: u8 = 7;
    const STAP_A: u8 = 24;
    const FU_A: u8 = 28;
    let opens = |nal: u8| matches!(nal & 0x1f, IDR | SPS);
    match payload {
        [header, ..] if header & 0x1f == STAP_A => {
            let mut rest = &payload[1..];
            while let [hi, lo, nals @ ..] = rest {
                let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                match nals.first() {
                    Some(nal) if len > 0 && opens(*nal) => return true,
                    _ => rest = nals.get(len..).unwrap_or_default(),
                }
            }
            false
        }
        [header, fu, ..] if header & 0x1f == FU_A => fu & 0x80 != 0 && opens(*fu),
        [nal, ..] => opens(*nal),
        [] => false,
    }
}

/// Width and height from a VP8 keyframe header (RFC 6386 9.1), if `frame` is one.
///
/// The 3-byte frame tag has the keyframe bit clear, then the start code 9d 01 2a,
/// then 14-bit width and height (the top 2 bits are scaling, ignored here).
fn vp8_keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    (w > 0 && h > 0).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframe_size_parses_header_and_rejects_garbage() {
        let kf = [
            0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0,
        ];
        assert_eq!(vp8_keyframe_size(&kf), Some((640, 480)));
        let delta = [0x11, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
        assert_eq!(vp8_keyframe_size(&delta), None);
        assert_eq!(vp8_keyframe_size(&[0, 1, 2]), None);
        assert_eq!(vp8_keyframe_size(&[0; 10]), None);
    }

    #[test]
    fn vp9_keyframe_opens_at_its_first_packet_only() {
        assert!(opens_keyframe(Codec::Vp9, &[0x08]));
        assert!(
            !opens_keyframe(Codec::Vp9, &[0x00]),
            "not the frame's first packet"
        );
        assert!(!opens_keyframe(Codec::Vp9, &[0x48]), "inter-predicted");
        assert!(!opens_keyframe(Codec::Vp9, &[]));
    }

    #[test]
    fn h264_keyframe_opens_at_its_parameter_sets_or_idr() {
        assert!(opens_keyframe(Codec::H264, &[0x67, 0x42]), "SPS");
        assert!(opens_keyframe(Codec::H264, &[0x65, 0x88]), "IDR");
        assert!(!opens_keyframe(Codec::H264, &[0x41, 0x9a]), "delta slice");
        assert!(
            !opens_keyframe(Codec::H264, &[0x7c, 0x05]),
            "middle of a FU-A"
        );
        assert!(
            opens_keyframe(Codec::H264, &[0x7c, 0x85]),
            "start of a FU-A IDR"
        );
        let stap_a = [0x78, 0, 2, 0x09, 0xf0, 0, 3, 0x67, 0x42, 0x00];
        assert!(
            opens_keyframe(Codec::H264, &stap_a),
            "SPS aggregated after an AUD"
        );
        assert!(
            !opens_keyframe(Codec::H264, &[0x78, 0, 9]),
            "truncated STAP-A"
        );
        assert!(
            opens_keyframe(Codec::Opus, &[0xfc]),
            "audio starts anywhere"
        );
    }
}
