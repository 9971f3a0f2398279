//! A token bucket: `capacity` tokens at most, refilled at `per_second`; time is passed in.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    pub fn full(capacity: f64, per_second: f64, now: Instant) -> Self {
        Self {
            capacity,
            per_second,
            tokens: capacity,
            updated: now,
        }
    }

    pub fn take(&mut self, now: Instant) -> bool {
        self.take_many(1.0, now)
    }

    /// Takes `count` tokens at once, or none when fewer are there.
    pub fn take_many(&mut self, count: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= count {
            self.tokens -= count;
            true
        } else {
            false
        }
    }
}

impl TokenBucket {
    /// Whether any token is there: for costs known only afterwards (see [`TokenBucket::spend`]).
    pub fn has_credit(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens > 0.0
    }

    /// Takes `count` tokens even if fewer are there: the debt is paid back before
    /// [`TokenBucket::has_credit`] says yes again.
    pub fn spend(&mut self, count: f64, now: Instant) {
        self.refill(now);
        self.tokens -= count;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated);
        self.updated = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
    }

    /// How long until one token is back, for "retry in N s" answers.
    pub fn retry_in(&self) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        if self.per_second <= 0.0 {
            return Duration::MAX;
        }
        Duration::from_secs_f64(missing / self.per_second)
    }

    /// Whether the bucket has been idle long enough to be full again, so forgetting it loses
    /// nothing.
    pub fn is_full_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_over_time_and_says_when() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(2.0, 1.0, start);
        assert!(bucket.take(start) && bucket.take(start));
        assert!(!bucket.take(start));
        assert!(bucket.retry_in() <= Duration::from_secs(1));
        assert!(bucket.take(start + Duration::from_secs(1)));
        assert!(bucket.is_full_at(start + Duration::from_secs(5)));
    }

    #[test]
    fn a_debt_is_paid_back_before_more_credit() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(10.0, 10.0, start);
        assert!(bucket.has_credit(start));
        bucket.spend(30.0, start);
        assert!(!bucket.has_credit(start + Duration::from_secs(1)));
        assert!(bucket.has_credit(start + Duration::from_millis(2100)));
    }
}
