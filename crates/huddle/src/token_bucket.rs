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
        let elapsed = now.saturating_duration_since(self.updated);
        self.updated = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl TokenBucket {
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
}
