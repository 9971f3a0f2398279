//! A worker whose datagrams wait past its delay bound sheds load in order: lower simulcast layers,
//! then keyframes only for the coldest tiles (smallest first, then the latest to join), then no
//! newcomers; media that waited past the bound is not forwarded at all, and datagrams that waited
//! twice the bound are not even read. It gives it back once its queue is calm.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING, ROOM, SIMULCAST};
use huddle_media::{Arrival, MediaKind, ParticipantId, SfuError, Shedding, SubscriptionSpec};

/// Over half the bound (200 ms): one more step each tick once it lasted half a second.
const PRESSED: Duration = Duration::from_millis(120);
/// Between an eighth and half the bound: the shedding holds.
const HOLDING: Duration = Duration::from_millis(50);
const PAST_THE_BOUND: Duration = Duration::from_millis(300);
/// Past twice the bound.
const STALE: Duration = Duration::from_millis(450);
const TICK: Duration = Duration::from_millis(100);

fn keyframes_and_deltas(b: &Bench, client: usize) -> (usize, usize) {
    let video = b.clients[client].received_kind(MediaKind::Video);
    let keyframes = video.iter().filter(|d| d.is_keyframe()).count();
    (keyframes, video.len() - keyframes)
}

/// Media at `delay` until the shedding changes, then `hold` of media (counted from a clear) at a
/// delay that changes nothing.
fn press(b: &mut Bench, delay: Duration, hold: Duration) {
    let before = b.sfu.load().shedding;
    let until = b.now + TICK * 10;
    b.uplink_queue_delay = delay;
    b.send_media_while(|b| b.sfu.load().shedding == before && b.now < until);
    b.uplink_queue_delay = HOLDING;
    // What was on its way before the change lands first.
    b.send_media(Duration::from_millis(100));
    for c in &mut b.clients {
        c.clear_events();
    }
    b.send_media(hold);
}

#[test]
fn a_worker_past_its_bound_sheds_layers_then_the_coldest_tiles_then_newcomers() {
    let mut b = Bench::new();
    let publisher = b.join(SIMULCAST);
    let thumbnail = b.join(NOTHING);
    let early = b.join(NOTHING);
    let middle = b.join(NOTHING);
    let late = b.join(NOTHING);
    b.connect_all();
    let track = b.track(publisher, MediaKind::Video);
    let thumbnail_id = b.clients[thumbnail].id;
    b.sfu
        .set_subscription(thumbnail_id, track, SubscriptionSpec::visible(320, 180))
        .unwrap();
    b.send_media(Duration::from_secs(2));
    assert_eq!(b.clients[thumbnail].layers_received().last(), Some(&0));
    assert_eq!(b.clients[early].layers_received().last(), Some(&2));

    // First step: the layer below for everybody; the lowest layer has nothing below it.
    press(&mut b, PRESSED, Duration::from_secs(1));
    assert_eq!(b.sfu.load().shedding, Shedding::LowerLayers);
    for viewer in [early, middle, late] {
        assert_eq!(
            b.clients[viewer].layers_received().last(),
            Some(&1),
            "{viewer}"
        );
    }
    assert_eq!(b.clients[thumbnail].layers_received().last(), Some(&0));
    let newcomer = ParticipantId(90);
    b.sfu.join(ROOM, newcomer, Arrival::Newcomer).unwrap();
    b.sfu.leave(newcomer);

    // Then an eighth of the video subscriptions (one of four) get keyframes only: the smallest
    // tile.
    press(&mut b, PRESSED, Duration::from_secs(1));
    let load = b.sfu.load();
    assert_eq!(load.shedding, Shedding::KeyframesOnly { eighths: 1 });
    assert_eq!(load.keyframes_only, 1);
    assert_eq!(keyframes_and_deltas(&b, thumbnail).1, 0);
    let (_, deltas) = keyframes_and_deltas(&b, late);
    assert!(deltas > 20, "the others keep their video: {deltas} deltas");
    b.sfu.join(ROOM, newcomer, Arrival::Newcomer).unwrap();
    b.sfu.leave(newcomer);

    // Among tiles of one size, the latest to join goes next. Keyframes-only tiles get a fresh
    // keyframe every four seconds.
    press(&mut b, PRESSED, Duration::ZERO);
    press(&mut b, PRESSED, Duration::from_secs(4));
    let load = b.sfu.load();
    assert_eq!(load.shedding, Shedding::KeyframesOnly { eighths: 3 });
    assert_eq!(load.keyframes_only, 2);
    // Now newcomers are refused; members moving in are not.
    assert!(matches!(
        b.sfu.join(ROOM, newcomer, Arrival::Newcomer),
        Err(SfuError::Overloaded(ROOM))
    ));
    b.sfu.join(ROOM, newcomer, Arrival::Member).unwrap();
    b.sfu.leave(newcomer);
    assert_eq!(b.sfu.stats().joins_refused, 1);
    let (keyframes, deltas) = keyframes_and_deltas(&b, thumbnail);
    assert!(
        keyframes >= 1 && deltas == 0,
        "{keyframes} keyframes, {deltas} deltas"
    );
    // The deltas left out leave no gap in its sequence numbers.
    let video = b.clients[thumbnail].received_kind(MediaKind::Video);
    assert!(video[1..].iter().all(|d| d.contiguous));
    let (_, deltas) = keyframes_and_deltas(&b, late);
    assert_eq!(deltas, 0, "the latest to join gets keyframes only");
    let (_, deltas) = keyframes_and_deltas(&b, early);
    assert!(
        deltas > 100,
        "the first to join keeps its video: {deltas} deltas"
    );

    // A calm queue gives a step back every second, down to nothing.
    b.uplink_queue_delay = Duration::ZERO;
    b.send_media(Duration::from_secs(9));
    let load = b.sfu.load();
    assert_eq!(load.shedding, Shedding::Nothing);
    assert_eq!(load.keyframes_only, 0);
    for c in &mut b.clients {
        c.clear_events();
    }
    b.send_media(Duration::from_secs(1));
    assert_eq!(b.clients[late].layers_received().last(), Some(&2));
    let (_, deltas) = keyframes_and_deltas(&b, thumbnail);
    assert!(deltas > 20, "the thumbnail moves again: {deltas} deltas");
    b.sfu.join(ROOM, newcomer, Arrival::Newcomer).unwrap();
}

#[test]
fn media_that_waited_past_the_bound_is_not_forwarded() {
    let (mut b, viewer) = a_publisher_and_a_viewer();
    send_waiting(&mut b, viewer, PAST_THE_BOUND);
    assert!(
        b.clients[viewer].received().is_empty(),
        "late media was forwarded"
    );
    assert!(b.sfu.stats().frames_late > 30);
    assert_catches_up(&mut b, viewer);
}

#[test]
fn datagrams_that_waited_twice_the_bound_are_dropped_unread_and_the_call_goes_on() {
    let (mut b, viewer) = a_publisher_and_a_viewer();
    let late = b.sfu.stats().frames_late;
    send_waiting(&mut b, viewer, STALE);
    assert!(
        b.clients[viewer].received().is_empty(),
        "stale media was forwarded"
    );
    assert!(b.sfu.stats().datagrams_stale > 30);
    assert_eq!(b.sfu.stats().frames_late, late, "nothing of them was read");
    assert_catches_up(&mut b, viewer);
}

/// A publisher of audio and video and a viewer, who gets its media.
fn a_publisher_and_a_viewer() -> (Bench, usize) {
    let mut b = Bench::new();
    let _publisher = b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(1));
    assert!(!b.clients[viewer].received_kind(MediaKind::Audio).is_empty());
    (b, viewer)
}

/// Half a second of media whose datagrams wait `delay` for the worker, the viewer's events
/// cleared before it.
fn send_waiting(b: &mut Bench, viewer: usize, delay: Duration) {
    b.uplink_queue_delay = delay;
    b.run_for(TICK);
    b.clients[viewer].clear_events();
    b.send_media(Duration::from_millis(500));
}

/// Once nothing waits: audio at once, video from a keyframe on.
fn assert_catches_up(b: &mut Bench, viewer: usize) {
    b.uplink_queue_delay = Duration::ZERO;
    b.send_media(Duration::from_secs(5));
    assert!(b.clients[viewer].received_kind(MediaKind::Audio).len() > 200);
    let video = b.clients[viewer].received_kind(MediaKind::Video);
    assert!(
        video.first().is_some_and(|d| d.is_keyframe()),
        "video starts at a keyframe"
    );
}
