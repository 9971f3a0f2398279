//! Per-connection message rate limit: token buckets for messages and for their bytes, and a
//! slower one for the patience the server has with a client that keeps sending past them.

use std::time::Instant;

use crate::token_bucket::TokenBucket;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSettings {
    /// Sustained messages per second a connection may send.
    pub per_second: f64,
    /// How many messages may come at once (ICE candidates arrive in bursts).
    pub burst: f64,
    /// Sustained bytes per second a connection may send: what it asks the server to relay to
    /// others is bounded by size too, not only by count.
    pub bytes_per_second: f64,
}

/// Bytes that may come at once: a few seconds' worth, and at least one message of the largest
/// size the protocol takes.
fn byte_burst(bytes_per_second: f64) -> f64 {
    (bytes_per_second * 4.0).max(crate::protocol::MAX_MESSAGE_BYTES as f64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Over the limit: the message is dropped and the client told.
    Refuse,
    /// Over the limit for too long: the connection is closed.
    Disconnect,
}

/// Refusals tolerated at once before disconnecting, and how fast that tolerance comes back.
const PATIENCE: f64 = 50.0;
const PATIENCE_PER_SECOND: f64 = 5.0;

pub struct RateLimit {
    messages: TokenBucket,
    bytes: TokenBucket,
    patience: TokenBucket,
}

impl RateLimit {
    pub fn new(settings: RateSettings, now: Instant) -> Self {
        let bytes_per_second = settings.bytes_per_second;
        Self {
            messages: TokenBucket::full(settings.burst, settings.per_second, now),
            bytes: TokenBucket::full(byte_burst(bytes_per_second), bytes_per_second, now),
            patience: TokenBucket::full(PATIENCE, PATIENCE_PER_SECOND, now),
        }
    }

    /// The verdict on one message of `bytes`.
    pub fn check(&mut self, bytes: usize, now: Instant) -> Verdict {
        // Both buckets are asked each time, so a refusal of one costs the other nothing it would
        // not have cost anyway; the byte bucket is only asked once the message count allows.
        if self.messages.take(now) && self.bytes.take_many(bytes as f64, now) {
            Verdict::Allow
        } else if self.patience.take(now) {
            Verdict::Refuse
        } else {
            Verdict::Disconnect
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SETTINGS: RateSettings = RateSettings {
        per_second: 10.0,
        burst: 20.0,
        bytes_per_second: 100_000.0,
    };

    #[test]
    fn burst_passes_then_refuses() {
        let now = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, now);
        for _ in 0..20 {
            assert_eq!(limit.check(100, now), Verdict::Allow);
        }
        assert_eq!(limit.check(100, now), Verdict::Refuse);
    }

    #[test]
    fn sustained_flood_disconnects() {
        let now = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, now);
        let verdicts: Vec<_> = (0..200).map(|_| limit.check(100, now)).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Disconnect));
    }

    #[test]
    fn a_quiet_client_recovers() {
        let start = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, start);
        for _ in 0..30 {
            limit.check(100, start);
        }
        let later = start + Duration::from_secs_f64(SETTINGS.burst / SETTINGS.per_second);
        for _ in 0..20 {
            assert_eq!(limit.check(100, later), Verdict::Allow);
        }
    }

    #[test]
    fn large_messages_spend_the_byte_budget_before_the_count() {
        let now = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, now);
        let large = crate::protocol::MAX_MESSAGE_BYTES;
        let allowed = (0..20)
            .take_while(|_| limit.check(large, now) == Verdict::Allow)
            .count();
        // 400,000 bytes of burst: six messages of 64 KiB, far fewer than the 20 small ones.
        assert_eq!(allowed, 6);
        let later = now + std::time::Duration::from_secs(1);
        assert_eq!(limit.check(large, later), Verdict::Allow);
        assert_eq!(limit.check(large, later), Verdict::Refuse);
    }

    #[test]
    fn steady_rate_under_the_limit_is_always_allowed() {
        let start = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, start);
        for i in 0..1000 {
            let now = start + Duration::from_millis(100 * i);
            assert_eq!(limit.check(100, now), Verdict::Allow);
        }
    }
}
