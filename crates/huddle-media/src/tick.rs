//! Periodic work of the worker: load shedding, layer selection, keyframe retries, active
//! speaker, data channel backlogs.
//!
//! Done on a tick rather than per packet: bitrates and speaking levels change on the
//! scale of hundreds of milliseconds, and the work is per subscription, not per packet.

use std::collections::HashMap;
use std::time::Instant;

use crate::event::SfuEvent;
use crate::overload::Shedding;
use crate::participant::TrackLayers;
use crate::sfu::Sfu;
use str0m::media::MediaKind;

impl Sfu {
    pub(crate) fn tick(&mut self, now: Instant) {
        self.next_tick = now + self.config.tick;
        self.shed(now);
        for room in self.rooms.values_mut() {
            // In a room spread over workers, one of them speaks for all.
            if let Some(participant) = room.speaker.decide(now).filter(|_| room.lead) {
                self.out.events.push_back(SfuEvent::ActiveSpeaker {
                    room: room.id,
                    participant,
                });
            }
        }
        self.select_layers(now);
        for p in self.participants.values_mut() {
            p.repair_broken_layers(now, &mut self.out);
            // A backstop for the buffered-amount-low events, which only fire for a channel
            // that itself filled str0m's buffer past the threshold.
            p.drain_channel_backlog(&mut self.out);
        }
    }

    /// Publishers' layers first (read-only), then each subscriber chooses among them.
    fn select_layers(&mut self, now: Instant) {
        let mut published: HashMap<_, _> = self
            .participants
            .values()
            .flat_map(|p| p.video_layers(now))
            .collect();
        for room in self.rooms.values() {
            let remote = room.remote.iter();
            let video = remote.filter(|(_, t)| t.published.kind == MediaKind::Video);
            published.extend(video.map(|(id, t)| (*id, TrackLayers::of(&t.published, now))));
        }
        let lower = self.overload.shedding() >= Shedding::LowerLayers;
        for p in self.participants.values_mut() {
            p.select_layers(&published, lower, &mut self.out);
        }
    }
}
