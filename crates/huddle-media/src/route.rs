//! Routing of effects between participants: the worker loop's half of str0m chat's
//! `propagate`. Each [`Propagated`] value is applied to the participants it concerns.

use str0m::media::{KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};

use crate::envelope;
use crate::event::SfuEvent;
use crate::forward::LayerKey;
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::outbox::Propagated;
use crate::overload::Shedding;
use crate::participant::{Forwarded, MAX_SEND_DELAY};
use crate::sfu::Sfu;

impl Sfu {
    pub(crate) fn route(&mut self, prop: Propagated) {
        match prop {
            Propagated::TrackPublished {
                from,
                mid,
                kind,
                rids,
                msid_track,
            } => self.route_track_published(from, mid, kind, rids, msid_track),
            Propagated::TrackUnpublished { room, track } => {
                self.route_track_unpublished(room, track)
            }
            Propagated::Media { from, data } => self.route_media(from, &data),
            Propagated::KeyframeRequest { track, layer, kind } => {
                self.route_keyframe_request(track, layer, kind)
            }
            Propagated::AudioLevel { from, level } => self.route_audio_level(from, level),
            Propagated::ChannelData {
                from,
                label,
                binary,
                data,
            } => self.route_channel_data(from, &label, binary, &data),
        }
    }

    fn route_track_published(
        &mut self,
        from: ParticipantId,
        mid: Mid,
        kind: MediaKind,
        rids: Vec<Rid>,
        msid_track: String,
    ) {
        let Some(room_id) = self.participants.get(&from).map(|p| p.room()) else {
            return;
        };
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let track = TrackId {
            publisher: from,
            mid,
        };
        room.tracks.push((track, kind));
        if self.config.auto_subscribe {
            for other in room.others(from) {
                if let Some(p) = self.participants.get_mut(&other) {
                    p.subscribe(track, kind);
                }
            }
        }
        self.out.events.push_back(SfuEvent::TrackPublished {
            room: room_id,
            track,
            kind,
            rids,
            msid_track,
        });
        self.negotiation_due = true;
        self.next_tick = self.now;
    }

    fn route_track_unpublished(&mut self, room: RoomId, track: TrackId) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        r.tracks.retain(|(t, _)| *t != track);
        for m in &r.members {
            if let Some(p) = self.participants.get_mut(m) {
                p.unsubscribe(track);
            }
        }
        self.negotiation_due = true;
        self.out
            .events
            .push_back(SfuEvent::TrackUnpublished { room, track });
    }

    pub(crate) fn route_keyframe_request(
        &mut self,
        track: TrackId,
        layer: LayerKey,
        kind: KeyframeRequestKind,
    ) {
        if let Some(p) = self.participants.get_mut(&track.publisher) {
            p.request_keyframe(track.mid, layer, kind, self.now, &mut self.out);
        }
    }

    fn route_audio_level(&mut self, from: ParticipantId, level: i8) {
        let room = self.participants.get(&from).map(|p| p.room());
        if let Some(r) = room.and_then(|r| self.rooms.get_mut(&r)) {
            r.speaker.observe(from, level, self.now);
        }
    }

    fn route_channel_data(&mut self, from: ParticipantId, label: &str, binary: bool, data: &[u8]) {
        let Some(room) = self.participants.get(&from).map(|p| p.room()) else {
            return;
        };
        let Some(r) = self.rooms.get(&room) else {
            return;
        };
        // Receivers learn the sender from the SFU, never from the message.
        let sealed = envelope::seal(from, binary, data);
        for other in r.others(from) {
            if let Some(p) = self.participants.get_mut(&other) {
                p.deliver_channel_data(label, &sealed, &mut self.out);
            }
        }
    }

    fn route_media(&mut self, from: ParticipantId, data: &MediaData) {
        let Some(room_id) = self.participants.get(&from).map(|p| p.room()) else {
            return;
        };
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let track = TrackId {
            publisher: from,
            mid: data.mid,
        };
        if self.overload.is_late(self.queue_delay) {
            // Sent now it would only be later than the bound; skipping it lets the worker catch
            // up, and each subscriber's decoder starts again at a keyframe.
            self.out.stats.frames_late += 1;
            for other in room.others(from) {
                if let Some(p) = self.participants.get_mut(&other) {
                    p.missed_frame(track);
                }
            }
            return;
        }
        let max_send_delay = match self.overload.shedding() {
            Shedding::Nothing => MAX_SEND_DELAY,
            _ => self.config.delay_bound,
        };
        let mut wanted_keyframe: Option<LayerKey> = None;
        for other in room.others(from) {
            let Some(p) = self.participants.get_mut(&other) else {
                continue;
            };
            match p.forward(track, data, max_send_delay) {
                Forwarded::Written { bytes, packets } => {
                    self.out.stats.packets_forwarded += packets;
                    self.out.stats.bytes_forwarded += bytes as u64;
                }
                Forwarded::NeedKeyframe(layer) => wanted_keyframe = Some(layer),
                Forwarded::Skipped => self.out.stats.frames_skipped += 1,
                Forwarded::Nothing => {}
            }
        }
        if let Some(layer) = wanted_keyframe {
            // Rate limited per publisher layer, so asking on every dropped frame is fine.
            self.route_keyframe_request(track, layer, KeyframeRequestKind::Pli);
        }
    }
}
