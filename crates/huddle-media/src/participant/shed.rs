//! What a participant gives up as a subscriber while its worker sheds load.

use str0m::media::MediaKind;

use super::Participant;
use crate::forward::LayerKey;
use crate::ids::TrackId;

impl Participant {
    /// The video tracks this participant shows, with the pixels of each tile: the smaller the
    /// tile, the colder, and the sooner it is shed.
    pub fn shown_video(&self) -> impl Iterator<Item = (TrackId, u64)> + '_ {
        self.subscriptions
            .iter()
            .filter(|s| s.kind == MediaKind::Video && s.spec.visible && s.open_mid().is_some())
            .map(|s| (s.track, u64::from(s.spec.width) * u64::from(s.spec.height)))
    }

    /// Sends only keyframes of `track`, or everything again. Back to everything, the decoder
    /// needs a keyframe before the next delta frame.
    pub fn set_keyframes_only(&mut self, track: TrackId, keyframes_only: bool) {
        let Some(sub) = self.subscriptions.iter_mut().find(|s| s.track == track) else {
            return;
        };
        if sub.keyframes_only && !keyframes_only {
            sub.layers.restart();
        }
        sub.keyframes_only = keyframes_only;
    }

    /// How many of its video subscriptions get keyframes only.
    pub fn keyframes_only(&self) -> usize {
        self.subscriptions
            .iter()
            .filter(|s| s.keyframes_only)
            .count()
    }

    /// The layers its keyframes-only subscriptions wait on, for the worker's periodic refresh.
    pub fn keyframes_only_layers(&self) -> impl Iterator<Item = (TrackId, LayerKey)> + '_ {
        self.subscriptions
            .iter()
            .filter(|s| s.keyframes_only)
            .filter_map(|s| Some((s.track, s.layers.target()?)))
    }

    /// A frame of `track` was not sent (it came too late): the decoder waits for a keyframe.
    pub fn missed_frame(&mut self, track: TrackId) {
        if let Some(sub) = self.subscriptions.iter_mut().find(|s| s.track == track) {
            sub.layers.restart();
        }
    }
}
