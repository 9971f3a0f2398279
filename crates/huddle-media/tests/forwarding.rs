//! A publisher's video and audio reach every other participant in the room.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::{MediaKind, SfuEvent};

#[test]
fn video_and_audio_reach_two_subscribers() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let s1 = b.join(NOTHING);
    let s2 = b.join(NOTHING);
    b.connect_all();
    b.run_for(Duration::from_millis(200));
    b.send_media(Duration::from_secs(2));

    for s in [s1, s2] {
        let video = b.clients[s].received_kind(MediaKind::Video);
        let audio = b.clients[s].received_kind(MediaKind::Audio);
        assert!(
            video.len() > 30,
            "subscriber {s} got {} video frames",
            video.len()
        );
        assert!(
            audio.len() > 50,
            "subscriber {s} got {} audio packets",
            audio.len()
        );
        assert!(
            video[0].is_keyframe(),
            "first forwarded frame must be a keyframe"
        );
    }
    // The publisher does not get its own media back.
    assert!(b.clients[publisher].received().is_empty());

    let published: Vec<_> = b
        .sfu_events
        .iter()
        .filter(|e| matches!(e, SfuEvent::TrackPublished { .. }))
        .collect();
    assert_eq!(published.len(), 2);
    let stats = b.sfu.stats();
    assert!(stats.packets_forwarded > 0 && stats.bytes_forwarded > 0);
}
