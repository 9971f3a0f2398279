//! A subscriber's bandwidth is shared only between tiles that get video: a tile whose
//! publisher has its camera off (its video track published, nothing sent) takes no share,
//! so the live tile next to it gets the layer the whole estimate affords.

mod common;

use std::time::Duration;

use common::{layer_frame_size, Bench, Publish, NOTHING, SIMULCAST};
use huddle_media::str0m::bwe::Bitrate;
use huddle_media::{MediaKind, SubscriptionSpec};

const CAMERA_OFF: Publish = Publish {
    video: true,
    audio: false,
    simulcast: false,
};

#[test]
fn a_camera_off_tile_takes_no_share_of_the_bandwidth() {
    // Enough for the top layer (768 kbit/s, plus the up-switch headroom) once, not twice.
    let mut b = Bench::with_config(|mut c| {
        c.initial_bwe = Bitrate::kbps(1200);
        c
    });
    let live = b.join(SIMULCAST);
    let camera_off = b.join(CAMERA_OFF);
    let viewer = b.join(NOTHING);
    b.connect_all();
    let viewer_id = b.clients[viewer].id;
    let tracks = [live, camera_off].map(|p| b.track(p, MediaKind::Video));
    // The camera is off from the start: its m-line is there, no frame ever comes.
    b.clients[camera_off].video_mid = None;
    for track in tracks {
        b.sfu
            .set_subscription(viewer_id, track, SubscriptionSpec::visible(1280, 720))
            .unwrap();
    }

    b.send_media(Duration::from_secs(3));
    let video = b.clients[viewer].received_kind(MediaKind::Video);
    let last = video.last().expect("the live tile gets video");
    assert_eq!(
        last.data.len(),
        layer_frame_size(2),
        "the live tile gets the top layer, as if the camera-off tile were not there"
    );
}
