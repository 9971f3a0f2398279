//! A subscriber whose downlink cannot carry the only layer of a track (no simulcast to step
//! down to) gets fewer frames, not an ever-growing delay: when the queue towards it falls
//! behind, the SFU skips to the next keyframe instead of queueing seconds of video.

mod common;

use std::time::{Duration, Instant};

use common::{Bench, AV, NOTHING};
use huddle_media::MediaKind;

/// The publisher writes frame `k` at `start + k * 33 ms` and tags it with `k as u8`.
const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// How late a frame tagged `tag` is when received at `at`: the latest frame with that tag
/// sent at or before `at` (tags wrap every 256 frames, 8.4 s).
fn lateness(start: Instant, tag: u8, at: Instant) -> Duration {
    let sent_frames = (at - start).as_millis() / FRAME_INTERVAL.as_millis();
    let back = (sent_frames as u8).wrapping_sub(tag);
    let k = sent_frames - u128::from(back);
    at - (start + FRAME_INTERVAL * k as u32)
}

#[test]
fn slow_subscriber_skips_frames_instead_of_falling_behind() {
    let mut b = Bench::new();
    // 3,200-byte frames at 30 fps: about 770 kbps, one layer.
    b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.run_for(Duration::from_millis(200));
    // 32 bytes per 1 ms step: about 256 kbps, a third of the camera.
    b.clients[viewer].downlink = Some(32);
    let start = b.now;
    b.send_media(Duration::from_secs(8));

    let video = b.clients[viewer].received_kind(MediaKind::Video);
    let last_two_seconds: Vec<Duration> = video
        .iter()
        .filter(|d| d.network_time >= start + Duration::from_secs(6))
        .map(|d| lateness(start, d.data[10], d.network_time))
        .collect();
    assert!(
        last_two_seconds.len() >= 10,
        "the slow subscriber still gets video: {} frames in the last 2 s",
        last_two_seconds.len()
    );
    let worst = last_two_seconds.iter().max().unwrap();
    assert!(
        *worst < Duration::from_millis(1500),
        "frames arrive at most 1.5 s late, not ever later: {worst:?}"
    );
    assert!(
        b.sfu.stats().frames_skipped > 0,
        "the SFU skipped frames to keep up"
    );
}
