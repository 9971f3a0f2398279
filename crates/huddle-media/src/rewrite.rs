//! What one subscriber's copy of a track's packets is renumbered to. A subscription forwards one
//! run of packets at a time (a simulcast layer from one of its keyframes on), and a new run (another
//! layer, or the same one again after packets were skipped) is another numbering: the sequence
//! numbers, RTP times and VP8 picture ids the subscriber sees must go on where they stopped, or its
//! receiver reads a loss, a huge delay, or frames referring to pictures it never had.
//! Pure state, no I/O.

use str0m::rtp::{Vp8Descriptor, Vp8Patch};

/// Sequence numbers of the packets sent: gapless across runs, and across what a subscription
/// skipped, so the subscriber asks for no retransmission of what it was never meant to get; a gap
/// within a run (a packet lost upstream) stays a gap, filled when its retransmission comes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeqRebase {
    /// Added (wrapping) to the incoming sequence numbers of the current run.
    offset: u64,
    /// One past the highest number sent; `None` before the first packet.
    next: Option<u64>,
    /// The incoming number the current run began at: what comes from before it is not sent.
    start: u64,
}

impl SeqRebase {
    /// Maps an incoming (extended) sequence number to the outgoing one; `None` for a late packet
    /// from before the current run. A new run, and the very first packet, continue right after the
    /// highest number sent.
    pub fn map(&mut self, incoming: u64, new_run: bool) -> Option<u64> {
        if new_run || self.next.is_none() {
            // The first number sent keeps within 16 bits: SRTP's rollover counter starts at zero.
            let wanted = self.next.unwrap_or(incoming & 0xffff);
            self.offset = wanted.wrapping_sub(incoming);
            self.start = incoming;
        } else if incoming < self.start {
            return None;
        }
        let out = incoming.wrapping_add(self.offset);
        let next = out.wrapping_add(1);
        self.next = Some(self.next.map_or(next, |n| n.max(next)));
        Some(out)
    }
}

/// VP8 picture ids (15 bits) and TL0PICIDX (8 bits) continuous across runs: each simulcast layer
/// counts its own, and a receiver reads a jump as frames it missed.
#[derive(Debug, Clone, Copy, Default)]
pub struct PictureIds {
    picture_id_offset: u16,
    tl0_offset: u8,
    /// The last picture id and TL0PICIDX sent.
    last: Option<(u16, u8)>,
}

const PICTURE_ID_MASK: u16 = 0x7fff;

impl PictureIds {
    /// The patch that renumbers this packet's descriptor; `None` while nothing needs renumbering
    /// (the first run keeps its numbers) or the descriptor cannot take it (7-bit picture ids).
    pub fn patch(&mut self, descriptor: &Vp8Descriptor, new_run: bool) -> Option<Vp8Patch> {
        let picture_id = descriptor.picture_id()?;
        let tl0 = descriptor.tl0_pic_idx().unwrap_or(0);
        if new_run {
            if let Some((last_id, last_tl0)) = self.last {
                self.picture_id_offset = last_id.wrapping_add(1).wrapping_sub(picture_id);
                self.tl0_offset = last_tl0.wrapping_add(1).wrapping_sub(tl0);
            }
        }
        let out_id = picture_id.wrapping_add(self.picture_id_offset) & PICTURE_ID_MASK;
        let out_tl0 = tl0.wrapping_add(self.tl0_offset);
        self.last = Some((out_id, out_tl0));
        if (self.picture_id_offset & PICTURE_ID_MASK, self.tl0_offset) == (0, 0) {
            return None;
        }
        let mut patch = descriptor.patch().picture_id(out_id);
        if descriptor.tl0_pic_idx().is_some() {
            patch = patch.tl0_pic_idx(out_tl0);
        }
        patch.build().ok()
    }
}

/// Keeps outgoing RTP time monotonic and continuous across layer switches.
///
/// Each simulcast layer is its own RTP stream with its own random timestamp
/// offset, so the raw times jump on a switch. The receiver's jitter buffer reads a
/// jump as a huge delay or reordering; instead, the first frame of a new layer is
/// placed one nominal frame after the last frame sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRebase {
    /// Added (wrapping) to the incoming time of the current layer.
    offset: u64,
    last_out: Option<u64>,
}

impl TimeRebase {
    /// Maps an incoming time (in the track's clock rate) to the outgoing one.
    /// `frame_ticks` is the nominal distance of one frame, used only on a switch.
    pub fn map(&mut self, incoming: u64, switched: bool, frame_ticks: u64) -> u64 {
        if switched {
            if let Some(last) = self.last_out {
                let wanted = last.wrapping_add(frame_ticks);
                self.offset = wanted.wrapping_sub(incoming);
            }
        }
        let out = incoming.wrapping_add(self.offset);
        self.last_out = Some(out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_packet_keeps_its_number_within_16_bits() {
        let mut s = SeqRebase::default();
        assert_eq!(s.map(70_000, false), Some(70_000 & 0xffff));
        assert_eq!(s.map(70_001, false), Some((70_000 & 0xffff) + 1));
    }

    #[test]
    fn a_new_run_continues_after_the_highest_number_sent() {
        let mut s = SeqRebase::default();
        s.map(100, true);
        s.map(102, false);
        // 101 is late, still inside the run: it fills its gap.
        assert_eq!(s.map(101, false), Some(101));
        assert_eq!(s.map(9_000, true), Some(103));
        assert_eq!(s.map(9_001, false), Some(104));
        assert_eq!(s.map(8_999, false), None, "from before the run");
    }

    fn vp8(picture_id: u16, tl0: u8) -> [u8; 7] {
        let [hi, lo] = picture_id.to_be_bytes();
        // X and S set; I, L and T present; a 15-bit picture id; then one payload byte.
        [0x90, 0xe0, 0x80 | hi, lo, tl0, 0x20, 0x00]
    }

    fn descriptor(payload: &[u8]) -> Vp8Descriptor {
        Vp8Descriptor::parse(payload).unwrap()
    }

    #[test]
    fn picture_ids_of_the_first_run_are_kept() {
        let mut p = PictureIds::default();
        assert_eq!(p.patch(&descriptor(&vp8(5, 16)), true), None);
        assert_eq!(p.patch(&descriptor(&vp8(6, 16)), false), None);
    }

    #[test]
    fn picture_ids_continue_across_a_new_run() {
        let mut p = PictureIds::default();
        p.patch(&descriptor(&vp8(5, 16)), true);
        p.patch(&descriptor(&vp8(6, 17)), false);
        let other = descriptor(&vp8(1_000, 3));
        let expected = other.patch().picture_id(7).tl0_pic_idx(18).build().ok();
        assert_eq!(p.patch(&other, true), expected);
        let next = descriptor(&vp8(1_001, 4));
        let expected = next.patch().picture_id(8).tl0_pic_idx(19).build().ok();
        assert_eq!(p.patch(&next, false), expected);
    }

    #[test]
    fn picture_ids_wrap_at_15_bits() {
        let mut p = PictureIds::default();
        p.patch(&descriptor(&vp8(0x7fff, 255)), true);
        let other = descriptor(&vp8(40, 9));
        let expected = other.patch().picture_id(0).tl0_pic_idx(0).build().ok();
        assert_eq!(p.patch(&other, true), expected);
    }

    #[test]
    fn rebase_is_identity_until_a_switch() {
        let mut r = TimeRebase::default();
        assert_eq!(r.map(1000, true, 3000), 1000);
        assert_eq!(r.map(4000, false, 3000), 4000);
    }

    #[test]
    fn rebase_makes_switch_continuous() {
        let mut r = TimeRebase::default();
        r.map(1000, true, 3000);
        r.map(4000, false, 3000);
        // The new layer's clock is somewhere else entirely.
        assert_eq!(r.map(900_000, true, 3000), 7000);
        assert_eq!(r.map(903_000, false, 3000), 10_000);
    }

    #[test]
    fn rebase_wraps_instead_of_panicking() {
        let mut r = TimeRebase::default();
        r.map(u64::MAX - 10, true, 3000);
        assert_eq!(r.map(5, true, 3000), (u64::MAX - 10).wrapping_add(3000));
    }
}
