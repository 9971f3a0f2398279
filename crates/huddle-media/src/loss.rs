//! Packets missing on one incoming layer, until their retransmission comes or they are given up.
//!
//! The SFU forwards packets as they come, so a packet lost between the publisher and the SFU is a
//! gap downstream too, filled when str0m's NACK gets it again. One it never gets breaks every
//! decoder downstream until the next keyframe, and a browser can take seconds to ask for one
//! itself: the publisher's worker notices first and asks at once. Pure state, no I/O.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a missing packet may take to come again before it counts as lost: a few NACK round
/// trips (frame-level forwarding gave up after 30 packets reordered, about as long at 1 Mbps).
pub const GIVE_UP_AFTER: Duration = Duration::from_millis(300);
/// Missing packets remembered; a larger gap counts as lost at once.
const MAX_MISSING: u64 = 128;

#[derive(Debug, Default)]
pub struct LossWatch {
    highest: Option<u64>,
    /// Missing sequence numbers, lowest first, with when their gap was seen.
    missing: VecDeque<(u64, Instant)>,
}

impl LossWatch {
    /// Accounts an arrived packet; `opens_keyframe`: decoders start again here, so what is
    /// missing before it no longer matters. Returns whether a packet is now lost for good.
    pub fn on_packet(&mut self, seq: u64, opens_keyframe: bool, now: Instant) -> bool {
        let mut lost = false;
        match self.highest {
            Some(highest) if seq > highest => {
                let gap = seq - highest - 1;
                if gap > MAX_MISSING {
                    self.missing.clear();
                    lost = true;
                } else {
                    self.missing.extend((highest + 1..seq).map(|s| (s, now)));
                }
                self.highest = Some(seq);
            }
            Some(_) => self.missing.retain(|(s, _)| *s != seq),
            None => self.highest = Some(seq),
        }
        if opens_keyframe {
            self.missing.retain(|(s, _)| *s > seq);
            return false;
        }
        while let Some((_, since)) = self.missing.front() {
            if now.saturating_duration_since(*since) < GIVE_UP_AFTER {
                break;
            }
            self.missing.pop_front();
            lost = true;
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATER: Duration = GIVE_UP_AFTER;

    #[test]
    fn a_retransmission_in_time_is_no_loss() {
        let t0 = Instant::now();
        let mut w = LossWatch::default();
        assert!(!w.on_packet(1, false, t0));
        assert!(!w.on_packet(3, false, t0));
        assert!(!w.on_packet(2, false, t0 + LATER / 2));
        assert!(!w.on_packet(4, false, t0 + LATER * 2));
    }

    #[test]
    fn a_packet_that_never_comes_is_lost_once() {
        let t0 = Instant::now();
        let mut w = LossWatch::default();
        w.on_packet(1, false, t0);
        w.on_packet(3, false, t0);
        assert!(!w.on_packet(4, false, t0 + LATER / 2));
        assert!(w.on_packet(5, false, t0 + LATER));
        assert!(!w.on_packet(6, false, t0 + LATER * 2));
    }

    #[test]
    fn a_keyframe_forgives_what_came_before_it() {
        let t0 = Instant::now();
        let mut w = LossWatch::default();
        w.on_packet(1, false, t0);
        w.on_packet(3, false, t0);
        assert!(!w.on_packet(4, true, t0 + LATER));
        assert!(!w.on_packet(5, false, t0 + LATER * 2));
    }

    #[test]
    fn a_huge_gap_is_lost_at_once() {
        let t0 = Instant::now();
        let mut w = LossWatch::default();
        w.on_packet(1, false, t0);
        assert!(w.on_packet(1_000_000, false, t0));
        assert!(!w.on_packet(1_000_001, false, t0 + LATER));
    }
}
