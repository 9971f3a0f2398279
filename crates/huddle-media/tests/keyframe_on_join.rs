//! A subscriber that joins late gets a keyframe: the SFU asks the publisher for one
//! instead of making the newcomer wait for the next periodic keyframe.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::MediaKind;

#[test]
fn late_subscriber_triggers_keyframe_request_and_starts_on_keyframe() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let early = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(2));
    let requests_before = b.clients[publisher].keyframe_requests;
    assert!(b.clients[early].received_kind(MediaKind::Video).len() > 30);

    // The test publisher only sends keyframes when asked (after its first frame).
    let late = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(2));

    assert!(
        b.clients[publisher].keyframe_requests > requests_before,
        "the publisher was not asked for a keyframe"
    );
    let video = b.clients[late].received_kind(MediaKind::Video);
    assert!(
        video.len() > 30,
        "late subscriber got {} frames",
        video.len()
    );
    assert!(
        video[0].is_keyframe(),
        "the first frame of a late subscriber is a keyframe"
    );
}

#[test]
fn keyframe_requests_are_rate_limited() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    for _ in 0..5 {
        b.join(NOTHING);
    }
    b.connect_all();
    b.send_media(Duration::from_secs(3));
    // Five subscribers joining at once, each wanting a keyframe: the limiter (300 ms once a
    // keyframe came) allows at most a handful over three seconds, not one per subscriber per frame.
    let n = b.clients[publisher].keyframe_requests;
    assert!(n >= 1, "no keyframe request reached the publisher");
    assert!(n <= 7, "{n} keyframe requests in 3 s is not rate limited");
}
