use super::*;
use crate::protocol::{SdpKind, SessionDescription};

fn participant(id: &str) -> Participant {
    Participant {
        id: ParticipantId(id.into()),
        name: id.to_uppercase(),
        media: MediaState::default(),
        role: Role::Participant,
    }
}

fn key(id: &str) -> AuthorKey {
    AuthorKey::from_identity(&format!("identity-of-{id}-0123456789")).unwrap()
}

fn join(room: &mut Room, id: &str) -> mpsc::Receiver<ServerMessage> {
    let (tx, rx) = mpsc::channel(8);
    room.admit(participant(id), key(id), tx, Instant::now())
        .unwrap();
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
    let (others, _) = room
        .admit(participant("b"), key("b"), tx, Instant::now())
        .unwrap();
    // The first to join an open room hosts it.
    let host = Participant {
        role: Role::Host,
        ..participant("a")
    };
    assert_eq!(others, vec![host]);
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
        room.admit(participant("b"), key("b"), tx, Instant::now()),
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
    assert_eq!(room.relay(&a, &b_id, offer()), Ok(()));
    assert_eq!(
        b.try_recv().unwrap(),
        ServerMessage::Signal {
            from: a.clone(),
            signal: offer()
        }
    );
    let elsewhere = ParticipantId("elsewhere".into());
    assert_eq!(
        room.relay(&a, &elsewhere, offer()),
        Err(RelayError::UnknownParticipant(elsewhere))
    );
}

#[test]
fn relays_to_a_member_with_a_backlog_are_refused_and_the_member_stays() {
    let mut room = mesh_room(4);
    let _a = join(&mut room, "a");
    let (tx, _never_read) = mpsc::channel(RELAY_BACKLOG + 1);
    room.admit(participant("slow"), key("slow"), tx, Instant::now())
        .unwrap();
    let (a, slow) = (ParticipantId("a".into()), ParticipantId("slow".into()));
    for _ in 0..RELAY_BACKLOG {
        assert_eq!(room.relay(&a, &slow, offer()), Ok(()));
    }
    assert_eq!(
        room.relay(&a, &slow, offer()),
        Err(RelayError::RecipientBusy(slow.clone()))
    );
    assert!(room.contains(&slow));
}

#[test]
fn slow_member_is_dropped_and_announced() {
    let mut room = mesh_room(4);
    let mut a = join(&mut room, "a");
    let (tx, _never_read) = mpsc::channel(1);
    room.admit(participant("slow"), key("slow"), tx, Instant::now())
        .unwrap();
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

#[test]
fn laggards_falling_behind_together_are_each_dropped_and_announced_once() {
    // Announcing one departure must not recurse into the next laggard's: a stalled
    // server can leave thousands behind at once, and this thread has a small stack.
    let laggards = 1000;
    std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || drop_laggards(laggards))
        .unwrap()
        .join()
        .unwrap();
}

fn drop_laggards(laggards: usize) {
    let mut room = mesh_room(laggards + 1);
    let (tx, mut a) = mpsc::channel(2 * laggards + 8);
    room.admit(participant("a"), key("a"), tx, Instant::now())
        .unwrap();
    let mut never_read = vec![];
    let slow: Vec<ParticipantId> = (0..laggards)
        .map(|i| ParticipantId(format!("slow{i:04}")))
        .collect();
    for (i, id) in slow.iter().enumerate() {
        // Room for the later joins and one update: the second update finds them all full.
        let (tx, rx) = mpsc::channel(laggards - i);
        room.admit(participant(&id.0), key(&id.0), tx, Instant::now())
            .unwrap();
        never_read.push(rx);
    }
    let media = MediaState {
        audio: true,
        ..MediaState::default()
    };
    room.update(&ParticipantId("a".into()), media, None);
    room.update(&ParticipantId("a".into()), media, None);
    assert_eq!(room.len(), 1);
    let left: Vec<ParticipantId> = std::iter::from_fn(|| a.try_recv().ok())
        .filter_map(|m| match m {
            ServerMessage::ParticipantLeft { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(left, slow);
}

#[test]
fn hands_queue_in_order_and_a_leavers_hand_goes_down() {
    let mut room = mesh_room(4);
    let mut a = join(&mut room, "a");
    let _b = join(&mut room, "b");
    a.try_recv().unwrap();
    let (a_id, b_id) = (ParticipantId("a".into()), ParticipantId("b".into()));
    room.raise_hand(&b_id, true);
    room.raise_hand(&a_id, true);
    room.raise_hand(&b_id, true);
    assert_eq!(room.hands(), vec![b_id.clone(), a_id.clone()]);
    room.remove(&b_id, LeaveReason::Left, Instant::now());
    assert_eq!(room.hands(), vec![a_id.clone()]);
    let last = std::iter::from_fn(|| a.try_recv().ok()).last().unwrap();
    assert_eq!(last, ServerMessage::Hands { queue: vec![a_id] });
}

#[test]
fn announcements_skip_the_sender() {
    let mut room = mesh_room(4);
    let mut a = join(&mut room, "a");
    let mut b = join(&mut room, "b");
    a.try_recv().unwrap();
    let message = ServerMessage::WhiteboardRemoved { id: "s1".into() };
    let everyone_but_a = Audience::AllBut(ParticipantId("a".into()));
    assert!(room.announce(&Notice::Plain(message.clone()), &everyone_but_a));
    assert_eq!(b.try_recv().unwrap(), message);
    assert!(a.try_recv().is_err());
}

#[test]
fn a_room_moving_in_keeps_its_media_mode_and_gives_nobody_a_role_for_coming_first() {
    let policy = RoomPolicy {
        media: crate::rooms::MediaPolicy::Auto(crate::rooms::AutoSwitch {
            threshold: 3,
            hold: Duration::from_secs(30),
        }),
        ..RoomPolicy::mesh(8)
    };
    let mut room = Room::moved_in(policy, MediaMode::Sfu);
    assert_eq!(
        room.settings().media_mode,
        MediaMode::Sfu,
        "not back to the mesh"
    );
    let (tx, _rx) = mpsc::channel(8);
    let (_, role) = room
        .admit(participant("b"), key("b"), tx, Instant::now())
        .unwrap();
    assert_eq!(role, Role::Participant, "the host is still on its way");
    // An ordinary room's first one in hosts it.
    let (tx, _rx) = mpsc::channel(8);
    let (_, role) = Room::new(policy)
        .admit(participant("a"), key("a"), tx, Instant::now())
        .unwrap();
    assert_eq!(role, Role::Host);
}

/// As [`join`], with room in the inbox for every other member's arrival.
fn join_roomy(room: &mut Room, id: &str) -> mpsc::Receiver<ServerMessage> {
    let (tx, rx) = mpsc::channel(ARRIVALS_BATCHED_FROM * 2);
    room.admit(participant(id), key(id), tx, Instant::now())
        .unwrap();
    rx
}

/// A room of `ARRIVALS_BATCHED_FROM` members, their inboxes emptied (the first member's first).
fn big_room() -> (Room, Vec<mpsc::Receiver<ServerMessage>>) {
    let mut room = mesh_room(ARRIVALS_BATCHED_FROM + 10);
    let mut inboxes: Vec<_> = (0..ARRIVALS_BATCHED_FROM)
        .map(|i| join_roomy(&mut room, &format!("m{i}")))
        .collect();
    for inbox in &mut inboxes {
        while inbox.try_recv().is_ok() {}
    }
    (room, inboxes)
}

fn joined(id: &str) -> ServerMessage {
    ServerMessage::ParticipantJoined {
        participant: participant(id),
    }
}

#[test]
fn a_big_room_announces_arrivals_together_at_its_settle_to_those_who_came_before_them() {
    let (mut room, mut members) = big_room();
    let first = &mut members[0];
    let mut x = join(&mut room, "x");
    let mut y = join(&mut room, "y");
    assert!(first.try_recv().is_err(), "nothing before the settle");
    room.settle(Instant::now());
    assert_eq!(first.try_recv().unwrap(), joined("x"));
    assert_eq!(first.try_recv().unwrap(), joined("y"));
    assert!(first.try_recv().is_err());
    assert_eq!(x.try_recv().unwrap(), joined("y"));
    assert!(x.try_recv().is_err(), "x is not told of itself");
    assert!(y.try_recv().is_err(), "y met x in its `joined`");
    room.settle(Instant::now());
    assert!(first.try_recv().is_err(), "announced once");
}

#[test]
fn nothing_about_a_member_goes_out_before_their_arrival() {
    let (mut room, mut members) = big_room();
    let first = &mut members[0];
    let _x = join(&mut room, "x");
    let media = MediaState {
        audio: true,
        ..MediaState::default()
    };
    room.update(&ParticipantId("x".into()), media, None);
    // Told as they are now, then of the change.
    assert!(matches!(
        first.try_recv().unwrap(),
        ServerMessage::ParticipantJoined { participant } if participant.media == media
    ));
    assert!(matches!(
        first.try_recv().unwrap(),
        ServerMessage::ParticipantUpdated { participant } if participant.media == media
    ));
    let _z = join(&mut room, "z");
    room.remove(
        &ParticipantId("z".into()),
        LeaveReason::Left,
        Instant::now(),
    );
    assert_eq!(first.try_recv().unwrap(), joined("z"));
    assert!(matches!(
        first.try_recv().unwrap(),
        ServerMessage::ParticipantLeft { id, .. } if id.0 == "z"
    ));
}

#[test]
fn a_small_room_announces_a_newcomer_at_once() {
    let mut room = mesh_room(ARRIVALS_BATCHED_FROM);
    let mut a = join_roomy(&mut room, "a");
    let mut others = Vec::new();
    for i in 1..ARRIVALS_BATCHED_FROM {
        others.push(join_roomy(&mut room, &format!("m{i}")));
        assert!(a.try_recv().is_ok(), "member {i} announced at once");
    }
}
