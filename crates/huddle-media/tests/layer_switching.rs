//! A subscriber of a simulcast publisher gets the layer that fits its tile, switches
//! at a keyframe when the tile changes size, and gets no video for a hidden tile.

mod common;

use std::time::Duration;

use common::{Bench, NOTHING, SIMULCAST};
use huddle_media::{MediaKind, SubscriptionSpec};

#[test]
fn layer_follows_tile_size_and_visibility() {
    let mut b = Bench::new();
    let publisher = b.join(SIMULCAST);
    let viewer = b.join(NOTHING);
    b.connect_all();
    let track = b.track(publisher, MediaKind::Video);
    let viewer_id = b.clients[viewer].id;

    // A thumbnail gets the lowest layer.
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::visible(320, 180))
        .unwrap();
    b.send_media(Duration::from_secs(2));
    let layers = b.clients[viewer].layers_received();
    assert!(layers.len() > 30, "got {} frames", layers.len());
    assert!(
        layers.iter().all(|l| *l == 0),
        "thumbnail layers: {layers:?}"
    );

    // Spotlight: switch to the top layer, on a keyframe, with continuous RTP time.
    b.clients[viewer].clear_events();
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::visible(1280, 720))
        .unwrap();
    b.send_media(Duration::from_secs(2));
    let layers = b.clients[viewer].layers_received();
    assert_eq!(layers.last(), Some(&2), "spotlight layers: {layers:?}");
    let video = b.clients[viewer].received_kind(MediaKind::Video);
    let first_top = layers.iter().position(|l| *l == 2).unwrap();
    assert!(
        video[first_top].is_keyframe(),
        "switch happens on a keyframe"
    );
    assert!(
        layers[first_top..].iter().all(|l| *l == 2),
        "no flapping back"
    );
    let times: Vec<u64> = video.iter().map(|d| d.time.numer()).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "RTP time stays monotonic across the switch"
    );
    // One stream to the subscriber across the switch: no gap in its sequence numbers, or it would
    // ask for packets that never come. (str0m's packetizer in these clients sends no VP8 picture
    // ids; their renumbering is `rewrite.rs`'s unit tests' to show.)
    assert!(
        video[1..].iter().all(|d| d.contiguous),
        "sequence numbers go on without a gap"
    );

    // Medium tile: the middle layer.
    b.clients[viewer].clear_events();
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::visible(640, 360))
        .unwrap();
    b.send_media(Duration::from_secs(2));
    assert_eq!(b.clients[viewer].layers_received().last(), Some(&1));

    // Off screen: nothing.
    b.sfu
        .set_subscription(viewer_id, track, SubscriptionSpec::hidden())
        .unwrap();
    b.run_for(Duration::from_millis(50));
    b.clients[viewer].clear_events();
    b.send_media(Duration::from_secs(1));
    assert!(
        b.clients[viewer].layers_received().is_empty(),
        "hidden tile got video"
    );
}
