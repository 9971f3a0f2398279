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

/// A publisher whose streams start again on new SSRCs (its encoder restarted: new sequence
/// numbers and RTP times) keeps reaching its subscribers, video from the next keyframe on, with
/// no gap in what they see.
#[test]
fn a_publisher_stream_that_starts_again_keeps_reaching_subscribers() {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_secs(1));
    b.clients[viewer].clear_events();

    let client = &mut b.clients[publisher];
    let (video, audio) = (client.video_mid.unwrap(), client.audio_mid.unwrap());
    let mut api = client.rtc.direct_api();
    let rtx = api.stream_tx_by_mid(video, None).unwrap().rtx();
    assert!(api
        .reset_stream_tx(video, None, 7_001.into(), rtx.map(|_| 7_002.into()))
        .is_some());
    assert!(api
        .reset_stream_tx(audio, None, 7_003.into(), None)
        .is_some());
    // A restarted encoder: its RTP time starts again from zero, with a keyframe.
    client.frame = 0;
    b.send_media(Duration::from_secs(2));

    let video = b.clients[viewer].received_kind(MediaKind::Video);
    let audio = b.clients[viewer].received_kind(MediaKind::Audio);
    assert!(
        video.len() > 40,
        "{} video frames after the restart",
        video.len()
    );
    assert!(
        audio.len() > 80,
        "{} audio packets after the restart",
        audio.len()
    );
    assert!(video.iter().all(|d| d.contiguous), "a gap in the video");
    let times: Vec<u64> = video.iter().map(|d| d.time.numer()).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "video time went back"
    );
}
