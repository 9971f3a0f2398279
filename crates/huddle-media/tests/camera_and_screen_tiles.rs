//! A publisher's camera and screen share follow their own tiles: a large camera tile gets the
//! camera's top simulcast layer while a hidden screen tile gets nothing, and the other way round.

mod common;

use std::time::Duration;

use common::{layer_frame_size, Bench, NOTHING, SIMULCAST};
use huddle_media::str0m::media::{MediaKind, Mid};
use huddle_media::SubscriptionSpec;

/// Video frames received since the last clear, per subscriber m-line: (mid, frame size).
fn frames_by_mid(b: &Bench, client: usize) -> Vec<(Mid, usize)> {
    b.clients[client]
        .received_kind(MediaKind::Video)
        .iter()
        .map(|d| (d.mid, d.data.len()))
        .collect()
}

#[test]
fn camera_and_screen_take_their_own_size_and_visibility() {
    let mut b = Bench::new();
    let publisher = b.join(SIMULCAST);
    let viewer = b.join(NOTHING);
    b.connect_all();
    let screen = b.share_screen(publisher);
    let camera = b.track(publisher, MediaKind::Video);
    let viewer_id = b.clients[viewer].id;
    b.send_media(Duration::from_secs(1));
    let camera_mid: Mid = b.subscribed_mid(viewer, camera).unwrap().as_str().into();
    let screen_sub: Mid = b.subscribed_mid(viewer, screen).unwrap().as_str().into();

    // Camera large, screen hidden: only the camera's top layer arrives.
    b.sfu
        .set_subscription(viewer_id, camera, SubscriptionSpec::visible(1280, 720))
        .unwrap();
    b.sfu
        .set_subscription(viewer_id, screen, SubscriptionSpec::hidden())
        .unwrap();
    b.send_media(Duration::from_secs(1));
    b.clients[viewer].clear_events();
    b.send_media(Duration::from_secs(2));
    let frames = frames_by_mid(&b, viewer);
    assert!(frames.len() > 30, "got {} frames", frames.len());
    assert!(
        frames
            .iter()
            .all(|(mid, size)| *mid == camera_mid && *size == layer_frame_size(2)),
        "camera top layer only: {frames:?}"
    );

    // Camera a thumbnail, screen large: the camera's lowest layer and the screen.
    b.sfu
        .set_subscription(viewer_id, camera, SubscriptionSpec::visible(320, 180))
        .unwrap();
    b.sfu
        .set_subscription(viewer_id, screen, SubscriptionSpec::visible(1280, 720))
        .unwrap();
    b.send_media(Duration::from_secs(1));
    b.clients[viewer].clear_events();
    b.send_media(Duration::from_secs(2));
    let frames = frames_by_mid(&b, viewer);
    let camera_sizes: Vec<usize> = frames
        .iter()
        .filter(|(mid, _)| *mid == camera_mid)
        .map(|(_, size)| *size)
        .collect();
    let screen_frames = frames.iter().filter(|(mid, _)| *mid == screen_sub).count();
    assert!(
        camera_sizes.len() > 30,
        "camera frames: {}",
        camera_sizes.len()
    );
    assert!(
        camera_sizes.iter().all(|size| *size == layer_frame_size(0)),
        "camera thumbnail layer: {camera_sizes:?}"
    );
    assert!(screen_frames > 30, "screen frames: {screen_frames}");
}
