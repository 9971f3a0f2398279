//! The single-node room registry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;

use super::{
    Admission, Arrival, Audience, Authors, Census, JoinError, MemberChange, Moved, NodeRooms,
    Notice, Outbox, Pass, Profile, RelayError, Room, RoomName, RoomPolicy, RoomRegistry,
};
use crate::identity::AuthorKey;
use crate::protocol::{LeaveReason, MediaState, Participant, ParticipantId, Signal};

/// Rooms of this process. One short lock per signaling message: signaling is rare next to media,
/// and each operation only moves a few messages into channels.
pub struct LocalRegistry {
    rooms: Mutex<HashMap<RoomName, Room>>,
    policy: RoomPolicy,
}

impl LocalRegistry {
    /// Every room follows `policy`: its media mode and its capacity.
    pub fn new(policy: RoomPolicy) -> Self {
        Self {
            rooms: Mutex::default(),
            policy,
        }
    }

    /// Whether the room has anybody in it (a room is removed when its last member leaves).
    pub fn holds(&self, room: &RoomName) -> bool {
        self.with_rooms(|rooms| rooms.contains_key(room))
    }

    /// What each member of `room` takes to the room's next home when it moves (a drain); the
    /// room's lock is the entrance's to say.
    pub fn passes(&self, room: &RoomName) -> Vec<Pass> {
        self.with_rooms(|rooms| {
            let Some(members) = rooms.get(room) else {
                return Vec::new();
            };
            let (hands, mode) = (members.hands(), members.settings().media_mode);
            members
                .participants()
                .into_iter()
                .map(|participant| Pass {
                    room: room.to_string(),
                    name: participant.name,
                    role: participant.role,
                    moved: Moved {
                        hand: hands.contains(&participant.id),
                        id: participant.id,
                        mode,
                    },
                    locked: false,
                })
                .collect()
        })
    }

    fn with_rooms<T>(&self, f: impl FnOnce(&mut HashMap<RoomName, Room>) -> T) -> T {
        let mut rooms = self
            .rooms
            .lock()
            .expect("no panic while holding the rooms lock");
        f(&mut rooms)
    }
}

fn new_participant_id() -> ParticipantId {
    ParticipantId(format!("{:016x}", rand::random::<u64>()))
}

#[async_trait]
impl RoomRegistry for LocalRegistry {
    async fn join(
        &self,
        room: &RoomName,
        profile: Profile,
        outbox: Outbox,
    ) -> Result<Admission, JoinError> {
        let moved = profile.moved;
        let id = moved
            .as_ref()
            .map_or_else(new_participant_id, |moved| moved.id.clone());
        let participant = Participant {
            id: id.clone(),
            name: profile.name,
            media: profile.media,
            role: profile.role,
        };
        let now = Instant::now();
        self.with_rooms(|rooms| {
            let members = rooms.entry(room.clone()).or_insert_with(|| match &moved {
                Some(moved) => Room::moved_in(self.policy, moved.mode),
                None => Room::new(self.policy),
            });
            if members.contains(&id) {
                // Never expected (a pass is good once); were an id to come twice, the second is
                // refused rather than put over the first.
                return Err(JoinError::Taken(id));
            }
            let admitted = members.admit(participant, profile.author, outbox, now);
            if admitted.is_ok() && moved.as_ref().is_some_and(|moved| moved.hand) {
                members.raise_hand(&id, true);
            }
            let settings = members.settings();
            let hands = members.hands();
            if members.is_empty() {
                rooms.remove(room);
            }
            let (others, role) = admitted?;
            Ok(Admission {
                id,
                others,
                settings,
                hands,
                role,
            })
        })
    }

    async fn update(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        media: MediaState,
        name: Option<String>,
    ) {
        self.with_rooms(|rooms| {
            if let Some(members) = rooms.get_mut(room) {
                members.update(id, media, name);
            }
        });
    }

    async fn relay(
        &self,
        room: &RoomName,
        from: &ParticipantId,
        to: &ParticipantId,
        signal: Signal,
    ) -> Result<(), RelayError> {
        self.with_rooms(|rooms| match rooms.get_mut(room) {
            Some(members) => members.relay(from, to, signal),
            None => Err(RelayError::UnknownParticipant(to.clone())),
        })
    }

    async fn leave(&self, room: &RoomName, id: &ParticipantId, reason: LeaveReason) {
        self.with_rooms(|rooms| {
            if let Some(members) = rooms.get_mut(room) {
                members.remove(id, reason, Instant::now());
                if members.is_empty() {
                    rooms.remove(room);
                }
            }
        });
    }

    async fn announce(
        &self,
        room: &RoomName,
        notice: Notice,
        audience: Audience,
    ) -> Result<(), RelayError> {
        let reached = self.with_rooms(|rooms| {
            rooms
                .get_mut(room)
                .is_some_and(|members| members.announce(&notice, &audience))
        });
        match audience {
            Audience::Member(id) if !reached => Err(RelayError::UnknownParticipant(id)),
            _ => Ok(()),
        }
    }

    async fn raise_hand(&self, room: &RoomName, id: &ParticipantId, raised: bool) {
        self.with_rooms(|rooms| {
            if let Some(members) = rooms.get_mut(room) {
                members.raise_hand(id, raised);
            }
        });
    }

    async fn authors(&self, room: &RoomName) -> Authors {
        self.with_rooms(|rooms| rooms.get(room).map(Room::authors).unwrap_or_default())
    }

    async fn change_member(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        change: MemberChange,
    ) -> Result<Participant, RelayError> {
        self.with_rooms(|rooms| {
            rooms
                .get_mut(room)
                .and_then(|members| members.change(id, change))
                .ok_or_else(|| RelayError::UnknownParticipant(id.clone()))
        })
    }

    async fn members(&self, room: &RoomName) -> Vec<Participant> {
        self.with_rooms(|rooms| rooms.get(room).map(Room::participants).unwrap_or_default())
    }

    async fn arrival(&self, room: &RoomName, author: &AuthorKey) -> Arrival {
        self.with_rooms(|rooms| {
            rooms
                .get(room)
                .map_or(Arrival::FirstIn, |members| members.arrival(author))
        })
    }
}

#[async_trait]
impl NodeRooms for LocalRegistry {
    async fn settle(&self, now: Instant) {
        self.with_rooms(|rooms| {
            for members in rooms.values_mut() {
                members.settle(now);
            }
        });
    }

    fn census(&self) -> Census {
        self.with_rooms(|rooms| Census {
            rooms: rooms.len(),
            participants: rooms.values().map(Room::len).sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MediaMode, ServerMessage};
    use crate::rooms::{AutoSwitch, MediaPolicy};
    use std::time::Duration;
    use tokio::sync::mpsc;

    fn profile(name: &str) -> Profile {
        Profile {
            name: name.into(),
            media: MediaState::default(),
            author: crate::identity::AuthorKey::random(),
            role: crate::protocol::Role::Participant,
            moved: None,
        }
    }

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[tokio::test]
    async fn rooms_are_created_on_join_and_removed_when_empty() {
        let registry = LocalRegistry::new(RoomPolicy::mesh(4));
        let (tx, _rx) = mpsc::channel(8);
        let admission = registry.join(&room("r"), profile("Ada"), tx).await.unwrap();
        assert!(admission.others.is_empty());
        assert_eq!(
            registry.census(),
            Census {
                rooms: 1,
                participants: 1
            }
        );
        registry
            .leave(&room("r"), &admission.id, LeaveReason::Left)
            .await;
        assert_eq!(registry.census(), Census::default());
    }

    #[tokio::test]
    async fn ids_are_unique_and_rooms_apart() {
        let registry = LocalRegistry::new(RoomPolicy::mesh(4));
        let (tx, _rx) = mpsc::channel(8);
        let a = registry
            .join(&room("r1"), profile("A"), tx.clone())
            .await
            .unwrap();
        let b = registry.join(&room("r2"), profile("B"), tx).await.unwrap();
        assert_ne!(a.id, b.id);
        assert!(b.others.is_empty());
        assert_eq!(
            registry.census(),
            Census {
                rooms: 2,
                participants: 2
            }
        );
    }

    #[tokio::test]
    async fn relay_across_rooms_is_refused() {
        let registry = LocalRegistry::new(RoomPolicy::mesh(4));
        let (tx, mut rx) = mpsc::channel(8);
        let a = registry
            .join(&room("r1"), profile("A"), tx.clone())
            .await
            .unwrap();
        let b = registry.join(&room("r2"), profile("B"), tx).await.unwrap();
        let signal = Signal::Candidate { candidate: None };
        assert_eq!(
            registry.relay(&room("r1"), &a.id, &b.id, signal).await,
            Err(RelayError::UnknownParticipant(b.id.clone()))
        );
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn full_room_refuses_and_is_not_left_behind_empty() {
        let registry = LocalRegistry::new(RoomPolicy::mesh(1));
        let (tx, mut rx) = mpsc::channel(8);
        registry
            .join(&room("r"), profile("A"), tx.clone())
            .await
            .unwrap();
        let refused = registry.join(&room("r"), profile("B"), tx).await;
        assert!(matches!(refused, Err(JoinError::Full(_))));
        assert_eq!(
            registry.census(),
            Census {
                rooms: 1,
                participants: 1
            }
        );
        assert!(!matches!(
            rx.try_recv(),
            Ok(ServerMessage::ParticipantJoined { .. })
        ));
    }

    #[tokio::test]
    async fn sfu_rooms_hold_max_participants() {
        let registry = LocalRegistry::new(RoomPolicy {
            media: MediaPolicy::Sfu,
            mesh_limit: 2,
            max_participants: 3,
            auto_host: true,
        });
        let (tx, _rx) = mpsc::channel(8);
        for name in ["A", "B", "C"] {
            let admission = registry
                .join(&room("r"), profile(name), tx.clone())
                .await
                .unwrap();
            assert_eq!(admission.settings.media_mode, MediaMode::Sfu);
            assert_eq!(admission.settings.capacity, 3);
        }
        let refused = registry.join(&room("r"), profile("D"), tx).await;
        assert!(matches!(refused, Err(JoinError::Full(_))));
    }

    fn auto(threshold: usize, hold: Duration) -> LocalRegistry {
        LocalRegistry::new(RoomPolicy {
            media: MediaPolicy::Auto(AutoSwitch { threshold, hold }),
            mesh_limit: 2,
            max_participants: 10,
            auto_host: true,
        })
    }

    fn drain(inbox: &mut mpsc::Receiver<ServerMessage>) -> Vec<ServerMessage> {
        std::iter::from_fn(|| inbox.try_recv().ok()).collect()
    }

    #[tokio::test]
    async fn the_third_of_an_auto_room_joins_the_sfu_and_the_others_hear_it_first() {
        let registry = auto(3, Duration::from_secs(30));
        let mut inboxes = vec![];
        for name in ["A", "B", "C"] {
            let (tx, rx) = mpsc::channel(8);
            let admission = registry.join(&room("r"), profile(name), tx).await.unwrap();
            // Auto rooms are bounded by --max-participants, not by the mesh limit.
            assert_eq!(admission.settings.capacity, 10);
            inboxes.push((admission.settings.media_mode, rx));
        }
        let modes: Vec<_> = inboxes.iter().map(|(mode, _)| *mode).collect();
        assert_eq!(modes, [MediaMode::Mesh, MediaMode::Mesh, MediaMode::Sfu]);
        for (_, inbox) in &mut inboxes[..2] {
            let messages = drain(inbox);
            let switch = messages
                .iter()
                .position(|m| {
                    *m == ServerMessage::MediaMode {
                        mode: MediaMode::Sfu,
                    }
                })
                .expect("told of the switch");
            let newcomer = messages
                .iter()
                .rposition(|m| matches!(m, ServerMessage::ParticipantJoined { .. }))
                .unwrap();
            assert!(switch < newcomer, "{messages:?}");
        }
        assert!(drain(&mut inboxes[2].1).is_empty());
    }

    #[tokio::test]
    async fn an_auto_room_goes_back_to_the_mesh_only_after_the_hold() {
        let hold = Duration::from_secs(30);
        let registry = auto(3, hold);
        let (tx, mut inbox) = mpsc::channel(16);
        let mut ids = vec![];
        for name in ["A", "B", "C"] {
            let admission = registry.join(&room("r"), profile(name), tx.clone()).await;
            ids.push(admission.unwrap().id);
        }
        registry.leave(&room("r"), &ids[2], LeaveReason::Left).await;
        drain(&mut inbox);
        registry.settle(Instant::now() + hold / 2).await;
        assert!(drain(&mut inbox).is_empty());
        registry.settle(Instant::now() + hold * 2).await;
        assert_eq!(
            drain(&mut inbox),
            vec![
                ServerMessage::MediaMode {
                    mode: MediaMode::Mesh
                };
                2
            ]
        );
    }
}
