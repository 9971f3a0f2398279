//! When a participant leaves, its tracks are unpublished for the others, their
//! m-lines are stopped by renegotiation, and nothing more is forwarded.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::{MediaKind, SfuEvent};

#[test]
fn publisher_leave_stops_forwarding_and_unpublishes_tracks() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let s1 = b.join(NOTHING);
    let s2 = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(1));
    assert!(!b.clients[s1].received_kind(MediaKind::Video).is_empty());

    let mark = b.sfu_events.len();
    let id = b.clients[publisher].id;
    b.sfu.leave(id);
    // Datagrams already on the wire still arrive.
    b.run_for(Duration::from_millis(20));
    for c in [s1, s2] {
        b.clients[c].clear_events();
    }
    b.send_media(Duration::from_secs(1));

    let unpublished = b
        .events_since(mark)
        .iter()
        .filter(|e| matches!(e, SfuEvent::TrackUnpublished { track, .. } if track.publisher == id))
        .count();
    assert_eq!(unpublished, 2, "video and audio unpublished");
    for c in [s1, s2] {
        assert!(b.clients[c].received().is_empty(), "media after leave");
    }
    // The subscribers renegotiated: their m-lines for the gone tracks are stopped.
    let offers = b
        .events_since(mark)
        .iter()
        .filter(|e| matches!(e, SfuEvent::Offer { .. }))
        .count();
    assert_eq!(offers, 2, "one stop renegotiation per remaining subscriber");
    assert_eq!(b.sfu.participant_ids(common::ROOM).len(), 2);
}

#[test]
fn subscriber_leave_does_not_disturb_the_others() {
    let mut b = Bench::new();
    let _publisher = b.join(AV);
    let s1 = b.join(NOTHING);
    let s2 = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(1));

    let id = b.clients[s1].id;
    b.sfu.leave(id);
    b.clients[s2].clear_events();
    b.send_media(Duration::from_secs(1));
    assert!(b.clients[s2].received_kind(MediaKind::Video).len() > 20);
    // Leaving twice is harmless.
    b.sfu.leave(id);
}

#[test]
fn last_one_out_closes_the_room() {
    let mut b = Bench::new();
    let a = b.join(AV);
    b.connect_all();
    let id = b.clients[a].id;
    b.sfu.leave(id);
    b.run_for(Duration::from_millis(50));
    assert!(b.sfu.participant_ids(common::ROOM).is_empty());
    // A datagram from the gone participant is refused, not a panic.
    assert!(b
        .sfu
        .handle_receive(
            b.now,
            b.clients[a].addr,
            common::sfu_addr(),
            &[0x80, 0, 0, 0]
        )
        .is_err());
}
