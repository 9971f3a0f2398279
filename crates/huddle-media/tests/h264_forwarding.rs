//! H.264 is forwarded like VP8: the subscriber starts on an IDR frame, and a late
//! subscriber makes the SFU ask the publisher for one.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::str0m::format::Codec;
use huddle_media::MediaKind;

#[test]
fn h264_publisher_reaches_early_and_late_subscribers() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    b.clients[publisher].codec = Codec::H264;
    let early = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(1));
    let late = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(2));

    for s in [early, late] {
        let video = b.clients[s].received_kind(MediaKind::Video);
        assert!(video.len() > 30, "subscriber {s}: {} frames", video.len());
        assert_eq!(video[0].params.spec().codec, Codec::H264);
        assert!(video[0].is_keyframe(), "subscriber {s} starts on an IDR");
    }
    assert!(b.clients[publisher].keyframe_requests >= 1);
}
