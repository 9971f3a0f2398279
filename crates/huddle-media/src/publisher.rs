//! The publishing side of a participant: tracks it sends to the SFU, their simulcast
//! layers, how fast each layer arrives, and the keyframe request limiter per layer.

use std::time::{Duration, Instant};

use str0m::format::{CodecConfig, PayloadParams};
use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;
use str0m::Rtc;

use crate::forward::LayerKey;
use crate::keyframe::KeyframeLimiter;
use crate::layer::LayerInfo;
use crate::loss::LossWatch;
use crate::packet::Packet;

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
    /// The codec of the payload type last received: looked up once, not per packet.
    params: Option<PayloadParams>,
}

#[derive(Debug)]
pub struct PublishedLayer {
    pub key: LayerKey,
    /// Frame size: from the codec when known (VP8 keyframes), else assumed.
    pub width: u32,
    pub height: u32,
    meter: BitrateMeter,
    last_packet: Option<Instant>,
    /// The stream its packets come on.
    ssrc: Option<Ssrc>,
    /// RTP time of the newest frame begun.
    frame_time: Option<u64>,
    limiter: KeyframeLimiter,
    loss: LossWatch,
    /// A loss the NACKs could not repair broke the layer and no keyframe came since: every
    /// decoder downstream waits for one, so it is asked for until it comes.
    broken: bool,
}

/// What one packet tells of its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerNews {
    /// A new frame begins with it.
    pub frame_start: bool,
    /// It came on another stream than the layer's previous packets (the publisher's encoder
    /// started again): sequence numbers and times begin anew.
    pub restart: bool,
    /// The layer waits for a keyframe since a loss (see [`PublishedTrack::broken_layers`]).
    pub broken: bool,
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
                    last_packet: None,
                    ssrc: None,
                    frame_time: None,
                    limiter: KeyframeLimiter::default(),
                    loss: LossWatch::default(),
                    broken: false,
                }
            })
            .collect();
        PublishedTrack {
            mid,
            kind,
            layers,
            params: None,
        }
    }

    /// The codec of payload type `pt`, as negotiated with the publisher.
    pub fn params(&mut self, pt: Pt, codecs: &CodecConfig) -> Option<PayloadParams> {
        if self.params.is_none_or(|p| p.pt() != pt) {
            self.params = codecs.params().iter().find(|p| p.pt() == pt).copied();
        }
        self.params
    }

    /// Accounts one incoming packet. Unknown rids are ignored, never trusted.
    pub fn on_packet(&mut self, packet: &Packet) -> LayerNews {
        let Some(layer) = self.layers.iter_mut().find(|l| l.key == packet.layer) else {
            return LayerNews::default();
        };
        let restart = layer.ssrc.is_some_and(|s| s != packet.ssrc);
        layer.ssrc = Some(packet.ssrc);
        if restart {
            layer.frame_time = None;
            layer.loss = LossWatch::default();
        }
        let now = packet.network_time;
        let time = packet.time.numer();
        // A packet of an older frame (reordered, or retransmitted) begins nothing.
        let frame_start = layer.frame_time.is_none_or(|t| time > t);
        if frame_start {
            layer.frame_time = Some(time);
        }
        layer.meter.add(packet.payload.len(), now);
        layer.last_packet = Some(now);
        let lost = layer.loss.on_packet(*packet.seq, packet.keyframe, now);
        layer.broken = !packet.keyframe && (layer.broken || lost);
        if packet.keyframe {
            layer.limiter.on_keyframe();
        }
        if let Some((w, h)) = packet.vp8_keyframe_size() {
            layer.width = u32::from(w);
            layer.height = u32::from(h);
        }
        LayerNews {
            frame_start,
            restart,
            broken: layer.broken,
        }
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
                    .last_packet
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
        // No stream before the first packet of the layer arrived; the caller retries on its
        // next tick, so this is not an error. After a restart str0m has moved the same stream
        // to the new SSRC, so the mid and rid find the current one.
        let mut api = rtc.direct_api();
        let Some(stream) = api.stream_rx_by_mid(self.mid, key.0) else {
            return false;
        };
        stream.request_keyframe(kind);
        true
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

#[cfg(test)]
mod tests {
    use str0m::format::{Codec, CodecSpec, FormatParams};
    use str0m::media::{Frequency, MediaTime};

    use super::*;
    use crate::loss::GIVE_UP_AFTER;

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

    fn packet(seq: u64, time: u64, bytes: usize, keyframe: bool, now: Instant) -> Packet {
        let spec = CodecSpec {
            codec: Codec::Vp8,
            clock_rate: Frequency::NINETY_KHZ,
            channels: None,
            format: FormatParams::default(),
        };
        Packet {
            layer: LayerKey(None),
            ssrc: 1.into(),
            restart: false,
            params: PayloadParams::new(Pt::from(96), None, spec),
            seq: seq.into(),
            time: MediaTime::new(time, Frequency::NINETY_KHZ),
            marker: false,
            network_time: now,
            payload: vec![0; bytes].into(),
            keyframe,
            frame_start: false,
            audio_level: None,
            vp8: None,
        }
    }

    #[test]
    fn a_layer_broken_by_loss_stays_broken_until_a_keyframe() {
        let t0 = Instant::now();
        let mut t = PublishedTrack::new(Mid::from("1"), MediaKind::Video, &[], (640, 360));
        assert!(!t.on_packet(&packet(1, 0, 1, true, t0)).broken);
        assert!(
            !t.on_packet(&packet(3, 3000, 1, false, t0)).broken,
            "2 may still come"
        );
        let late = t0 + GIVE_UP_AFTER;
        assert!(
            t.on_packet(&packet(4, 6000, 1, false, late)).broken,
            "2 never came"
        );
        assert!(
            t.on_packet(&packet(5, 9000, 1, false, late)).broken,
            "whole frames after do not mend it"
        );
        assert_eq!(t.broken_layers(), vec![LayerKey(None)]);
        assert!(
            !t.on_packet(&packet(6, 12_000, 1, true, late)).broken,
            "a keyframe does"
        );
        assert!(t.broken_layers().is_empty());
    }

    #[test]
    fn a_frame_begins_with_its_first_packet_of_a_newer_time() {
        let t0 = Instant::now();
        let mut t = PublishedTrack::new(Mid::from("1"), MediaKind::Video, &[], (640, 360));
        let starts: Vec<bool> = [(1, 0), (2, 0), (4, 3000), (3, 0), (5, 3000), (6, 6000)]
            .into_iter()
            .map(|(seq, time)| t.on_packet(&packet(seq, time, 1, false, t0)).frame_start)
            .collect();
        assert_eq!(starts, [true, false, true, false, false, true]);
    }

    #[test]
    fn meter_reports_bitrate_and_activity() {
        let t0 = Instant::now();
        let mut t = PublishedTrack::new(Mid::from("0"), MediaKind::Video, &[], (640, 360));
        // 1250 bytes every 10 ms = 1 Mbit/s.
        for i in 0..=100 {
            let now = t0 + Duration::from_millis(10 * i);
            t.on_packet(&packet(i, i * 900, 1250, false, now));
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
