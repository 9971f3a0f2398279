//! The worker's side of load shedding (see [`crate::overload`]): on each tick it reads its queue
//! delay, and puts the coldest video subscriptions on keyframes only as far as the shedding says.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::time::Instant;

use str0m::media::KeyframeRequestKind;

use crate::overload::Shedding;
use crate::sfu::Sfu;

impl Sfu {
    pub(crate) fn shed(&mut self, now: Instant) {
        let before = self.overload.shedding();
        let changed = self.overload.decide(now);
        let shedding = self.overload.shedding();
        if shedding.level() != before.level() {
            self.log_shedding(before, shedding);
        }
        // Ranked again on every tick while shedding: tiles change size, members come and go.
        if changed.is_some() || matches!(shedding, Shedding::KeyframesOnly { .. }) {
            self.put_coldest_on_keyframes(shedding);
        }
        if self.overload.keyframe_refresh_due(now) {
            self.refresh_keyframes_only();
        }
    }

    /// Smallest tiles first; among equals, the latest to join (they came past what the worker
    /// carries), by their place in their room.
    fn put_coldest_on_keyframes(&mut self, shedding: Shedding) {
        let mut ranked = vec![];
        for room in self.rooms.values() {
            for (place, member) in room.members.iter().enumerate() {
                let Some(p) = self.participants.get(member) else {
                    continue;
                };
                for (track, pixels) in p.shown_video() {
                    ranked.push((pixels, Reverse(place), *member, track));
                }
            }
        }
        // Stable, and by member last: the same subscriptions stay shed from one tick to the next.
        ranked.sort_by_key(|(pixels, place, member, _)| (*pixels, *place, *member));
        let shed = shedding.keyframes_only(ranked.len());
        for (rank, (_, _, member, track)) in ranked.into_iter().enumerate() {
            if let Some(p) = self.participants.get_mut(&member) {
                p.set_keyframes_only(track, rank < shed);
            }
        }
    }

    /// One keyframe request per layer that keyframes-only subscriptions wait on.
    fn refresh_keyframes_only(&mut self) {
        let wanted: HashSet<_> = self
            .participants
            .values()
            .flat_map(|p| p.keyframes_only_layers())
            .collect();
        for (track, layer) in wanted {
            self.route_keyframe_request(track, layer, KeyframeRequestKind::Pli);
        }
    }

    fn log_shedding(&self, before: Shedding, now: Shedding) {
        let load = self.load();
        if now > before {
            tracing::warn!(
                ?now,
                rooms = load.rooms,
                participants = load.participants,
                "SFU worker sheds load: its media waited past the delay bound"
            );
        } else {
            tracing::info!(
                ?now,
                "SFU worker sheds less: its media is within the delay bound"
            );
        }
    }
}
