//! The browser stand-in of the bench: a str0m `Rtc` playing the client side.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use huddle_media::str0m::change::SdpAnswer;
use huddle_media::str0m::format::Codec;
use huddle_media::str0m::media::{Frequency, MediaData, MediaKind, MediaTime, Mid};
use huddle_media::str0m::{Event, Rtc};
use huddle_media::{ParticipantId, Sfu};

use super::Datagram;

/// A browser stand-in: a str0m `Rtc` playing the client side.
pub struct Client {
    pub id: ParticipantId,
    /// The SFU worker it joined (0 unless the room is spread over several).
    pub worker: usize,
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pub events: Vec<Event>,
    pub(super) inbox: VecDeque<Datagram>,
    /// Auto-answer the SFU's renegotiation offers.
    pub auto_answer: bool,
    /// Bytes per step the link from the SFU delivers; the rest waits in the inbox.
    /// `None`: no limit. `Some(0)`: the client stopped reading. Below a datagram per
    /// step, unused bytes carry over (up to one full datagram), so slow links work too.
    pub downlink: Option<usize>,
    pub(super) downlink_credit: usize,
    /// Its network is gone: nothing it sends arrives, nothing sent to it arrives.
    pub offline: bool,
    /// Mids of this client's own published m-lines.
    pub video_mid: Option<Mid>,
    pub audio_mid: Option<Mid>,
    /// A second video track (screen share), added by renegotiation.
    pub screen_mid: Option<Mid>,
    pub simulcast: bool,
    /// Video codec this client sends: VP8 (default) or H.264.
    pub codec: Codec,
    /// Keyframe requests (PLI/FIR) this client got from the SFU for its video.
    pub keyframe_requests: usize,
    /// Audio level sent with every audio packet: -127 silence ..= 0 loudest.
    pub audio_level: i8,
    pub frame: u64,
    pub audio_packets: u64,
}

impl Client {
    /// Sends one VP8 frame on the camera (every simulcast layer if simulcast) and on
    /// the screen share if any. The first frame, and any frame after a keyframe
    /// request for that m-line, is a keyframe.
    pub fn send_video_frame(&mut self, now: Instant) {
        let requested: Vec<Mid> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::KeyframeRequest(r) => Some(r.mid),
                _ => None,
            })
            .collect();
        self.events
            .retain(|e| !matches!(e, Event::KeyframeRequest(_)));
        self.keyframe_requests += requested.len();
        let time = MediaTime::new(self.frame * 3000, Frequency::NINETY_KHZ);
        let pt = self.pt(self.codec);
        for (mid, simulcast) in [(self.video_mid, self.simulcast), (self.screen_mid, false)] {
            let Some(mid) = mid else { continue };
            let keyframe = self.frame == 0 || requested.contains(&mid);
            let rids: Vec<Option<&str>> = if simulcast {
                vec![Some("q"), Some("h"), Some("f")]
            } else {
                vec![None]
            };
            let top = rids.len() - 1;
            for (i, rid) in rids.into_iter().enumerate() {
                // Layer sizes 320x180, 640x360, 1280x720; non-simulcast is the top.
                let shift = if simulcast { i } else { 2 };
                let (w, h) = (320u16 << shift, 180u16 << shift);
                let size = layer_frame_size(if simulcast { i } else { top.max(2) });
                let frame = match self.codec {
                    Codec::H264 => h264_frame(keyframe, size, self.frame),
                    _ => vp8_frame(keyframe, w, h, size, self.frame),
                };
                let writer = self.rtc.writer(mid).expect("video writer");
                let writer = match rid {
                    Some(r) => writer.rid(r.into()),
                    None => writer,
                };
                writer.write(pt, now, time, frame).expect("write video");
            }
        }
        self.frame += 1;
    }

    /// Renegotiates from the client side (e.g. to add or remove a screen share).
    pub fn renegotiate<R>(
        &mut self,
        sfu: &mut Sfu,
        f: impl FnOnce(&mut huddle_media::str0m::change::SdpApi) -> R,
    ) -> R {
        let mut change = self.rtc.sdp_api();
        let r = f(&mut change);
        let (offer, pending) = change.apply().expect("an offer");
        let answer = sfu
            .accept_offer(self.id, &offer.to_sdp_string())
            .expect("sfu answers");
        self.rtc
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .expect("client accepts answer");
        r
    }

    pub fn send_audio(&mut self, now: Instant, level: i8) {
        let Some(mid) = self.audio_mid else {
            return;
        };
        let pt = self.pt(Codec::Opus);
        self.audio_packets += 1;
        let time = MediaTime::new(self.audio_packets * 960, Frequency::FORTY_EIGHT_KHZ);
        let writer = self.rtc.writer(mid).expect("audio writer");
        writer
            .audio_level(level, true)
            .write(pt, now, time, vec![0xfc; 60])
            .expect("write audio");
    }

    fn pt(&self, codec: Codec) -> huddle_media::str0m::media::Pt {
        self.rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .expect("codec configured")
            .pt()
    }

    /// A slow downlink's buffer holds what it delivers in 200 ms; more is tail-dropped, as
    /// by a router. Unlimited and stopped (`Some(0)`) downlinks never drop.
    pub(super) fn downlink_full(&self) -> bool {
        let Some(rate) = self.downlink.filter(|r| *r > 0) else {
            return false;
        };
        let queued: usize = self.inbox.iter().map(|d| d.contents.len()).sum();
        queued > rate * 200
    }

    /// Media received so far, as (mid, is_keyframe, first byte) per frame.
    pub fn received(&self) -> Vec<&MediaData> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::MediaData(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// Simulcast layer index (0 = lowest) of each video frame received since the last clear.
    pub fn layers_received(&self) -> Vec<usize> {
        self.received_kind(MediaKind::Video)
            .iter()
            .map(|d| {
                (0..3)
                    .find(|i| layer_frame_size(*i) == d.data.len())
                    .expect("a frame of a known layer")
            })
            .collect()
    }

    pub fn received_kind(&self, kind: MediaKind) -> Vec<&MediaData> {
        self.received()
            .into_iter()
            .filter(|d| self.rtc.media(d.mid).map(|m| m.kind()) == Some(kind))
            .collect()
    }

    /// The mids on which this client receives video from the SFU, in order.
    pub fn video_mids_received(&self) -> Vec<Mid> {
        let mut mids = vec![];
        for d in self.received_kind(MediaKind::Video) {
            if !mids.contains(&d.mid) {
                mids.push(d.mid);
            }
        }
        mids
    }

    pub fn clear_events(&mut self) {
        self.events.clear();
    }
}

/// Bytes per frame on simulcast layer `i` (0 lowest): 4x per step, like real ladders.
pub fn layer_frame_size(i: usize) -> usize {
    200 << (2 * i)
}

/// A VP8 frame: keyframes carry a real header with the size, so the SFU can learn it.
/// `tag` lands in the payload so the receiver can tell frames apart.
pub fn vp8_frame(keyframe: bool, w: u16, h: u16, size: usize, tag: u64) -> Vec<u8> {
    let mut f = vec![0u8; size.max(16)];
    f[0] = if keyframe { 0x10 } else { 0x11 };
    f[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
    f[6..8].copy_from_slice(&w.to_le_bytes());
    f[8..10].copy_from_slice(&h.to_le_bytes());
    f[10] = tag as u8;
    f
}

/// An H.264 access unit in Annex B: SPS, PPS and an IDR slice for a keyframe, one
/// non-IDR slice otherwise. The SFU never decodes it; str0m only reads NAL types.
pub fn h264_frame(keyframe: bool, size: usize, tag: u64) -> Vec<u8> {
    let mut f = vec![];
    if keyframe {
        f.extend([0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda]);
        f.extend([0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        f.extend([0, 0, 0, 1, 0x65]);
    } else {
        f.extend([0, 0, 0, 1, 0x41]);
    }
    let body = size.saturating_sub(f.len()).max(8);
    f.push(tag as u8);
    // 0x55 never forms a start code, so the slice stays one NAL.
    f.extend(std::iter::repeat_n(0x55, body - 1));
    f
}
