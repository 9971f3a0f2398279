//! Memory per allocation: the server's resident set before and after creating
//! many allocations (each with a channel bound), divided by their number.

use std::net::UdpSocket;
use std::time::Duration;

use crate::server::RunningServer;
use crate::turn_client::allocate_many;

#[derive(Debug, Clone, Copy)]
pub struct MemorySample {
    pub rss_before: u64,
    pub rss_after: u64,
    pub bytes_per_allocation: f64,
}

/// Lets the server finish what the last answers set off before reading RSS.
const SETTLE: Duration = Duration::from_millis(500);

pub fn measure(server: &RunningServer, count: usize) -> anyhow::Result<MemorySample> {
    let peer = UdpSocket::bind("127.0.0.1:0")?;
    let peers = [peer.local_addr()?];
    // One allocation first, so lazily built state (tables, thread stacks,
    // buffers) is counted in the baseline, not charged to the 10,000.
    let _warm = allocate_many(server.turn_addr, &peers, 1)?;
    std::thread::sleep(SETTLE);
    let rss_before = server.rss_bytes()?;
    let allocations = allocate_many(server.turn_addr, &peers, count)?;
    std::thread::sleep(SETTLE);
    let rss_after = server.rss_bytes()?;
    drop(allocations);
    Ok(MemorySample {
        rss_before,
        rss_after,
        bytes_per_allocation: rss_after.saturating_sub(rss_before) as f64 / count.max(1) as f64,
    })
}
