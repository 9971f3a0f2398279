//! A synthetic publisher's sending: each video layer and the microphone on
//! their own cadence, every payload stamped, keyframes when asked.

use std::time::Instant;

use huddle_media::str0m::format::Codec;
use huddle_media::str0m::media::{Frequency, MediaTime, Mid, Pt, Rid};
use huddle_media::str0m::Rtc;

use super::stamp::{Epoch, Stamp};
use super::traffic::{Cadence, Layer, OPUS_BYTES, OPUS_INTERVAL};

/// What one participant sends: video layers (none for a subscriber) and
/// whether it sends audio.
#[derive(Debug, Clone, Copy)]
pub struct Sends {
    pub video: &'static [Layer],
    pub audio: bool,
}

impl Sends {
    pub fn publishes(&self) -> bool {
        self.audio || !self.video.is_empty()
    }
}

struct LayerSender {
    layer: Layer,
    cadence: Cadence,
    frames: u32,
    /// The next frame is a keyframe (the first, and after a request).
    keyframe: bool,
}

pub struct Publishing {
    video: Option<(Mid, Vec<LayerSender>)>,
    audio: Option<(Mid, Cadence, u32)>,
}

impl Publishing {
    pub fn new(video: Option<(Mid, &[Layer])>, audio: Option<Mid>, start: Instant) -> Self {
        let video = video.map(|(mid, layers)| {
            let senders = layers
                .iter()
                .map(|&layer| LayerSender {
                    layer,
                    cadence: Cadence::new(layer.frame_interval(), start),
                    frames: 0,
                    keyframe: true,
                })
                .collect();
            (mid, senders)
        });
        let audio = audio.map(|mid| (mid, Cadence::new(OPUS_INTERVAL, start), 0));
        Publishing { video, audio }
    }

    pub fn keyframe_requested(&mut self, mid: Mid, rid: Option<Rid>) {
        let Some((video_mid, senders)) = &mut self.video else {
            return;
        };
        if *video_mid != mid {
            return;
        }
        for s in senders {
            if rid.is_none() || s.layer.rid.map(Rid::from) == rid {
                s.keyframe = true;
            }
        }
    }

    /// Writes every frame and audio packet due at `now`.
    pub fn send_due(&mut self, rtc: &mut Rtc, epoch: Epoch, now: Instant) {
        if !rtc.is_connected() {
            return;
        }
        if let Some((mid, senders)) = &mut self.video {
            let pt = payload_type(rtc, Codec::Vp8);
            for (i, s) in senders.iter_mut().enumerate() {
                if s.cadence.take(now) {
                    s.write(rtc, *mid, pt, i as u8, epoch, now);
                }
            }
        }
        if let Some((mid, cadence, packets)) = &mut self.audio {
            if cadence.take(now) {
                let pt = payload_type(rtc, Codec::Opus);
                let mut payload = vec![0xfc; OPUS_BYTES];
                stamp(&mut payload, 0, *packets, epoch, now);
                let time = MediaTime::new(u64::from(*packets) * 960, Frequency::FORTY_EIGHT_KHZ);
                if let Some(writer) = rtc.writer(*mid) {
                    let _ = writer.audio_level(-30, true).write(pt, now, time, payload);
                }
                *packets += 1;
            }
        }
    }

    /// The earliest time something is due.
    pub fn next_due(&self) -> Option<Instant> {
        let video = self.video.iter().flat_map(|(_, s)| s.iter());
        let audio = self.audio.iter().map(|(_, c, _)| c.next());
        video.map(|s| s.cadence.next()).chain(audio).min()
    }
}

impl LayerSender {
    fn write(&mut self, rtc: &mut Rtc, mid: Mid, pt: Pt, index: u8, epoch: Epoch, now: Instant) {
        let mut frame = vp8_frame(self.keyframe, &self.layer);
        stamp(&mut frame, index, self.frames, epoch, now);
        let ticks = u64::from(self.frames) * 90_000 / u64::from(self.layer.fps);
        let time = MediaTime::new(ticks, Frequency::NINETY_KHZ);
        let Some(writer) = rtc.writer(mid) else {
            return;
        };
        let writer = match self.layer.rid {
            Some(rid) => writer.rid(rid.into()),
            None => writer,
        };
        if writer.write(pt, now, time, frame).is_ok() {
            self.keyframe = false;
        }
        self.frames += 1;
    }
}

fn stamp(payload: &mut [u8], layer: u8, seq: u32, epoch: Epoch, now: Instant) {
    let sent_us = epoch.micros(now);
    Stamp {
        layer,
        seq,
        sent_us,
    }
    .write(payload);
}

/// A VP8 frame of the layer's size whose header the SFU can read (keyframe
/// flag, and on keyframes the start code and size); the rest is filler.
fn vp8_frame(keyframe: bool, layer: &Layer) -> Vec<u8> {
    let mut f = vec![0u8; layer.frame_bytes().max(32)];
    f[0] = if keyframe { 0x10 } else { 0x11 };
    f[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
    f[6..8].copy_from_slice(&layer.width.to_le_bytes());
    f[8..10].copy_from_slice(&layer.height.to_le_bytes());
    f
}

fn payload_type(rtc: &Rtc, codec: Codec) -> Pt {
    let params = rtc.codec_config().find(|p| p.spec().codec == codec);
    params.expect("str0m configures VP8 and Opus").pt()
}
