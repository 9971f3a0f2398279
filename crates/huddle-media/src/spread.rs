//! A room spread over several workers (see [`crate::relay`]): what this worker tells the others
//! of what is published here, and what it makes of what they tell it.

use std::time::Instant;

use str0m::media::{MediaKind, Rid};

use crate::ids::{RoomId, TrackId};
use crate::packet::Packet;
use crate::publisher::PublishedTrack;
use crate::relay::{PeerId, Relay};
use crate::room::RemoteTrack;
use crate::sfu::Sfu;

impl Sfu {
    /// The other workers with members of `room` now, and whether this one says who speaks in it.
    /// A worker new to the room learns the tracks published here.
    pub fn set_spread(&mut self, room: RoomId, peers: Vec<PeerId>, lead: bool) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let new: Vec<PeerId> = peers
            .iter()
            .filter(|p| !r.peers.contains(p))
            .copied()
            .collect();
        r.peers = peers;
        r.lead = lead;
        let orphaned: Vec<TrackId> = r
            .remote
            .iter()
            .filter(|(_, t)| !r.peers.contains(&t.origin))
            .map(|(id, _)| *id)
            .collect();
        for track in orphaned {
            self.remove_track(room, track);
        }
        for (track, kind, rids) in self.published_here(room) {
            for peer in &new {
                let relay = Relay::TrackPublished {
                    room,
                    track,
                    kind,
                    rids: rids.clone(),
                };
                self.out.relays.push_back((*peer, relay));
            }
        }
    }

    /// What another worker of a room tells this one; `arrived` is when it was sent, so a packet
    /// that waited past the delay bound in this worker's queue is late here too.
    pub fn handle_relay(&mut self, arrived: Instant, from: PeerId, relay: Relay) {
        self.queue_delay = self.now.saturating_duration_since(arrived);
        self.overload.waited(self.queue_delay);
        self.now = self.now.max(arrived);
        match relay {
            Relay::TrackPublished {
                room,
                track,
                kind,
                rids,
            } => self.remote_track_published(room, track, kind, &rids, from),
            Relay::TrackUnpublished { room, track } => self.remove_track(room, track),
            Relay::Packet {
                room,
                track,
                packet,
            } => self.relayed_packet(room, track, &packet),
            Relay::KeyframeRequest { track, layer, kind } => {
                // Only for a publisher here: a request never bounces between workers.
                if let Some(p) = self.participants.get_mut(&track.publisher) {
                    p.request_keyframe(track.mid, layer, kind, self.now, &mut self.out);
                }
            }
            Relay::ChannelData {
                room,
                from,
                label,
                sealed,
            } => self.deliver_sealed(room, from, &label, &sealed),
        }
    }

    /// Hands one value per other worker of the room to the driver.
    pub(crate) fn relay_to_peers(&mut self, room: RoomId, relay: impl Fn() -> Relay) {
        let Some(r) = self.rooms.get(&room) else {
            return;
        };
        for peer in &r.peers {
            self.out.relays.push_back((*peer, relay()));
        }
    }

    /// Tracks of the room's publishers on this worker, with their simulcast layers.
    fn published_here(&self, room: RoomId) -> Vec<(TrackId, MediaKind, Vec<Rid>)> {
        let Some(r) = self.rooms.get(&room) else {
            return vec![];
        };
        r.tracks
            .iter()
            .filter_map(|(track, kind)| {
                let publisher = self.participants.get(&track.publisher)?;
                Some((*track, *kind, publisher.rids_of(track.mid)))
            })
            .collect()
    }

    fn remote_track_published(
        &mut self,
        room: RoomId,
        track: TrackId,
        kind: MediaKind,
        rids: &[Rid],
        origin: PeerId,
    ) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        if r.remote.contains_key(&track) {
            return;
        }
        let published = PublishedTrack::new(track.mid, kind, rids, self.config.top_layer);
        r.remote.insert(track, RemoteTrack { origin, published });
        self.add_track(room, track, kind);
    }

    fn relayed_packet(&mut self, room: RoomId, track: TrackId, packet: &Packet) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let Some(remote) = r.remote.get_mut(&track) else {
            return;
        };
        // Its worker repairs a broken layer; here the packet only tells the layer's rate and size.
        remote.published.on_packet(packet);
        if let (MediaKind::Audio, Some((level, _))) = (remote.published.kind, packet.audio_level) {
            r.speaker.observe(track.publisher, level, self.now);
        }
        self.fan_out(room, track, packet);
    }
}
