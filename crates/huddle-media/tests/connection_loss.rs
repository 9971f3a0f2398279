//! A client that vanishes without leaving (closed laptop, lost network) is noticed
//! by ICE, removed, and its tracks unpublished for the others.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::SfuEvent;

#[test]
fn vanished_client_is_removed_and_its_tracks_unpublished() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_millis(500));

    // The publisher's machine goes silent: it is no longer driven at all.
    let gone = b.clients.remove(publisher);
    let viewer = viewer - 1;
    let mark = b.sfu_events.len();
    b.run_for(Duration::from_secs(60));

    let events = b.events_since(mark);
    assert!(
        events.iter().any(
            |e| matches!(e, SfuEvent::Disconnected { participant, .. } if *participant == gone.id)
        ),
        "no Disconnected event: {events:?}"
    );
    let unpublished = events
        .iter()
        .filter(
            |e| matches!(e, SfuEvent::TrackUnpublished { track, .. } if track.publisher == gone.id),
        )
        .count();
    assert_eq!(unpublished, 2);
    assert_eq!(
        b.sfu.participant_ids(common::ROOM),
        vec![b.clients[viewer].id]
    );
}
