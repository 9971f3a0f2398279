//! Per-connection message rate limit: a token bucket for messages, and a second, slower one for the
//! patience the server has with a client that keeps sending past the first.

use std::time::Instant;

use crate::token_bucket::TokenBucket;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSettings {
    /// Sustained messages per second a connection may send.
    pub per_second: f64,
    /// How many messages may come at once (ICE candidates arrive in bursts).
    pub burst: f64,
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
    patience: TokenBucket,
}

impl RateLimit {
    pub fn new(settings: RateSettings, now: Instant) -> Self {
        Self {
            messages: TokenBucket::full(settings.burst, settings.per_second, now),
            patience: TokenBucket::full(PATIENCE, PATIENCE_PER_SECOND, now),
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.messages.take(now) {
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
    };

    #[test]
    fn burst_passes_then_refuses() {
        let now = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, now);
        for _ in 0..20 {
            assert_eq!(limit.check(now), Verdict::Allow);
        }
        assert_eq!(limit.check(now), Verdict::Refuse);
    }

    #[test]
    fn sustained_flood_disconnects() {
        let now = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, now);
        let verdicts: Vec<_> = (0..200).map(|_| limit.check(now)).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Disconnect));
    }

    #[test]
    fn a_quiet_client_recovers() {
        let start = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, start);
        for _ in 0..30 {
            limit.check(start);
        }
        let later = start + Duration::from_secs_f64(SETTINGS.burst / SETTINGS.per_second);
        for _ in 0..20 {
            assert_eq!(limit.check(later), Verdict::Allow);
        }
    }

    #[test]
    fn steady_rate_under_the_limit_is_always_allowed() {
        let start = Instant::now();
        let mut limit = RateLimit::new(SETTINGS, start);
        for i in 0..1000 {
            let now = start + Duration::from_millis(100 * i);
            assert_eq!(limit.check(now), Verdict::Allow);
        }
    }
}
