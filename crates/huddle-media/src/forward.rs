//! Per-subscription forwarding decision: which incoming frames of a track one
//! subscriber gets, and how their RTP time is kept continuous across layer switches.
//!
//! A decoder can only start on, or move to another layer at, a keyframe. So a
//! subscription keeps forwarding its current layer until a keyframe of the target
//! layer arrives, then switches on exactly that frame. Pure state, no I/O.

use str0m::media::Rid;

/// One simulcast layer of a track: its rid, or `None` for a track sent without simulcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerKey(pub Option<Rid>);

/// What to do with one incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Drop,
    Forward,
    /// Forward, and this frame starts a new layer (or the first one): rebase time.
    ForwardSwitched,
}

/// The layer a subscription forwards and the one it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerSwitch {
    /// `None`: paused (hidden tile, or no layer available).
    target: Option<LayerKey>,
    /// `None`: nothing is being forwarded, a keyframe of `target` is awaited.
    current: Option<LayerKey>,
}

impl LayerSwitch {
    pub fn target(&self) -> Option<LayerKey> {
        self.target
    }

    pub fn current(&self) -> Option<LayerKey> {
        self.current
    }

    /// Sets the wanted layer. Pausing takes effect at once: there is no reason to keep
    /// sending an invisible tile until some later frame.
    pub fn set_target(&mut self, target: Option<LayerKey>) {
        self.target = target;
        if target.is_none() {
            self.current = None;
        }
    }

    /// True while a keyframe on the target layer is needed to make progress.
    pub fn awaiting_keyframe(&self) -> bool {
        self.target.is_some() && self.current != self.target
    }

    /// Forgets the current layer, e.g. when the subscriber's decoder lost its state.
    pub fn restart(&mut self) {
        self.current = None;
    }

    pub fn on_frame(&mut self, layer: LayerKey, is_keyframe: bool) -> Decision {
        let Some(target) = self.target else {
            return Decision::Drop;
        };
        if layer == target && self.current == Some(target) {
            return Decision::Forward;
        }
        if layer == target && is_keyframe {
            self.current = Some(target);
            return Decision::ForwardSwitched;
        }
        if Some(layer) == self.current {
            // Keep the old layer flowing until the target's keyframe arrives.
            return Decision::Forward;
        }
        Decision::Drop
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

    fn key(rid: &str) -> LayerKey {
        LayerKey(Some(rid.into()))
    }

    #[test]
    fn waits_for_keyframe_before_first_frame() {
        let mut s = LayerSwitch::default();
        s.set_target(Some(key("h")));
        assert!(s.awaiting_keyframe());
        assert_eq!(s.on_frame(key("h"), false), Decision::Drop);
        assert_eq!(s.on_frame(key("h"), true), Decision::ForwardSwitched);
        assert_eq!(s.on_frame(key("h"), false), Decision::Forward);
        assert!(!s.awaiting_keyframe());
    }

    #[test]
    fn other_layers_are_dropped() {
        let mut s = LayerSwitch::default();
        s.set_target(Some(key("l")));
        s.on_frame(key("l"), true);
        assert_eq!(s.on_frame(key("h"), true), Decision::Drop);
        assert_eq!(s.on_frame(key("m"), false), Decision::Drop);
    }

    #[test]
    fn switch_keeps_old_layer_until_target_keyframe() {
        let mut s = LayerSwitch::default();
        s.set_target(Some(key("l")));
        s.on_frame(key("l"), true);
        s.set_target(Some(key("h")));
        assert!(s.awaiting_keyframe());
        assert_eq!(s.on_frame(key("l"), false), Decision::Forward);
        assert_eq!(s.on_frame(key("h"), false), Decision::Drop);
        assert_eq!(s.on_frame(key("h"), true), Decision::ForwardSwitched);
        assert_eq!(s.on_frame(key("l"), false), Decision::Drop);
        assert_eq!(s.current(), Some(key("h")));
    }

    #[test]
    fn pause_is_immediate() {
        let mut s = LayerSwitch::default();
        s.set_target(Some(key("l")));
        s.on_frame(key("l"), true);
        s.set_target(None);
        assert_eq!(s.on_frame(key("l"), true), Decision::Drop);
        assert!(!s.awaiting_keyframe());
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
