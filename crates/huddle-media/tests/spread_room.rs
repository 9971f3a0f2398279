//! A room spread over two workers: each packet crosses to the other worker once, whatever the
//! number of subscribers there; every subscriber gets every frame once; layer choice and the
//! keyframes it needs cross back to the publisher's worker; what a member asks of a track before
//! it reached its worker is kept; a subscriber whose session moves to the other worker keeps
//! its tiles.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{layer_frame_size, Bench, AV, NOTHING, SIMULCAST};
use huddle_media::{MediaKind, SfuEvent, SubscriptionSpec};

#[test]
fn each_packet_crosses_once_and_reaches_every_subscriber_once() {
    let mut b = Bench::with_workers(2, |c| c);
    b.join_on(0, AV);
    let here = [b.join_on(0, NOTHING), b.join_on(0, NOTHING)];
    let there = [
        b.join_on(1, NOTHING),
        b.join_on(1, NOTHING),
        b.join_on(1, NOTHING),
    ];
    b.spread();
    b.connect_all();
    b.run_for(Duration::from_millis(200));
    b.send_media(Duration::from_secs(2));

    for s in here.into_iter().chain(there.iter().copied()) {
        let video = b.clients[s].received_kind(MediaKind::Video);
        let audio = b.clients[s].received_kind(MediaKind::Audio);
        assert!(
            video.len() > 50,
            "subscriber {s}: {} video frames",
            video.len()
        );
        assert!(
            audio.len() > 90,
            "subscriber {s}: {} audio packets",
            audio.len()
        );
        assert!(
            video[0].is_keyframe(),
            "subscriber {s} starts at a keyframe"
        );
        let times: HashSet<u64> = video.iter().map(|d| d.time.numer()).collect();
        assert_eq!(times.len(), video.len(), "subscriber {s} got a frame twice");
    }
    // Each packet once for three subscribers on the other worker, not three times.
    let got: u64 = b.clients[there[0]]
        .received()
        .iter()
        .map(|d| **d.seq_range.end() - **d.seq_range.start() + 1)
        .sum();
    let relayed = b.packets_relayed as u64;
    assert!(
        relayed >= got && relayed * 10 <= got * 11,
        "{relayed} packets relayed for the {got} each subscriber there got"
    );
    let stats = (b.sfu.stats(), b.worker(1).stats());
    assert!(stats.0.packets_forwarded > 0 && stats.1.packets_forwarded > 0);
    // Signaling hears of each track once, from the publisher's worker.
    let published_events = b
        .sfu_events
        .iter()
        .filter(|e| matches!(e, SfuEvent::TrackPublished { .. }))
        .count();
    assert_eq!(published_events, 2);
}

#[test]
fn layer_choice_and_its_keyframes_cross_to_the_publishers_worker() {
    let mut b = Bench::with_workers(2, |c| c);
    let publisher = b.join_on(1, SIMULCAST);
    let viewer = b.join_on(0, NOTHING);
    b.spread();
    b.connect_all();
    let track = b.track(publisher, MediaKind::Video);
    let viewer_id = b.clients[viewer].id;
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::visible(320, 180))
        .unwrap();
    b.send_media(Duration::from_secs(2));
    assert_eq!(
        b.clients[viewer].layers_received().last(),
        Some(&0),
        "thumbnail: lowest layer"
    );

    let asked = b.clients[publisher].keyframe_requests;
    b.clients[viewer].clear_events();
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::visible(1280, 720))
        .unwrap();
    b.send_media(Duration::from_secs(2));
    assert!(
        b.clients[publisher].keyframe_requests > asked,
        "no keyframe asked across"
    );
    assert_eq!(
        b.clients[viewer].layers_received().last(),
        Some(&2),
        "spotlight: top layer"
    );
}

#[test]
fn a_view_that_comes_before_the_track_reached_the_subscribers_worker_is_kept() {
    let mut b = Bench::with_workers(2, |c| c);
    let viewer = b.join_on(0, NOTHING);
    let publisher = b.join_on(1, SIMULCAST);
    b.spread();
    // Signaling learns the track from the publisher's worker; the viewer's may not know it yet.
    let track = huddle_media::TrackId {
        publisher: b.clients[publisher].id,
        mid: b.clients[publisher].video_mid.unwrap(),
    };
    let viewer_id = b.clients[viewer].id;
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::visible(320, 180))
        .expect("kept until the track comes");
    b.connect_all();
    b.send_media(Duration::from_secs(2));
    let video = b.clients[viewer].received_kind(MediaKind::Video);
    assert!(video.len() > 30, "{} frames", video.len());
    assert!(video.iter().all(|d| d.data.len() == layer_frame_size(0)));
}

#[test]
fn a_member_alone_on_its_worker_still_gets_the_room() {
    let mut b = Bench::with_workers(2, |c| c);
    let publisher = b.join_on(0, AV);
    b.spread();
    b.connect_all();
    b.send_media(Duration::from_millis(500));
    // A member arriving on the second worker learns what was published before it came.
    let late = b.join_on(1, NOTHING);
    b.spread();
    b.connect_all();
    b.run_for(Duration::from_millis(200));
    b.send_media(Duration::from_secs(1));
    assert!(b.clients[late].received_kind(MediaKind::Video).len() > 20);
    assert!(b.clients[publisher].received().is_empty());
}

/// A subscriber reconnects and is placed on the other worker: its tile of the publisher plays
/// again from a keyframe, at the layer the tile asks for, now relayed to the new worker; and
/// what it publishes still reaches the one who watched it.
#[test]
fn a_subscriber_moved_between_workers_keeps_its_tile() {
    let mut b = Bench::with_workers(2, |c| c);
    let publisher = b.join_on(0, SIMULCAST);
    let mover = b.join_on(0, AV);
    let watcher = b.join_on(1, NOTHING);
    b.spread();
    b.connect_all();
    let track = b.track(publisher, MediaKind::Video);
    let thumbnail = SubscriptionSpec::visible(320, 180);
    let mover_id = b.clients[mover].id;
    b.sfu.set_subscription(mover_id, track, thumbnail).unwrap();
    b.send_media(Duration::from_secs(1));
    assert_eq!(b.clients[mover].layers_received().last(), Some(&0));

    b.move_to(mover, 1);
    b.spread();
    // The browser tells its new session the view it has, as on every connection.
    b.worker(1)
        .set_subscription(mover_id, track, thumbnail)
        .expect("the track is known on the worker the subscriber moved to");
    b.connect_all();
    b.clients[watcher].clear_events();
    let relayed = b.packets_relayed;
    b.send_media(Duration::from_secs(2));

    let video = b.clients[mover].received_kind(MediaKind::Video);
    assert!(video.len() > 30, "{} frames after the move", video.len());
    assert!(
        video[0].is_keyframe(),
        "the moved tile starts at a keyframe"
    );
    assert!(video.iter().all(|d| d.data.len() == layer_frame_size(0)));
    assert!(
        b.packets_relayed > relayed,
        "the publisher's frames now cross"
    );
    let moved = b.track(mover, MediaKind::Video);
    let mid = b
        .subscribed_mid(watcher, moved)
        .expect("the watcher is subscribed to the moved camera");
    let watched = b.clients[watcher]
        .received_kind(MediaKind::Video)
        .iter()
        .filter(|d| d.mid.to_string() == mid)
        .count();
    assert!(
        watched > 30,
        "the watcher got {watched} frames of the moved camera"
    );
}
