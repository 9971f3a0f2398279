//! The SFU's work per forwarded packet, for `scripts/forward-cost`: one publisher (VP8 and
//! Opus) and 50 subscribers in the in-memory bench, then `MEDIA_MS` of media (default 2000).
//! Under callgrind the instructions spent inside the SFU (`in_sfu` in the bench) are counted
//! exactly, so a change to the packet path can be judged without the noise of wall-clock runs;
//! the script subtracts a shorter run to leave out the joins.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};

const SUBSCRIBERS: usize = 50;

fn main() {
    let media_ms = std::env::var("MEDIA_MS").map_or(Ok(2000), |v| v.parse());
    let media = Duration::from_millis(media_ms.expect("MEDIA_MS is a number of milliseconds"));
    let mut b = Bench::new();
    b.join(AV);
    for _ in 0..SUBSCRIBERS {
        b.join(NOTHING);
    }
    b.connect_all();
    b.run_for(Duration::from_millis(500));
    b.send_media(media);
    println!("forwarded {}", b.sfu.stats().packets_forwarded);
}
