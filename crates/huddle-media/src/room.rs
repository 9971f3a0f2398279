//! A room: who is in it, which tracks are published in it, who speaks.
//! Rooms never span workers, so none of this is shared.

use str0m::media::MediaKind;

use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::speaker::{SpeakerConfig, SpeakerDetector};

pub struct Room {
    pub id: RoomId,
    pub members: Vec<ParticipantId>,
    pub tracks: Vec<(TrackId, MediaKind)>,
    pub speaker: SpeakerDetector<ParticipantId>,
}

impl Room {
    pub fn new(id: RoomId, speaker: SpeakerConfig) -> Self {
        Room {
            id,
            members: vec![],
            tracks: vec![],
            speaker: SpeakerDetector::new(speaker),
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
}
