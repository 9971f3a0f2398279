//! Periodic work of the worker: layer selection, keyframe retries, active speaker,
//! data channel backlogs.
//!
//! Done on a tick rather than per packet: bitrates and speaking levels change on the
//! scale of hundreds of milliseconds, and the work is per subscription, not per packet.

use std::collections::HashMap;
use std::time::Instant;

use str0m::media::{KeyframeRequestKind, MediaKind};

use crate::event::SfuEvent;
use crate::forward::LayerKey;
use crate::ids::TrackId;
use crate::layer::{
    damp_upswitch, select_layer, video_budget_per_track, LayerInfo, UP_HEADROOM_PERCENT,
};
use crate::outbox::Propagated;
use crate::sfu::Sfu;

impl Sfu {
    pub(crate) fn tick(&mut self, now: Instant) {
        self.next_tick = now + self.config.tick;
        for room in self.rooms.values_mut() {
            if let Some(participant) = room.speaker.decide(now) {
                self.out.events.push_back(SfuEvent::ActiveSpeaker {
                    room: room.id,
                    participant,
                });
            }
        }
        self.select_layers(now);
        self.repair_broken_layers(now);
        self.drain_channel_backlogs();
    }

    /// Asks again for the keyframe a broken publisher layer needs: the request or the keyframe
    /// itself may have been lost, and the frames after it arrive whole, so nothing else would.
    fn repair_broken_layers(&mut self, now: Instant) {
        for p in self.participants.values_mut() {
            for track in &mut p.published {
                for key in track.broken_layers() {
                    if track.request_keyframe(&mut p.rtc, key, KeyframeRequestKind::Pli, now) {
                        self.out.stats.keyframe_requests += 1;
                        p.needs_poll = true;
                    }
                }
            }
        }
    }

    /// A backstop for the buffered-amount-low events, which only fire for a channel
    /// that itself filled str0m's buffer past the threshold.
    fn drain_channel_backlogs(&mut self) {
        for p in self.participants.values_mut() {
            if p.backlog.is_empty() {
                continue;
            }
            self.out.stats.data_channel_dropped += p.backlog.drain(&mut p.rtc);
            p.needs_poll = true;
        }
    }

    fn select_layers(&mut self, now: Instant) {
        // Publishers' layers first (read-only), then subscribers (mutable).
        let mut published: HashMap<TrackId, (Vec<LayerInfo>, Vec<LayerKey>)> = HashMap::new();
        for p in self.participants.values() {
            for t in p.published.iter().filter(|t| t.kind == MediaKind::Video) {
                let keys = t.layers.iter().map(|l| l.key).collect();
                let track = TrackId {
                    publisher: p.id,
                    mid: t.mid,
                };
                published.insert(track, (t.layer_infos(now), keys));
            }
        }
        for p in self.participants.values_mut() {
            let audio = p
                .subscriptions
                .iter()
                .filter(|s| s.kind == MediaKind::Audio)
                .count();
            // A tile whose publisher sends no video (camera off) costs nothing: it takes no share.
            let visible_video = p
                .subscriptions
                .iter()
                .filter(|s| s.kind == MediaKind::Video && s.spec.visible)
                .filter(|s| {
                    published
                        .get(&s.track)
                        .is_some_and(|(infos, _)| infos.iter().any(|l| l.active))
                })
                .count();
            let budget = video_budget_per_track(p.bwe_bps, audio, visible_video);
            // What the chosen layers cost now, and what the tiles would want with
            // unlimited bandwidth: the estimator keeps the first and probes for the second.
            let mut sending_bps = AUDIO_BPS * audio as u64;
            let mut wanted_bps = sending_bps;
            let connected = p.connected;
            for s in p.subscriptions.iter_mut() {
                if s.kind != MediaKind::Video || s.open_mid().is_none() {
                    continue;
                }
                let Some((infos, keys)) = published.get(&s.track) else {
                    continue;
                };
                let previous = s
                    .layers
                    .target()
                    .and_then(|t| keys.iter().position(|k| *k == t));
                let next = select_layer(infos, &s.spec, budget);
                let chosen = damp_upswitch(previous, next, infos, budget);
                let chosen_bps = chosen.map_or(0, |i| infos[i].bitrate_bps);
                sending_bps += chosen_bps;
                // Probe only where more bandwidth would buy a higher layer: probing
                // for a single-layer track gains nothing, and in our tests a probe
                // towards a never-measured layer's nominal rate made str0m's
                // estimate collapse instead of grow.
                wanted_bps += match select_layer(infos, &s.spec, None) {
                    Some(w) if Some(w) > chosen => infos[w].bitrate_bps,
                    _ => chosen_bps,
                };
                let target = chosen.map(|i| keys[i]);
                if target != s.layers.target() {
                    s.layers.set_target(target);
                }
                if connected && s.layers.awaiting_keyframe() {
                    if let Some(layer) = target {
                        self.out.propagated.push_back(Propagated::KeyframeRequest {
                            track: s.track,
                            layer,
                            kind: KeyframeRequestKind::Pli,
                        });
                    }
                }
            }
            // Ask for the up-switch headroom too, or the damping would never let go.
            if wanted_bps > sending_bps {
                p.set_bwe_goal(
                    sending_bps,
                    wanted_bps.saturating_mul(UP_HEADROOM_PERCENT) / 100,
                );
            }
        }
    }
}

/// Rough bitrate of one Opus stream, reserved before video.
const AUDIO_BPS: u64 = 64_000;
