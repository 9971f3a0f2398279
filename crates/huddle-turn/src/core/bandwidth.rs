//! A token bucket per allocation: one second's worth of burst, refilled
//! continuously. Packets beyond it are dropped, not queued: real-time media is
//! better late-never than late.

use std::time::Instant;

#[derive(Debug)]
pub struct TokenBucket {
    bytes_per_sec: u64,
    tokens: u64,
    last: Instant,
}

impl TokenBucket {
    /// `bytes_per_sec == 0` means unlimited.
    pub fn new(bytes_per_sec: u64, now: Instant) -> Self {
        TokenBucket {
            bytes_per_sec,
            tokens: bytes_per_sec,
            last: now,
        }
    }

    pub fn take(&mut self, bytes: usize, now: Instant) -> bool {
        if self.bytes_per_sec == 0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.last);
        let refill = (elapsed.as_nanos() * self.bytes_per_sec as u128 / 1_000_000_000) as u64;
        if refill > 0 {
            self.tokens = self.tokens.saturating_add(refill).min(self.bytes_per_sec);
            self.last = now;
        }
        match self.tokens.checked_sub(bytes as u64) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn drops_beyond_rate_then_refills() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1000, t0);
        assert!(bucket.take(600, t0));
        assert!(!bucket.take(600, t0));
        assert!(bucket.take(400, t0));
        assert!(bucket.take(500, t0 + Duration::from_millis(500)));
        assert!(!bucket.take(1, t0 + Duration::from_millis(500)));
        assert!(TokenBucket::new(0, t0).take(usize::MAX, t0));
    }
}
