//! One room's members and the messages membership changes send to them.

use std::collections::BTreeMap;
use std::time::Instant;

use tokio::sync::mpsc::{self, error::TrySendError};

use super::{RoomMode, RoomPolicy};
use crate::protocol::{
    LeaveReason, MediaState, Participant, ParticipantId, RoomSettings, ServerMessage, Signal,
};

/// Where a participant's session receives what the room sends it.
pub type Outbox = mpsc::Sender<ServerMessage>;

struct Member {
    participant: Participant,
    outbox: Outbox,
}

/// The members of one room and how it carries media. Every change announces itself to the other
/// members; a member whose outbox is full is too slow to follow the room and is dropped rather
/// than letting it grow.
pub struct Room {
    members: BTreeMap<ParticipantId, Member>,
    policy: RoomPolicy,
    mode: RoomMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the room is full ({capacity} participants)")]
pub struct RoomFull {
    pub capacity: usize,
}

impl Room {
    pub fn new(policy: RoomPolicy) -> Self {
        Self {
            members: BTreeMap::new(),
            policy,
            mode: policy.media.initial(),
        }
    }

    /// What a newcomer is told about the room.
    pub fn settings(&self) -> RoomSettings {
        RoomSettings {
            media_mode: self.mode.media_mode(),
            capacity: self.policy.capacity(),
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, id: &ParticipantId) -> bool {
        self.members.contains_key(id)
    }

    /// Adds a participant and returns the others, as the newcomer's first view of the room. When
    /// the newcomer moves the room to the SFU, the others hear it before they hear of the
    /// newcomer, so that they meet it on the SFU rather than set up a peer connection to it.
    pub fn admit(
        &mut self,
        participant: Participant,
        outbox: Outbox,
        now: Instant,
    ) -> Result<Vec<Participant>, RoomFull> {
        let capacity = self.policy.capacity();
        if self.members.len() >= capacity {
            return Err(RoomFull { capacity });
        }
        self.settle_at(self.members.len() + 1, now);
        let others = self.participants();
        self.broadcast(ServerMessage::ParticipantJoined {
            participant: participant.clone(),
        });
        let id = participant.id.clone();
        self.members.insert(
            id,
            Member {
                participant,
                outbox,
            },
        );
        Ok(others)
    }

    pub fn update(&mut self, id: &ParticipantId, media: MediaState, name: Option<String>) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        member.participant.media = media;
        if let Some(name) = name {
            member.participant.name = name;
        }
        let participant = member.participant.clone();
        self.broadcast(ServerMessage::ParticipantUpdated { participant });
    }

    /// Passes a signal to one member, stamped with its sender. False when `to` is not in this room.
    pub fn relay(&mut self, from: &ParticipantId, to: &ParticipantId, signal: Signal) -> bool {
        if !self.members.contains_key(from) || !self.members.contains_key(to) {
            return false;
        }
        let message = ServerMessage::Signal {
            from: from.clone(),
            signal,
        };
        if !self.deliver(to, message) {
            self.drop_member(to, LeaveReason::Disconnected);
        }
        true
    }

    pub fn remove(&mut self, id: &ParticipantId, reason: LeaveReason, now: Instant) {
        self.drop_member(id, reason);
        self.settle(now);
    }

    /// Removes a member without settling the mode: laggards are dropped in the middle of a
    /// delivery, and the registry's next tick settles the room.
    fn drop_member(&mut self, id: &ParticipantId, reason: LeaveReason) {
        if self.members.remove(id).is_some() {
            self.broadcast(ServerMessage::ParticipantLeft {
                id: id.clone(),
                reason,
            });
        }
    }

    /// Lets time pass: an auto room that stayed small long enough goes back to the mesh.
    pub fn settle(&mut self, now: Instant) {
        self.settle_at(self.members.len(), now);
    }

    /// Moves the room to the mode the policy wants for `members`, telling everybody if it changes.
    fn settle_at(&mut self, members: usize, now: Instant) {
        let before = self.mode.media_mode();
        self.mode = self.policy.media.next(self.mode, members, now);
        let mode = self.mode.media_mode();
        if mode != before {
            tracing::info!(members, mode = mode.as_str(), "room switches media mode");
            self.broadcast(ServerMessage::MediaMode { mode });
        }
    }

    pub fn participants(&self) -> Vec<Participant> {
        self.members
            .values()
            .map(|member| member.participant.clone())
            .collect()
    }

    fn broadcast(&mut self, message: ServerMessage) {
        let laggards: Vec<ParticipantId> = self
            .members
            .keys()
            .filter(|id| !self.deliver(id, message.clone()))
            .cloned()
            .collect();
        for id in laggards {
            self.drop_member(&id, LeaveReason::Disconnected);
        }
    }

    /// False when the member's session is gone or cannot keep up.
    fn deliver(&self, to: &ParticipantId, message: ServerMessage) -> bool {
        let Some(member) = self.members.get(to) else {
            return true;
        };
        match member.outbox.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::warn!(participant = %to, "outbox full, dropping slow participant");
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{SdpKind, SessionDescription};

    fn participant(id: &str) -> Participant {
        Participant {
            id: ParticipantId(id.into()),
            name: id.to_uppercase(),
            media: MediaState::default(),
        }
    }

    fn join(room: &mut Room, id: &str) -> mpsc::Receiver<ServerMessage> {
        let (tx, rx) = mpsc::channel(8);
        room.admit(participant(id), tx, Instant::now()).unwrap();
        rx
    }

    fn mesh_room(capacity: usize) -> Room {
        Room::new(RoomPolicy::mesh(capacity))
    }

    fn offer() -> Signal {
        Signal::Description {
            description: SessionDescription {
                kind: SdpKind::Offer,
                sdp: "v=0".into(),
            },
        }
    }

    #[test]
    fn newcomer_sees_others_and_others_see_newcomer() {
        let mut room = mesh_room(4);
        let mut a = join(&mut room, "a");
        let (tx, _b) = mpsc::channel(8);
        let others = room.admit(participant("b"), tx, Instant::now()).unwrap();
        assert_eq!(others, vec![participant("a")]);
        assert_eq!(
            a.try_recv().unwrap(),
            ServerMessage::ParticipantJoined {
                participant: participant("b")
            }
        );
    }

    #[test]
    fn capacity_is_enforced() {
        let mut room = mesh_room(1);
        let _a = join(&mut room, "a");
        let (tx, _rx) = mpsc::channel(8);
        assert_eq!(
            room.admit(participant("b"), tx, Instant::now()),
            Err(RoomFull { capacity: 1 })
        );
        assert_eq!(room.len(), 1);
    }

    #[test]
    fn relay_reaches_only_members() {
        let mut room = mesh_room(4);
        let _a = join(&mut room, "a");
        let mut b = join(&mut room, "b");
        let (a, b_id) = (ParticipantId("a".into()), ParticipantId("b".into()));
        assert!(room.relay(&a, &b_id, offer()));
        assert_eq!(
            b.try_recv().unwrap(),
            ServerMessage::Signal {
                from: a.clone(),
                signal: offer()
            }
        );
        assert!(!room.relay(&a, &ParticipantId("elsewhere".into()), offer()));
    }

    #[test]
    fn slow_member_is_dropped_and_announced() {
        let mut room = mesh_room(4);
        let mut a = join(&mut room, "a");
        let (tx, _never_read) = mpsc::channel(1);
        room.admit(participant("slow"), tx, Instant::now()).unwrap();
        a.try_recv().unwrap();
        let media = MediaState {
            audio: true,
            ..MediaState::default()
        };
        room.update(&ParticipantId("a".into()), media, None);
        room.update(&ParticipantId("a".into()), media, None);
        assert!(!room.contains(&ParticipantId("slow".into())));
        let announced: Vec<_> = std::iter::from_fn(|| a.try_recv().ok()).collect();
        assert!(announced.contains(&ServerMessage::ParticipantLeft {
            id: ParticipantId("slow".into()),
            reason: LeaveReason::Disconnected
        }));
    }
}
