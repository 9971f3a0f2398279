//! A subscriber whose bandwidth estimate starts low gets the low layer, and the SFU
//! asks str0m's estimator to probe towards what the tile wants.

mod common;

use std::time::Duration;

use common::{layer_frame_size, Bench, NOTHING, SIMULCAST};
use huddle_media::str0m::bwe::Bitrate;
use huddle_media::{MediaKind, SubscriptionSpec};

fn last_layer(b: &Bench, client: usize) -> Option<usize> {
    let d = b.clients[client].received_kind(MediaKind::Video);
    let last = d.last()?;
    (0..3).find(|i| layer_frame_size(*i) == last.data.len())
}

#[test]
fn low_estimate_caps_the_layer_then_probing_lifts_it() {
    let mut b = Bench::with_config(|mut c| {
        c.initial_bwe = Bitrate::kbps(150);
        c
    });
    let publisher = b.join(SIMULCAST);
    let viewer = b.join(NOTHING);
    b.connect_all();
    let track = b.track(publisher, MediaKind::Video);
    let viewer_id = b.clients[viewer].id;
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::visible(1280, 720))
        .unwrap();

    b.send_media(Duration::from_millis(1500));
    // 150 kbit/s at first: not the 768 kbit/s top layer the tile would want.
    let early = last_layer(&b, viewer);
    assert!(matches!(early, Some(0) | Some(1)), "early layer {early:?}");

    b.send_media(Duration::from_secs(25));
    let layer = last_layer(&b, viewer);
    assert_eq!(layer, Some(2), "probing never reached the top layer");
}
