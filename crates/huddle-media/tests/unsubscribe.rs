//! Unsubscribing stops a track for one subscriber (its m-line is stopped by
//! renegotiation) without touching the others; subscribing again brings it back.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::{MediaKind, SfuEvent, SubscriptionSpec};

#[test]
fn unsubscribe_then_resubscribe() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let a = b.join(NOTHING);
    let other = b.join(NOTHING);
    b.connect_all();
    let track = b.track(publisher, MediaKind::Video);
    let a_id = b.clients[a].id;

    b.sfu.unsubscribe(a_id, track).unwrap();
    b.run_for(Duration::from_millis(50));
    b.clients[a].clear_events();
    b.clients[other].clear_events();
    b.send_media(Duration::from_secs(1));
    assert!(b.clients[a].received_kind(MediaKind::Video).is_empty());
    assert!(!b.clients[a].received_kind(MediaKind::Audio).is_empty());
    let n = b.clients[other].received_kind(MediaKind::Video).len();
    assert!(
        n > 20,
        "other got {n} frames, publisher asked {} times",
        b.clients[publisher].keyframe_requests
    );

    let mark = b.sfu_events.len();
    b.sfu
        .set_subscription(a_id, track, SubscriptionSpec::visible(640, 360))
        .unwrap();
    b.send_media(Duration::from_secs(1));
    assert!(b.events_since(mark).iter().any(
        |e| matches!(e, SfuEvent::TrackSubscribed { participant, .. } if *participant == a_id)
    ));
    let video = b.clients[a].received_kind(MediaKind::Video);
    assert!(
        video.len() > 10,
        "resubscribed video: {} frames",
        video.len()
    );
}

#[test]
fn cannot_subscribe_to_own_track() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    b.connect_all();
    let track = b.track(publisher, MediaKind::Video);
    let id = b.clients[publisher].id;
    assert!(b
        .sfu
        .set_subscription(id, track, SubscriptionSpec::default())
        .is_err());
}
