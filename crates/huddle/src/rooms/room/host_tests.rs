//! Who is host: made by an open room, waited for after a lost connection, inherited.

use super::*;

/// Admits `id` asking for `role`; the role it gets, and its inbox (kept so it stays a member).
fn admit(room: &mut Room, id: &str, role: Role) -> (Role, mpsc::Receiver<ServerMessage>) {
    admit_as(room, id, role, AuthorKey::random())
}

fn admit_as(
    room: &mut Room,
    id: &str,
    role: Role,
    author: AuthorKey,
) -> (Role, mpsc::Receiver<ServerMessage>) {
    let (tx, rx) = mpsc::channel(8);
    let newcomer = Participant {
        id: ParticipantId(id.into()),
        name: id.into(),
        media: MediaState::default(),
        role,
    };
    let (_, role) = room.admit(newcomer, author, tx, Instant::now()).unwrap();
    (role, rx)
}

fn role_of(room: &Room, id: &str) -> Option<Role> {
    let participants = room.participants();
    participants.iter().find(|p| p.id.0 == id).map(|p| p.role)
}

#[test]
fn a_host_who_lost_the_connection_is_waited_for_then_the_longest_present_inherits() {
    let mut room = Room::new(RoomPolicy::mesh(8));
    let start = Instant::now();
    let (_, _a) = admit(&mut room, "a", Role::Participant);
    let (_, _b) = admit(&mut room, "b", Role::Participant);
    let (_, _c) = admit(&mut room, "c", Role::Participant);
    room.remove(&ParticipantId("a".into()), LeaveReason::Disconnected, start);
    assert_eq!(role_of(&room, "b"), Some(Role::Participant));
    let (role, _d) = admit(&mut room, "d", Role::Participant);
    assert_eq!(role, Role::Participant, "a newcomer to a hostless room");
    room.settle(start + HOST_RETURN_GRACE - Duration::from_secs(1));
    assert_eq!(role_of(&room, "b"), Some(Role::Participant));
    room.settle(start + HOST_RETURN_GRACE);
    assert_eq!(role_of(&room, "b"), Some(Role::Host));
    assert_eq!(role_of(&room, "c"), Some(Role::Participant));
}

#[test]
fn a_host_coming_back_in_time_is_host_again() {
    let mut room = Room::new(RoomPolicy::mesh(8));
    let host = AuthorKey::random();
    let (_, _a) = admit_as(&mut room, "a", Role::Participant, host.clone());
    let (_, _b) = admit(&mut room, "b", Role::Participant);
    room.remove(
        &ParticipantId("a".into()),
        LeaveReason::Disconnected,
        Instant::now(),
    );
    assert_eq!(room.arrival(&host), Arrival::ReturningHost);
    assert_eq!(room.arrival(&AuthorKey::random()), Arrival::Newcomer);
    let (role, _a) = admit_as(&mut room, "a2", Role::Participant, host.clone());
    assert_eq!(role, Role::Host);
    assert_eq!(room.arrival(&host), Arrival::Newcomer);
}

#[test]
fn open_room_makes_its_first_member_host_and_replaces_a_host_who_leaves() {
    let mut room = Room::new(RoomPolicy::mesh(4));
    let (role, _a) = admit(&mut room, "a", Role::Participant);
    assert_eq!(role, Role::Host);
    let (role, _v) = admit(&mut room, "v", Role::Viewer);
    assert_eq!(role, Role::Viewer);
    let (role, _b) = admit(&mut room, "b", Role::Participant);
    assert_eq!(role, Role::Participant);
    let a = ParticipantId("a".into());
    room.remove(&a, LeaveReason::Left, Instant::now());
    let roles: Vec<_> = room
        .participants()
        .iter()
        .map(|p| (p.id.0.clone(), p.role))
        .collect();
    assert_eq!(
        roles,
        vec![("b".into(), Role::Host), ("v".into(), Role::Viewer)]
    );
}

#[test]
fn rooms_with_tokens_make_no_host_by_themselves() {
    let mut room = Room::new(RoomPolicy {
        auto_host: false,
        ..RoomPolicy::mesh(4)
    });
    let (role, _a) = admit(&mut room, "a", Role::Participant);
    assert_eq!(role, Role::Participant);
}

#[test]
fn announcements_reach_hosts_or_one_member_only() {
    let mut room = Room::new(RoomPolicy::mesh(4));
    let (_, mut host) = admit(&mut room, "h", Role::Host);
    let (_, mut guest) = admit(&mut room, "g", Role::Participant);
    let drain = |inbox: &mut mpsc::Receiver<ServerMessage>| {
        std::iter::from_fn(|| inbox.try_recv().ok()).collect::<Vec<_>>()
    };
    drain(&mut host);
    drain(&mut guest);
    let message = ServerMessage::KnockEnded {
        id: ParticipantId("k".into()),
    };
    assert!(room.announce(&Notice::Plain(message.clone()), &Audience::Hosts));
    assert_eq!(drain(&mut host), vec![message.clone()]);
    assert!(drain(&mut guest).is_empty());
    let to_guest = Audience::Member(ParticipantId("g".into()));
    assert!(room.announce(&Notice::Plain(message.clone()), &to_guest));
    assert_eq!(drain(&mut guest), vec![message.clone()]);
    assert!(drain(&mut host).is_empty());
    let to_nobody = Audience::Member(ParticipantId("x".into()));
    assert!(!room.announce(&Notice::Plain(message), &to_nobody));
}
