//! The bench's mark in every media payload: which layer and frame it is and
//! when the publisher wrote it, so a subscriber tells latency and loss without
//! decoding anything. It sits in the last bytes of the payload, away from the
//! VP8 header the SFU reads and from the Opus TOC byte.

use std::time::{Duration, Instant};

/// Bytes the stamp takes at the end of a payload.
pub const LEN: usize = 14;
const MAGIC: u8 = 0xb7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The simulcast layer (0 lowest) or 0 for audio and single-layer video.
    pub layer: u8,
    /// Frame (or audio packet) counter of that layer, from 0.
    pub seq: u32,
    /// When the publisher wrote it, in µs since the generator's [`Epoch`].
    pub sent_us: u64,
}

impl Stamp {
    /// Writes the stamp over the last [`LEN`] bytes of `payload`.
    pub fn write(&self, payload: &mut [u8]) {
        assert!(
            payload.len() >= LEN,
            "payloads are made longer than a stamp"
        );
        let tail = payload.len() - LEN;
        let out = &mut payload[tail..];
        out[0] = MAGIC;
        out[1] = self.layer;
        out[2..6].copy_from_slice(&self.seq.to_be_bytes());
        out[6..14].copy_from_slice(&self.sent_us.to_be_bytes());
    }

    /// The stamp at the end of `payload`, if it carries one.
    pub fn read(payload: &[u8]) -> Option<Stamp> {
        let tail = payload.len().checked_sub(LEN)?;
        let s = &payload[tail..];
        (s[0] == MAGIC).then(|| Stamp {
            layer: s[1],
            seq: u32::from_be_bytes(s[2..6].try_into().expect("4 bytes")),
            sent_us: u64::from_be_bytes(s[6..14].try_into().expect("8 bytes")),
        })
    }
}

/// The generator's time origin: publishers and subscribers live in one
/// process, so one `Instant` serves both ends.
#[derive(Debug, Clone, Copy)]
pub struct Epoch(pub Instant);

impl Epoch {
    pub fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.0).as_micros() as u64
    }

    /// Time from `sent_us` to `at`.
    pub fn since(&self, sent_us: u64, at: Instant) -> Duration {
        Duration::from_micros(self.micros(at).saturating_sub(sent_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_survives_the_payload_round_trip() {
        let stamp = Stamp {
            layer: 2,
            seq: 70_000,
            sent_us: 1 << 40,
        };
        let mut payload = vec![0x10; 100];
        stamp.write(&mut payload);
        assert_eq!(payload[0], 0x10, "the head of the payload is untouched");
        assert_eq!(Stamp::read(&payload), Some(stamp));
    }

    #[test]
    fn unstamped_or_short_payloads_have_no_stamp() {
        assert_eq!(Stamp::read(&[0u8; 100]), None);
        assert_eq!(Stamp::read(&[MAGIC; 5]), None);
    }

    #[test]
    fn latency_is_measured_from_the_epoch() {
        let start = Instant::now();
        let epoch = Epoch(start);
        let later = start + Duration::from_millis(7);
        let sent = epoch.micros(start + Duration::from_millis(2));
        assert_eq!(epoch.since(sent, later), Duration::from_millis(5));
        assert_eq!(epoch.since(sent + 10_000, later), Duration::ZERO);
    }
}
