//! Routing of effects between participants: the worker loop's half of str0m chat's
//! `propagate`. Each [`Propagated`] value is applied to the participants it concerns.

use str0m::media::MediaData;

use crate::channel_backlog::Delivery;
use crate::envelope;
use crate::event::SfuEvent;
use crate::forward::LayerKey;
use crate::ids::{ParticipantId, TrackId};
use crate::outbox::Propagated;
use crate::participant::Forwarded;
use crate::sfu::Sfu;
use crate::subscription::Subscription;

impl Sfu {
    pub(crate) fn route(&mut self, prop: Propagated) {
        match prop {
            Propagated::TrackPublished {
                from,
                mid,
                kind,
                rids,
                msid_track,
            } => {
                let Some(room_id) = self.participants.get(&from).map(|p| p.room) else {
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
                            p.subscriptions.push(Subscription::new(track, kind));
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
            Propagated::TrackUnpublished { room, track } => {
                let Some(r) = self.rooms.get_mut(&room) else {
                    return;
                };
                r.tracks.retain(|(t, _)| *t != track);
                for m in &r.members {
                    if let Some(p) = self.participants.get_mut(m) {
                        p.subscriptions.retain_mut(|s| s.track != track || s.stop());
                    }
                }
                self.negotiation_due = true;
                self.out
                    .events
                    .push_back(SfuEvent::TrackUnpublished { room, track });
            }
            Propagated::Media { from, data } => self.route_media(from, &data),
            Propagated::KeyframeRequest { track, layer, kind } => {
                let now = self.now;
                let Some(p) = self.participants.get_mut(&track.publisher) else {
                    return;
                };
                let Some(t) = p.published.iter_mut().find(|t| t.mid == track.mid) else {
                    return;
                };
                if t.request_keyframe(&mut p.rtc, layer, kind, now) {
                    self.out.stats.keyframe_requests += 1;
                    p.needs_poll = true;
                }
            }
            Propagated::AudioLevel { from, level } => {
                let room = self.participants.get(&from).map(|p| p.room);
                if let Some(r) = room.and_then(|r| self.rooms.get_mut(&r)) {
                    r.speaker.observe(from, level, self.now);
                }
            }
            Propagated::ChannelData {
                from,
                label,
                binary,
                data,
            } => {
                let Some(room) = self.participants.get(&from).map(|p| p.room) else {
                    return;
                };
                let Some(r) = self.rooms.get(&room) else {
                    return;
                };
                // Receivers learn the sender from the SFU, never from the message.
                let sealed = envelope::seal(from, binary, &data);
                for other in r.others(from) {
                    let Some(p) = self.participants.get_mut(&other) else {
                        continue;
                    };
                    // Same label on the other side, else its first channel.
                    let Some(id) = p.channels.get(&label).or(p.channels.values().next()) else {
                        continue;
                    };
                    let id = *id;
                    match p.backlog.send(&mut p.rtc, id, true, &sealed) {
                        Delivery::Written => p.needs_poll = true,
                        Delivery::Queued => {}
                        Delivery::Dropped => {
                            tracing::debug!(participant = %other, "data channel message dropped");
                            self.out.stats.data_channel_dropped += 1;
                        }
                    }
                }
            }
        }
    }

    fn route_media(&mut self, from: ParticipantId, data: &MediaData) {
        let Some(room_id) = self.participants.get(&from).map(|p| p.room) else {
            return;
        };
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let track = TrackId {
            publisher: from,
            mid: data.mid,
        };
        let mut wanted_keyframe: Option<LayerKey> = None;
        for other in room.others(from) {
            let Some(p) = self.participants.get_mut(&other) else {
                continue;
            };
            match p.forward(track, data) {
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
            self.route(Propagated::KeyframeRequest {
                track,
                layer,
                kind: str0m::media::KeyframeRequestKind::Pli,
            });
        }
    }
}
