//! A room on one worker: who is in it here, which tracks are published in it (here or on the
//! other workers its members are spread over), who speaks.

use std::collections::HashMap;

use str0m::media::MediaKind;

use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::layer::SubscriptionSpec;
use crate::publisher::PublishedTrack;
use crate::relay::PeerId;
use crate::speaker::{SpeakerConfig, SpeakerDetector};

/// What a subscriber asks of a track this worker does not know yet, at most per member.
const EARLY_SPECS_PER_MEMBER: usize = 32;

pub struct Room {
    pub id: RoomId,
    pub members: Vec<ParticipantId>,
    pub tracks: Vec<(TrackId, MediaKind)>,
    pub speaker: SpeakerDetector<ParticipantId>,
    /// The other workers with members of this room: each gets every frame published here once.
    pub peers: Vec<PeerId>,
    /// This worker says who the active speaker is; the others of a spread room keep quiet.
    pub lead: bool,
    /// Tracks published on other workers, and what their frames tell of their layers.
    pub remote: HashMap<TrackId, RemoteTrack>,
    /// Subscriptions asked for before the track's publication came from its worker.
    early: Vec<(ParticipantId, TrackId, SubscriptionSpec)>,
}

/// A track published on another worker, as this one sees it through the frames relayed to it.
pub struct RemoteTrack {
    pub origin: PeerId,
    pub published: PublishedTrack,
}

impl Room {
    pub fn new(id: RoomId, speaker: SpeakerConfig) -> Self {
        Room {
            id,
            members: vec![],
            tracks: vec![],
            speaker: SpeakerDetector::new(speaker),
            peers: vec![],
            lead: true,
            remote: HashMap::new(),
            early: vec![],
        }
    }

    pub fn track_kind(&self, track: TrackId) -> Option<MediaKind> {
        self.tracks
            .iter()
            .find(|(t, _)| *t == track)
            .map(|(_, k)| *k)
    }

    /// Members other than `who`.
    pub fn others(&self, who: ParticipantId) -> impl Iterator<Item = ParticipantId> + '_ {
        self.members.iter().copied().filter(move |m| *m != who)
    }

    /// Keeps what a member asks of a track published elsewhere that has not reached this worker.
    pub fn ask_early(&mut self, subscriber: ParticipantId, track: TrackId, spec: SubscriptionSpec) {
        self.early
            .retain(|(s, t, _)| (*s, *t) != (subscriber, track));
        let asked = self.early.iter().filter(|(s, ..)| *s == subscriber).count();
        if asked < EARLY_SPECS_PER_MEMBER {
            self.early.push((subscriber, track, spec));
        }
    }

    /// What members asked of `track` before it came.
    pub fn early_specs(&mut self, track: TrackId) -> Vec<(ParticipantId, SubscriptionSpec)> {
        let (due, rest) = std::mem::take(&mut self.early)
            .into_iter()
            .partition(|(_, t, _)| *t == track);
        self.early = rest;
        due.into_iter().map(|(s, _, spec)| (s, spec)).collect()
    }

    pub fn forget_member(&mut self, member: ParticipantId) {
        self.members.retain(|m| *m != member);
        self.early.retain(|(s, ..)| *s != member);
        self.speaker.remove(member);
    }
}
