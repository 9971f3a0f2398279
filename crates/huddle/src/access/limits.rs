//! Abuse limits by client address (connections, joins, password attempts) and by message kind
//! (chat, whiteboard) for one participant.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use huddle_turn::address_key;

use crate::token_bucket::TokenBucket;

/// Addresses remembered at most per limit; past that, idle (full) buckets are forgotten first,
/// and if all are busy, all of them: memory stays bounded, at the price of a fresh start.
const MAX_TRACKED_ADDRESSES: usize = 65_536;

/// A token bucket per client address: `per_minute` events, all of them at once at most.
pub struct IpBuckets {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl IpBuckets {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::default(),
        }
    }

    /// Takes one event for `ip`, or says how long until it may try again.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let mut buckets = self
            .buckets
            .lock()
            .expect("no panic under the buckets lock");
        if buckets.len() >= MAX_TRACKED_ADDRESSES {
            buckets.retain(|_, bucket| !bucket.is_full_at(now));
            if buckets.len() >= MAX_TRACKED_ADDRESSES {
                buckets.clear();
            }
        }
        let bucket = buckets
            .entry(address_key(ip))
            .or_insert_with(|| TokenBucket::full(capacity, capacity / 60.0, now));
        if bucket.take(now) {
            Ok(())
        } else {
            Err(bucket.retry_in())
        }
    }
}

/// Open connections per client address; clones share the count.
#[derive(Clone)]
pub struct ConnectionCounter {
    max_per_ip: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// One open connection; dropping it frees its place.
pub struct ConnectionSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ConnectionCounter {
    pub fn new(max_per_ip: u32) -> Self {
        Self {
            max_per_ip,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `ip`, unless it has `max_per_ip` open already.
    pub fn open(&self, ip: IpAddr) -> Option<ConnectionSlot> {
        let ip = address_key(ip);
        let mut open = self
            .open
            .lock()
            .expect("no panic under the connections lock");
        let count = open.entry(ip).or_default();
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            ip,
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .expect("no panic under the connections lock");
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Messages per second for one kind of message, sustained, and in a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KindRate {
    pub kind: &'static str,
    pub per_second: f64,
    pub burst: f64,
}

/// The per-kind limits of one participant: a hook for messages people type or draw (chat,
/// whiteboard), which must be slower than signaling. Kinds without a rate are not limited here.
pub struct KindLimits {
    buckets: Vec<(&'static str, TokenBucket)>,
}

impl KindLimits {
    pub fn new(rates: &[KindRate], now: Instant) -> Self {
        let buckets = rates
            .iter()
            .map(|rate| {
                (
                    rate.kind,
                    TokenBucket::full(rate.burst, rate.per_second, now),
                )
            })
            .collect();
        Self { buckets }
    }

    /// False when a message of `kind` is over its rate and must be dropped.
    pub fn allow(&mut self, kind: &str, now: Instant) -> bool {
        self.buckets
            .iter_mut()
            .find(|(limited, _)| *limited == kind)
            .is_none_or(|(_, bucket)| bucket.take(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn ip_buckets_refuse_then_recover() {
        let buckets = IpBuckets::new(2);
        let now = Instant::now();
        assert!(buckets.take(IP, now).is_ok() && buckets.take(IP, now).is_ok());
        let retry = buckets.take(IP, now).unwrap_err();
        assert!(retry > Duration::from_secs(20) && retry <= Duration::from_secs(30));
        assert!(buckets.take(IP, now + Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn connection_slots_are_given_back_when_dropped() {
        let counter = ConnectionCounter::new(1);
        let slot = counter.open(IP).unwrap();
        assert!(counter.open(IP).is_none());
        drop(slot);
        assert!(counter.open(IP).is_some());
    }

    #[test]
    fn kind_limits_apply_to_their_kind_only() {
        let now = Instant::now();
        let rate = KindRate {
            kind: "chat",
            per_second: 1.0,
            burst: 1.0,
        };
        let mut limits = KindLimits::new(&[rate], now);
        assert!(limits.allow("chat", now));
        assert!(!limits.allow("chat", now));
        assert!(limits.allow("signal", now));
        assert!(limits.allow("chat", now + Duration::from_secs(1)));
    }
}
