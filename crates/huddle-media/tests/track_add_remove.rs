//! A publisher adding a track (screen share) mid-call gets it to everyone by
//! renegotiation; removing it unpublishes it and stops the subscribers' m-lines.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::str0m::media::{Direction, MediaKind};
use huddle_media::SfuEvent;

#[test]
fn screen_share_added_and_removed_mid_call() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(1));
    assert_eq!(b.clients[viewer].video_mids_received().len(), 1);

    // Add a screen share.
    let mark = b.sfu_events.len();
    let track = b.share_screen(publisher);
    let screen = track.mid;
    b.send_media(Duration::from_secs(1));

    assert!(b.events_since(mark).iter().any(
        |e| matches!(e, SfuEvent::TrackPublished { track: t, kind: MediaKind::Video, .. } if *t == track)
    ));
    let sub_mid = b
        .subscribed_mid(viewer, track)
        .expect("viewer subscribed to the screen");
    let mids = b.clients[viewer].video_mids_received();
    assert_eq!(mids.len(), 2, "camera and screen both arrive: {mids:?}");
    assert!(mids.iter().any(|m| m.to_string() == sub_mid));

    // Remove it: the browser's removeTrack makes the m-line inactive.
    let mark = b.sfu_events.len();
    let Bench { clients, sfu, .. } = &mut b;
    clients[publisher].renegotiate(sfu, |c| c.set_direction(screen, Direction::Inactive));
    b.clients[publisher].screen_mid = None;
    b.run_for(Duration::from_millis(100));
    b.clients[viewer].clear_events();
    b.send_media(Duration::from_secs(1));

    assert!(b
        .events_since(mark)
        .iter()
        .any(|e| matches!(e, SfuEvent::TrackUnpublished { track: t, .. } if *t == track)));
    assert!(b.events_since(mark).iter().any(
        |e| matches!(e, SfuEvent::Offer { participant, .. } if *participant == b.clients[viewer].id)
    ));
    let mids = b.clients[viewer].video_mids_received();
    assert_eq!(mids.len(), 1, "only the camera still arrives: {mids:?}");
    assert!(mids[0].to_string() != sub_mid);
}
