//! The publishing side of a participant: tracks its browser sends, and keyframes asked of it.

use std::time::Instant;

use str0m::media::{KeyframeRequestKind, MediaAdded, MediaKind, Mid, Rid};
use str0m::rtp::RtpPacket;

use super::Participant;
use crate::forward::LayerKey;
use crate::ids::TrackId;
use crate::layer::LayerInfo;
use crate::outbox::{Outbox, Propagated};
use crate::packet::Packet;
use crate::publisher::PublishedTrack;

/// A published video track's layers as the subscribers' layer selection sees them.
pub struct TrackLayers {
    pub infos: Vec<LayerInfo>,
    pub keys: Vec<LayerKey>,
}

impl TrackLayers {
    pub fn of(track: &PublishedTrack, now: Instant) -> Self {
        TrackLayers {
            infos: track.layer_infos(now),
            keys: track.layers.iter().map(|l| l.key).collect(),
        }
    }
}

impl Participant {
    /// The video tracks this participant publishes, with their layers now.
    pub fn video_layers(&self, now: Instant) -> impl Iterator<Item = (TrackId, TrackLayers)> + '_ {
        self.published
            .iter()
            .filter(|t| t.kind == MediaKind::Video)
            .map(move |t| {
                let track = TrackId {
                    publisher: self.id,
                    mid: t.mid,
                };
                (track, TrackLayers::of(t, now))
            })
    }

    /// The simulcast layers of one of its tracks, lowest first; empty without simulcast.
    pub fn rids_of(&self, mid: Mid) -> Vec<Rid> {
        let track = self.published.iter().find(|t| t.mid == mid);
        track
            .map(|t| t.layers.iter().filter_map(|l| l.key.0).collect())
            .unwrap_or_default()
    }

    /// Asks the browser for a keyframe of one of its tracks' layers, as often as the
    /// layer's limiter allows.
    pub fn request_keyframe(
        &mut self,
        mid: Mid,
        layer: LayerKey,
        kind: KeyframeRequestKind,
        now: Instant,
        out: &mut Outbox,
    ) {
        let (Some(rtc), Some(track)) = (
            self.rtc.as_deref_mut(),
            self.published.iter_mut().find(|t| t.mid == mid),
        ) else {
            return;
        };
        if track.request_keyframe(rtc, layer, kind, now) {
            out.stats.keyframe_requests += 1;
            self.needs_poll = true;
        }
    }

    /// Asks again for the keyframe a broken layer needs: the request or the keyframe itself
    /// may have been lost, and the frames after it arrive whole, so nothing else would.
    pub fn repair_broken_layers(&mut self, now: Instant, out: &mut Outbox) {
        let Some(rtc) = self.rtc.as_deref_mut() else {
            return;
        };
        for track in &mut self.published {
            for key in track.broken_layers() {
                if track.request_keyframe(rtc, key, KeyframeRequestKind::Pli, now) {
                    out.stats.keyframe_requests += 1;
                    self.needs_poll = true;
                }
            }
        }
    }

    pub(super) fn on_media_added(&mut self, added: MediaAdded, out: &mut Outbox) {
        // Our own send-only m-lines (subscriptions) never raise MediaAdded; a remote
        // m-line we cannot receive on is not a publication.
        if !added.direction.is_receiving() {
            return;
        }
        if self.published.iter().any(|t| t.mid == added.mid) {
            return;
        }
        let rids: Vec<Rid> = added
            .simulcast
            .map(|s| s.recv.iter().map(|l| l.rid).collect())
            .unwrap_or_default();
        let msid_track = self
            .rtc
            .as_ref()
            .and_then(|rtc| rtc.media(added.mid))
            .map(|m| m.track_id().to_string())
            .unwrap_or_default();
        let top = self.top_layer;
        self.published
            .push(PublishedTrack::new(added.mid, added.kind, &rids, top));
        out.propagated.push_back(Propagated::TrackPublished {
            from: self.id,
            mid: added.mid,
            kind: added.kind,
            rids,
            msid_track,
        });
    }

    pub(super) fn unpublish(&mut self, mid: Mid, out: &mut Outbox) {
        let before = self.published.len();
        self.published.retain(|t| t.mid != mid);
        if self.published.len() != before {
            out.propagated.push_back(Propagated::TrackUnpublished {
                room: self.room,
                track: TrackId {
                    publisher: self.id,
                    mid,
                },
            });
        }
    }

    pub(super) fn on_rtp_packet(&mut self, rtp: RtpPacket, out: &mut Outbox) {
        let Some(rtc) = self.rtc.as_deref_mut() else {
            return;
        };
        let mut api = rtc.direct_api();
        let Some(stream) = api.stream_rx(&rtp.header.ssrc) else {
            return;
        };
        let (mid, layer) = (stream.mid(), LayerKey(stream.rid()));
        let Some(track) = self.published.iter_mut().find(|t| t.mid == mid) else {
            return;
        };
        if !self.forwarding.allows(track.kind) {
            return;
        }
        let Some(params) = track.params(rtp.header.payload_type, rtc.codec_config()) else {
            return;
        };
        let mut packet = Packet::new(rtp, layer, params);
        let news = track.on_packet(&packet);
        packet.frame_start = news.frame_start;
        packet.restart = news.restart;
        if track.kind == MediaKind::Audio {
            if let Some((level, _)) = packet.audio_level {
                out.propagated.push_back(Propagated::AudioLevel {
                    from: self.id,
                    level,
                });
            }
        } else if news.broken {
            // Lost packets the NACKs could not recover: decoders downstream are broken
            // until the next keyframe (retried on every tick until it comes).
            let now = packet.network_time;
            self.request_keyframe(mid, layer, KeyframeRequestKind::Pli, now, out);
        }
        let track = TrackId {
            publisher: self.id,
            mid,
        };
        out.propagated
            .push_back(Propagated::Media { track, packet });
    }
}
