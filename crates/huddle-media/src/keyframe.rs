//! Rate limiting of keyframe requests (PLI/FIR) towards a publisher.
//!
//! Every subscriber that joins, every layer switch and every lost packet may ask for a
//! keyframe. A keyframe is many times the size of a delta frame, so a burst of requests
//! from a big room would flood the publisher's uplink. One keyframe serves everyone,
//! so requests within `min_interval` of the last one forwarded are dropped.

use std::time::{Duration, Instant};

/// Default spacing between keyframe requests sent to one publisher layer.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// Decides whether a keyframe request may be forwarded now.
#[derive(Debug, Clone)]
pub struct KeyframeLimiter {
    min_interval: Duration,
    last_sent: Option<Instant>,
}

impl KeyframeLimiter {
    pub fn new(min_interval: Duration) -> Self {
        KeyframeLimiter {
            min_interval,
            last_sent: None,
        }
    }

    /// Returns true (and remembers `now`) if a request may go out now.
    pub fn try_request(&mut self, now: Instant) -> bool {
        let allowed = match self.last_sent {
            None => true,
            // A clock that went backwards (saturating to zero) must not allow a burst.
            Some(last) => now.saturating_duration_since(last) >= self.min_interval,
        };
        if allowed {
            self.last_sent = Some(now);
        }
        allowed
    }
}

impl Default for KeyframeLimiter {
    fn default() -> Self {
        KeyframeLimiter::new(KEYFRAME_REQUEST_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_request_passes_then_limited_until_interval() {
        let t0 = Instant::now();
        let mut l = KeyframeLimiter::new(Duration::from_millis(500));
        assert!(l.try_request(t0));
        assert!(!l.try_request(t0 + Duration::from_millis(10)));
        assert!(!l.try_request(t0 + Duration::from_millis(499)));
        assert!(l.try_request(t0 + Duration::from_millis(500)));
        assert!(!l.try_request(t0 + Duration::from_millis(600)));
    }

    #[test]
    fn dropped_requests_do_not_extend_the_window() {
        let t0 = Instant::now();
        let mut l = KeyframeLimiter::new(Duration::from_millis(500));
        assert!(l.try_request(t0));
        for ms in (50..500).step_by(50) {
            assert!(!l.try_request(t0 + Duration::from_millis(ms)));
        }
        assert!(l.try_request(t0 + Duration::from_millis(501)));
    }

    #[test]
    fn clock_going_backwards_does_not_allow_a_burst() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut l = KeyframeLimiter::default();
        assert!(l.try_request(t0));
        assert!(!l.try_request(t0 - Duration::from_secs(1)));
    }
}
