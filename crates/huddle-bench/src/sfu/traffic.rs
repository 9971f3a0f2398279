//! What a synthetic publisher sends: VP8 layers of realistic sizes and rates
//! and Opus packets, on a cadence. Pure numbers; the peer writes them.

use std::time::{Duration, Instant};

/// One video encoding: a simulcast layer or a single-layer camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    pub rid: Option<&'static str>,
    pub kbps: u32,
    pub fps: u32,
    pub width: u16,
    pub height: u16,
}

/// A browser camera's simulcast ladder, lowest first (as the SFU wants it).
pub const SIMULCAST: [Layer; 3] = [
    Layer {
        rid: Some("q"),
        kbps: 150,
        fps: 15,
        width: 320,
        height: 180,
    },
    Layer {
        rid: Some("h"),
        kbps: 500,
        fps: 30,
        width: 640,
        height: 360,
    },
    Layer {
        rid: Some("f"),
        kbps: 1500,
        fps: 30,
        width: 1280,
        height: 720,
    },
];

/// The webinar's presenter: one ~1 Mbps 720p layer.
pub const PRESENTER: [Layer; 1] = [Layer {
    rid: None,
    kbps: 1000,
    fps: 30,
    width: 1280,
    height: 720,
}];

/// Opus at 20 ms frames: 50 packets/s of 60-100 bytes (speech at ~32 kbps).
pub const OPUS_BYTES: usize = 80;
pub const OPUS_INTERVAL: Duration = Duration::from_millis(20);

/// RTP payload bytes per packet str0m's packetizer makes of a frame (its MTU
/// less SRTP, RTP header, extensions and the VP8 descriptor), for the floor's
/// packet sizes.
const PACKET_PAYLOAD: usize = 1100;
/// RTP header, the header extensions str0m writes and the 16-byte GCM tag.
const PACKET_OVERHEAD: usize = 12 + 24 + 16;

impl Layer {
    pub fn frame_bytes(&self) -> usize {
        (self.kbps as usize * 1000 / 8) / self.fps as usize
    }

    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.fps
    }

    /// The datagrams one second of this layer makes on the wire.
    pub fn packets_per_second(&self) -> Vec<usize> {
        let frame = self.frame_bytes();
        let packets = frame.div_ceil(PACKET_PAYLOAD).max(1);
        let size = frame / packets + PACKET_OVERHEAD;
        vec![size; packets * self.fps as usize]
    }
}

/// The datagrams one second of Opus makes on the wire.
pub fn audio_packets_per_second() -> Vec<usize> {
    let per_second = (Duration::from_secs(1).as_micros() / OPUS_INTERVAL.as_micros()) as usize;
    vec![OPUS_BYTES + PACKET_OVERHEAD; per_second]
}

/// A fixed-rate clock: due once per interval, catching up at most one tick
/// when the loop was late, so a stalled generator does not send bursts.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    interval: Duration,
    next: Instant,
}

impl Cadence {
    pub fn new(interval: Duration, start: Instant) -> Self {
        Cadence {
            interval,
            next: start,
        }
    }

    /// Whether a tick is due at `now`; takes it if so.
    pub fn take(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next += self.interval;
        if self.next <= now {
            self.next = now + self.interval;
        }
        true
    }

    pub fn next(&self) -> Instant {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_sizes_follow_bitrate_and_frame_rate() {
        assert_eq!(SIMULCAST[0].frame_bytes(), 1250);
        assert_eq!(PRESENTER[0].frame_bytes(), 4166);
        // 4,166 bytes make four packets a frame, 120 a second.
        let second = PRESENTER[0].packets_per_second();
        assert_eq!(second.len(), 120);
        let bytes: usize = second.iter().map(|s| s - PACKET_OVERHEAD).sum();
        assert!(bytes.abs_diff(125_000) < 200, "{bytes}");
        assert_eq!(audio_packets_per_second().len(), 50);
    }

    #[test]
    fn a_cadence_ticks_once_per_interval_and_never_bursts() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut c = Cadence::new(ms(20), start);
        assert!(c.take(start));
        assert!(!c.take(start + ms(5)));
        assert!(c.take(start + ms(20)));
        // Late by three intervals: one tick now, the next a full interval on.
        assert!(c.take(start + ms(100)));
        assert!(!c.take(start + ms(101)));
        assert_eq!(c.next(), start + ms(120));
    }
}
