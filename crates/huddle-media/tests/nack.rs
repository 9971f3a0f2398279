//! Packets lost between a publisher and the SFU are recovered by NACK/RTX on that
//! leg (str0m does it); subscribers keep getting whole frames and the SFU counts
//! the NACKs it sent.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::MediaKind;

#[test]
fn lossy_uplink_is_repaired_by_nacks() {
    let mut b = Bench::new();
    b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.run_for(Duration::from_millis(200));
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
