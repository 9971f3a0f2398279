//! Per-subscription forwarding decision: which incoming packets of a track one subscriber gets.
//!
//! A decoder can only start on, or move to another layer at, a keyframe. So a
//! subscription keeps forwarding its current layer until a keyframe of the target
//! layer arrives, then switches on exactly the packet that opens it. Pure state, no I/O.

use str0m::media::Rid;

/// One simulcast layer of a track: its rid, or `None` for a track sent without simulcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerKey(pub Option<Rid>);

/// What to do with one incoming packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Drop,
    Forward,
    /// Forward, and this packet opens a new run (another layer, or the first): renumber from it.
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

    /// `opens_keyframe`: the packet is the first of a keyframe.
    pub fn on_packet(&mut self, layer: LayerKey, opens_keyframe: bool) -> Decision {
        let Some(target) = self.target else {
            return Decision::Drop;
        };
        if layer == target && self.current == Some(target) {
            return Decision::Forward;
        }
        if layer == target && opens_keyframe {
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
        assert_eq!(s.on_packet(key("h"), false), Decision::Drop);
        assert_eq!(s.on_packet(key("h"), true), Decision::ForwardSwitched);
        assert_eq!(s.on_packet(key("h"), false), Decision::Forward);
        assert!(!s.awaiting_keyframe());
    }

    #[test]
    fn other_layers_are_dropped() {
        let mut s = LayerSwitch::default();
        s.set_target(Some(key("l")));
        s.on_packet(key("l"), true);
        assert_eq!(s.on_packet(key("h"), true), Decision::Drop);
        assert_eq!(s.on_packet(key("m"), false), Decision::Drop);
    }

    #[test]
    fn switch_keeps_old_layer_until_target_keyframe() {
        let mut s = LayerSwitch::default();
        s.set_target(Some(key("l")));
        s.on_packet(key("l"), true);
        s.set_target(Some(key("h")));
        assert!(s.awaiting_keyframe());
        assert_eq!(s.on_packet(key("l"), false), Decision::Forward);
        assert_eq!(s.on_packet(key("h"), false), Decision::Drop);
        assert_eq!(s.on_packet(key("h"), true), Decision::ForwardSwitched);
        assert_eq!(s.on_packet(key("l"), false), Decision::Drop);
        assert_eq!(s.current(), Some(key("h")));
    }

    #[test]
    fn pause_is_immediate() {
        let mut s = LayerSwitch::default();
        s.set_target(Some(key("l")));
        s.on_packet(key("l"), true);
        s.set_target(None);
        assert_eq!(s.on_packet(key("l"), true), Decision::Drop);
        assert!(!s.awaiting_keyframe());
    }
}
