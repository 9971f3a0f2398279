//! Packets lost between a publisher and the SFU are recovered by NACK/RTX on that
//! leg (str0m does it); subscribers keep getting whole frames and the SFU counts
//! the NACKs it sent. Packets lost between the SFU and a subscriber are retransmitted
//! by the SFU, even when retransmissions are a large share of what it sends.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::MediaKind;

/// A publisher and a viewer, connected; returns the viewer's index.
fn publisher_and_viewer() -> (Bench, usize) {
    let mut b = Bench::new();
    b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.run_for(Duration::from_millis(200));
    (b, viewer)
}

#[test]
fn lossy_uplink_is_repaired_by_nacks() {
    let (mut b, viewer) = publisher_and_viewer();
    b.uplink_loss_every = 20;
    b.send_media(Duration::from_secs(4));

    let stats = b.sfu.stats();
    assert!(
        stats.nacks > 0,
        "no NACK sent for a 5% lossy uplink: {stats:?}"
    );
    let video = b.clients[viewer].received_kind(MediaKind::Video);
    assert!(video.len() > 100, "only {} frames got through", video.len());
}

/// With 20% random loss towards a subscriber, retransmissions (some lost again) exceed str0m's
/// default cap of 15% of the bytes sent, past which it drops every queued retransmission:
/// the subscriber would ask again and again while its picture froze.
#[test]
fn lossy_downlink_is_repaired_by_retransmissions() {
    let (mut b, viewer) = publisher_and_viewer();
    b.downlink_loss_one_in = 5;
    b.send_media(Duration::from_secs(4));
    b.downlink_loss_one_in = 0;
    b.run_for(Duration::from_millis(500));

    let video = b.clients[viewer].received_kind(MediaKind::Video);
    let broken = video.iter().filter(|d| !d.contiguous).count();
    // 4 s at 30 fps; at the default cap: 85 frames, 6 of them broken.
    assert!(video.len() > 95, "only {} frames got through", video.len());
    assert_eq!(
        broken,
        0,
        "{broken} of {} frames arrived broken",
        video.len()
    );
}
