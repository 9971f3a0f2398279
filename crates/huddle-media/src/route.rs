//! Routing of effects between participants: the worker loop's half of str0m chat's
//! `propagate`. Each [`Propagated`] value is applied to the participants it concerns.

use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};

use crate::envelope;
use crate::event::SfuEvent;
use crate::forward::LayerKey;
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::outbox::Propagated;
use crate::overload::Shedding;
use crate::packet::Packet;
use crate::participant::{Forwarded, MAX_SEND_DELAY};
use crate::relay::Relay;
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
            Propagated::Media { track, packet } => self.route_media(track, packet),
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
        let Some(room) = self.participants.get(&from).map(|p| p.room()) else {
            return;
        };
        let track = TrackId {
            publisher: from,
            mid,
        };
        self.add_track(room, track, kind);
        self.relay_to_peers(room, || Relay::TrackPublished {
            room,
            track,
            kind,
            rids: rids.clone(),
        });
        self.out.events.push_back(SfuEvent::TrackPublished {
            room,
            track,
            kind,
            rids,
            msid_track,
        });
    }

    /// A track published here or on another worker of the room: its members here get it.
    pub(crate) fn add_track(&mut self, room_id: RoomId, track: TrackId, kind: MediaKind) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        room.tracks.push((track, kind));
        if self.config.auto_subscribe {
            for other in room.others(track.publisher) {
                if let Some(p) = self.participants.get_mut(&other) {
                    p.subscribe(track, kind);
                }
            }
        }
        for (subscriber, spec) in room.early_specs(track) {
            if let Some(p) = self.participants.get_mut(&subscriber) {
                p.subscribe(track, kind);
                p.set_spec(track, spec);
            }
        }
        self.negotiation_due = true;
        self.next_tick = self.now;
    }

    fn route_track_unpublished(&mut self, room: RoomId, track: TrackId) {
        self.remove_track(room, track);
        self.relay_to_peers(room, || Relay::TrackUnpublished { room, track });
        self.out
            .events
            .push_back(SfuEvent::TrackUnpublished { room, track });
    }

    pub(crate) fn remove_track(&mut self, room: RoomId, track: TrackId) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        r.tracks.retain(|(t, _)| *t != track);
        r.remote.remove(&track);
        for m in &r.members {
            if let Some(p) = self.participants.get_mut(m) {
                p.unsubscribe(track);
            }
        }
        self.negotiation_due = true;
    }

    /// Asks the track's publisher for a keyframe: here, or through the worker it publishes on.
    pub(crate) fn route_keyframe_request(
        &mut self,
        track: TrackId,
        layer: LayerKey,
        kind: KeyframeRequestKind,
    ) {
        if let Some(p) = self.participants.get_mut(&track.publisher) {
            p.request_keyframe(track.mid, layer, kind, self.now, &mut self.out);
            return;
        }
        let origin = self.rooms.values().find_map(|r| r.remote.get(&track));
        if let Some(origin) = origin.map(|t| t.origin) {
            let relay = Relay::KeyframeRequest { track, layer, kind };
            self.out.relays.push_back((origin, relay));
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
        // Receivers learn the sender from the SFU, never from the message.
        let sealed = envelope::seal(from, binary, data);
        self.deliver_sealed(room, from, label, &sealed);
        self.relay_to_peers(room, || Relay::ChannelData {
            room,
            from,
            label: label.to_owned(),
            sealed: sealed.clone(),
        });
    }

    /// A data channel message, its sender's id sealed in, to the members here but the sender.
    pub(crate) fn deliver_sealed(
        &mut self,
        room: RoomId,
        from: ParticipantId,
        label: &str,
        sealed: &[u8],
    ) {
        let Some(r) = self.rooms.get(&room) else {
            return;
        };
        for other in r.others(from) {
            if let Some(p) = self.participants.get_mut(&other) {
                p.deliver_channel_data(label, sealed, &mut self.out);
            }
        }
    }

    /// A local publisher's packet: to the members here, and once to each other worker of the room.
    fn route_media(&mut self, track: TrackId, packet: Packet) {
        let Some(room) = self.participants.get(&track.publisher).map(|p| p.room()) else {
            return;
        };
        self.fan_out(room, track, &packet);
        self.relay_to_peers(room, || Relay::Packet {
            room,
            track,
            packet: packet.clone(),
        });
    }

    /// Offers a packet to every member of the room here but its publisher.
    pub(crate) fn fan_out(&mut self, room_id: RoomId, track: TrackId, packet: &Packet) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        if self.overload.is_late(self.queue_delay) {
            // Sent now it would only be later than the bound; skipping it lets the worker catch
            // up, and each subscriber's decoder starts again at a keyframe.
            self.out.stats.frames_late += u64::from(packet.frame_start);
            for other in room.others(track.publisher) {
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
        for other in room.others(track.publisher) {
            let Some(p) = self.participants.get_mut(&other) else {
                continue;
            };
            match p.forward(track, packet, max_send_delay) {
                Forwarded::Written { bytes, waited } => {
                    self.out.stats.packets_forwarded += 1;
                    self.out.stats.bytes_forwarded += bytes as u64;
                    if let Some(waited) = waited {
                        self.overload.send_waited(waited);
                    }
                }
                Forwarded::NeedKeyframe(layer) => wanted_keyframe = Some(layer),
                Forwarded::Skipped { waited } => {
                    self.out.stats.frames_skipped += 1;
                    self.overload.send_waited(waited);
                }
                Forwarded::Nothing => {}
            }
        }
        if let Some(layer) = wanted_keyframe {
            // Rate limited per publisher layer, so asking on every dropped frame is fine.
            self.route_keyframe_request(track, layer, KeyframeRequestKind::Pli);
        }
    }
}
