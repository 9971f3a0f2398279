//! The publishing side of a participant: tracks it sends to the SFU, their simulcast
//! layers, how fast each layer arrives, and the keyframe request limiter per layer.

use std::time::{Duration, Instant};

use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};
use str0m::Rtc;

use crate::forward::LayerKey;
use crate::keyframe::KeyframeLimiter;
use crate::layer::LayerInfo;

/// A layer that sent nothing for this long is considered off (the publisher's own
/// congestion control drops the top layers first).
const LAYER_IDLE: Duration = Duration::from_millis(1500);
/// Bitrate is measured over windows of this length.
const METER_WINDOW: Duration = Duration::from_millis(500);

/// One incoming track of a publisher.
#[derive(Debug)]
pub struct PublishedTrack {
    pub mid: Mid,
    pub kind: MediaKind,
    /// Lowest quality first. One entry with `LayerKey(None)` without simulcast.
    pub layers: Vec<PublishedLayer>,
}

#[derive(Debug)]
pub struct PublishedLayer {
    pub key: LayerKey,
    /// Frame size: from the codec when known (VP8 keyframes), else assumed.
    pub width: u32,
    pub height: u32,
    meter: BitrateMeter,
    last_frame: Option<Instant>,
    limiter: KeyframeLimiter,
    /// A loss the NACKs could not repair broke the layer and no keyframe came since: every
    /// decoder downstream waits for one, so it is asked for until it comes.
    broken: bool,
}

impl PublishedTrack {
    /// `rids` lowest quality first, as the client declares them. Each lower layer is
    /// assumed to be half the size of the one above until a keyframe tells the truth.
    pub fn new(mid: Mid, kind: MediaKind, rids: &[Rid], top: (u32, u32)) -> Self {
        let keys: Vec<LayerKey> = if rids.is_empty() {
            vec![LayerKey(None)]
        } else {
            rids.iter().map(|r| LayerKey(Some(*r))).collect()
        };
        let n = keys.len() as u32;
        let layers = keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                // The rid list comes from the client's SDP: any length must be safe.
                let shift = n - 1 - i as u32;
                PublishedLayer {
                    key,
                    width: top.0.checked_shr(shift).unwrap_or(0),
                    height: top.1.checked_shr(shift).unwrap_or(0),
                    meter: BitrateMeter::default(),
                    last_frame: None,
                    limiter: KeyframeLimiter::default(),
                    broken: false,
                }
            })
            .collect();
        PublishedTrack { mid, kind, layers }
    }

    /// Accounts one incoming frame; `contiguous` is false when packets before it were lost
    /// for good. Returns whether the layer is broken (waits for a keyframe). Unknown rids are
    /// ignored, never trusted.
    pub fn on_frame(
        &mut self,
        key: LayerKey,
        frame: &[u8],
        keyframe: bool,
        contiguous: bool,
        now: Instant,
    ) -> bool {
        let Some(layer) = self.layers.iter_mut().find(|l| l.key == key) else {
            return false;
        };
        layer.meter.add(frame.len(), now);
        layer.last_frame = Some(now);
        layer.broken = !keyframe && (layer.broken || !contiguous);
        if keyframe {
            layer.limiter.on_keyframe();
        }
        if let Some((w, h)) = vp8_keyframe_size(frame) {
            layer.width = u32::from(w);
            layer.height = u32::from(h);
        }
        layer.broken
    }

    /// Layers waiting for a keyframe since a loss broke them.
    pub fn broken_layers(&self) -> Vec<LayerKey> {
        self.layers
            .iter()
            .filter(|l| l.broken)
            .map(|l| l.key)
            .collect()
    }

    /// The layers as [`crate::layer::select_layer`] sees them.
    pub fn layer_infos(&self, now: Instant) -> Vec<LayerInfo> {
        self.layers
            .iter()
            .map(|l| LayerInfo {
                width: l.width,
                height: l.height,
                bitrate_bps: match l.meter.bps(now) {
                    // Not measured yet: assume a generous 0.1 bit per pixel at 30 fps,
                    // so that a new subscriber starts low and moves up once measured.
                    0 => u64::from(l.width) * u64::from(l.height) * 3,
                    bps => bps,
                },
                active: l
                    .last_frame
                    .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE),
            })
            .collect()
    }

    /// Asks the publisher for a keyframe on one layer, as often as its limiter allows.
    /// Returns whether a request was sent.
    pub fn request_keyframe(
        &mut self,
        rtc: &mut Rtc,
        key: LayerKey,
        kind: KeyframeRequestKind,
        now: Instant,
    ) -> bool {
        if self.kind != MediaKind::Video {
            return false;
        }
        let Some(layer) = self.layers.iter_mut().find(|l| l.key == key) else {
            return false;
        };
        if !layer.limiter.try_request(now) {
            return false;
        }
        let Some(mut writer) = rtc.writer(self.mid) else {
            return false;
        };
        // Fails before the first packet of the layer arrived (no receive stream yet);
        // the caller retries on its next tick, so this is not an error.
        writer.request_keyframe(key.0, kind).is_ok()
    }
}

/// Bytes per fixed window; reports the last complete window. Simple, no allocation.
#[derive(Debug, Default, Clone, Copy)]
struct BitrateMeter {
    window_start: Option<Instant>,
    bytes_in_window: u64,
    last_bps: u64,
}

impl BitrateMeter {
    fn add(&mut self, bytes: usize, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= METER_WINDOW {
            self.last_bps = self.bytes_in_window * 8 * 1000 / elapsed.as_millis().max(1) as u64;
            self.bytes_in_window = 0;
            self.window_start = Some(now);
        }
        self.bytes_in_window += bytes as u64;
    }

    fn bps(&self, now: Instant) -> u64 {
        match self.window_start {
            Some(start) if now.saturating_duration_since(start) < LAYER_IDLE => self.last_bps,
            _ => 0,
        }
    }
}

/// Width and height from a VP8 keyframe header (RFC 6386 9.1), if `frame` is one.
///
/// The 3-byte frame tag has the keyframe bit clear, then the start code 9d 01 2a,
/// then 14-bit width and height (the top 2 bits are scaling, ignored here).
pub fn vp8_keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
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
    fn layers_are_assumed_halved_below_the_top() {
        let rids: Vec<Rid> = ["q", "h", "f"].iter().map(|r| (*r).into()).collect();
        let t = PublishedTrack::new(Mid::from("0"), MediaKind::Video, &rids, (1280, 720));
        let sizes: Vec<(u32, u32)> = t.layers.iter().map(|l| (l.width, l.height)).collect();
        assert_eq!(sizes, vec![(320, 180), (640, 360), (1280, 720)]);
    }

    #[test]
    fn absurd_rid_count_does_not_panic() {
        let rids: Vec<Rid> = (0..64).map(|i| Rid::from(i.to_string().as_str())).collect();
        let t = PublishedTrack::new(Mid::from("0"), MediaKind::Video, &rids, (1280, 720));
        assert_eq!(t.layers.len(), 64);
        assert_eq!((t.layers[0].width, t.layers[63].width), (0, 1280));
    }

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
    fn a_layer_broken_by_loss_stays_broken_until_a_keyframe() {
        let now = Instant::now();
        let mut t = PublishedTrack::new(Mid::from("1"), MediaKind::Video, &[], (640, 360));
        let layer = LayerKey(None);
        assert!(!t.on_frame(layer, &[1], false, true, now));
        assert!(
            t.on_frame(layer, &[1], false, false, now),
            "a gap breaks it"
        );
        assert!(
            t.on_frame(layer, &[1], false, true, now),
            "whole frames after do not mend it"
        );
        assert_eq!(t.broken_layers(), vec![layer]);
        assert!(!t.on_frame(layer, &[1], true, true, now), "a keyframe does");
        assert!(t.broken_layers().is_empty());
    }

    #[test]
    fn meter_reports_bitrate_and_activity() {
        let t0 = Instant::now();
        let mut t = PublishedTrack::new(Mid::from("0"), MediaKind::Video, &[], (640, 360));
        // 1250 bytes every 10 ms = 1 Mbit/s.
        for i in 0..=100 {
            let now = t0 + Duration::from_millis(10 * i);
            t.on_frame(LayerKey(None), &[1; 1250], false, true, now);
        }
        let info = t.layer_infos(t0 + Duration::from_millis(1000));
        assert!(info[0].active);
        let bps = info[0].bitrate_bps;
        assert!((950_000..=1_050_000).contains(&bps), "{bps}");
        let later = t.layer_infos(t0 + Duration::from_secs(5));
        assert!(!later[0].active);
        // Unmeasured (stale) layers fall back to a nominal rate for their size.
        assert_eq!(later[0].bitrate_bps, 640 * 360 * 3);
    }
}
