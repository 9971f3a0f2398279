//! What subscribers count: packets and frames received, frames lost (gaps in
//! the stamps' counters), latency samples and join times; and the percentile
//! math of the report.

use std::time::Duration;

use super::stamp::Stamp;

/// Gaps in one received track's stamp counters. A layer switch starts the
/// count afresh: frames of the layer not forwarded are not lost.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sequence {
    last: Option<(u8, u32)>,
}

impl Sequence {
    /// Frames missing just before `stamp` (0 for the next one in order, a
    /// late one, or the first of a layer).
    pub fn observe(&mut self, stamp: &Stamp) -> u64 {
        let gap = match self.last {
            Some((layer, seq)) if layer == stamp.layer => {
                if stamp.seq <= seq {
                    return 0; // late or repeated: not the newest
                }
                u64::from(stamp.seq - seq - 1)
            }
            _ => 0,
        };
        self.last = Some((stamp.layer, stamp.seq));
        gap
    }
}

/// The counts of all subscribers over the measurement window.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub packets: u64,
    pub frames: u64,
    pub lost_frames: u64,
    /// Publisher write to subscriber receipt, per frame, in µs.
    pub latency_us: Vec<u64>,
}

impl Tally {
    pub fn record(&mut self, packets: u64, latency: Duration, gap: u64) {
        self.packets += packets;
        self.frames += 1;
        self.lost_frames += gap;
        self.latency_us.push(latency.as_micros() as u64);
    }

    /// Share of frames that did not arrive.
    pub fn loss(&self) -> f64 {
        let expected = self.frames + self.lost_frames;
        if expected == 0 {
            return 0.0;
        }
        self.lost_frames as f64 / expected as f64
    }
}

/// The `p`th percentile (0-100) by nearest rank; `None` when empty.
pub fn percentile(values: &[u64], p: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(layer: u8, seq: u32) -> Stamp {
        Stamp {
            layer,
            seq,
            sent_us: 0,
        }
    }

    #[test]
    fn gaps_in_a_layer_are_lost_frames_and_switches_are_not() {
        let mut s = Sequence::default();
        assert_eq!(s.observe(&stamp(0, 10)), 0);
        assert_eq!(s.observe(&stamp(0, 11)), 0);
        assert_eq!(s.observe(&stamp(0, 14)), 2);
        assert_eq!(s.observe(&stamp(0, 13)), 0, "late");
        assert_eq!(s.observe(&stamp(2, 500)), 0, "switched up");
        assert_eq!(s.observe(&stamp(2, 502)), 1);
    }

    #[test]
    fn loss_is_the_share_of_frames_missing() {
        let mut t = Tally::default();
        t.record(3, Duration::from_micros(900), 0);
        t.record(3, Duration::from_micros(1100), 1);
        assert_eq!(t.packets, 6);
        assert!((t.loss() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(Tally::default().loss(), 0.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
