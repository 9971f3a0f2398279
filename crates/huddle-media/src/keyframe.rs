//! Rate limiting of keyframe requests (PLI/FIR) towards a publisher.
//!
//! Every subscriber that joins, every layer switch and every lost packet may ask for a
//! keyframe. A keyframe is many times the size of a delta frame, so a burst of requests
//! from a big room would flood the publisher's uplink. One keyframe serves everyone, so
//! after one arrived, requests within `interval` of the last one sent are dropped.
//!
//! A request that got no keyframe yet may itself have been lost: it is sent again after
//! the shorter `retry`. libwebrtc's encoder ignores requests within 300 ms of the last one
//! it honoured, so a retry costs nothing when the first request was only slow. With 10%
//! loss both ways, a flat 500 ms limit made freezes of 1.2-1.4 s out of two lost requests
//! in a row (e2e/sfu-loss.test.js).

use std::time::{Duration, Instant};

/// Spacing between keyframe requests to one publisher layer once a keyframe answered.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);
/// Spacing while no keyframe came since the last request. Browsers ask again every
/// 200 ms while they wait for a keyframe; this lets the first of those through.
pub const KEYFRAME_REQUEST_RETRY: Duration = Duration::from_millis(150);

/// Decides whether a keyframe request may be forwarded now.
#[derive(Debug, Clone)]
pub struct KeyframeLimiter {
    interval: Duration,
    retry: Duration,
    last_sent: Option<Instant>,
    /// A keyframe arrived since the last request.
    answered: bool,
}

impl KeyframeLimiter {
    pub fn new(interval: Duration, retry: Duration) -> Self {
        KeyframeLimiter {
            interval,
            retry,
            last_sent: None,
            answered: false,
        }
    }

    /// Returns true (and remembers `now`) if a request may go out now.
    pub fn try_request(&mut self, now: Instant) -> bool {
        let spacing = if self.answered {
            self.interval
        } else {
            self.retry
        };
        // A clock that went backwards (saturating to zero) must not allow a burst.
        let allowed = self
            .last_sent
            .is_none_or(|last| now.saturating_duration_since(last) >= spacing);
        if allowed {
            self.last_sent = Some(now);
            self.answered = false;
        }
        allowed
    }

    /// A keyframe of the layer arrived.
    pub fn on_keyframe(&mut self) {
        self.answered = true;
    }
}

impl Default for KeyframeLimiter {
    fn default() -> Self {
        KeyframeLimiter::new(KEYFRAME_REQUEST_INTERVAL, KEYFRAME_REQUEST_RETRY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_millis(300);
    const RETRY: Duration = Duration::from_millis(150);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn unanswered_request_is_retried_after_the_retry_spacing() {
        let t0 = Instant::now();
        let mut l = KeyframeLimiter::new(INTERVAL, RETRY);
        assert!(l.try_request(t0));
        assert!(!l.try_request(t0 + ms(10)));
        assert!(!l.try_request(t0 + ms(149)));
        assert!(l.try_request(t0 + ms(150)));
        assert!(!l.try_request(t0 + ms(200)));
    }

    #[test]
    fn answered_request_holds_the_next_for_the_interval() {
        let t0 = Instant::now();
        let mut l = KeyframeLimiter::new(INTERVAL, RETRY);
        assert!(l.try_request(t0));
        l.on_keyframe();
        assert!(!l.try_request(t0 + ms(150)));
        assert!(!l.try_request(t0 + ms(299)));
        assert!(l.try_request(t0 + ms(300)));
        // Not answered yet: the retry spacing applies again.
        assert!(l.try_request(t0 + ms(450)));
    }

    #[test]
    fn dropped_requests_do_not_extend_the_window() {
        let t0 = Instant::now();
        let mut l = KeyframeLimiter::new(INTERVAL, RETRY);
        assert!(l.try_request(t0));
        l.on_keyframe();
        for n in (20..300).step_by(20) {
            assert!(!l.try_request(t0 + ms(n)));
        }
        assert!(l.try_request(t0 + ms(301)));
    }

    #[test]
    fn keyframes_without_a_request_do_not_allow_a_burst() {
        let t0 = Instant::now();
        let mut l = KeyframeLimiter::default();
        l.on_keyframe();
        assert!(l.try_request(t0));
        l.on_keyframe();
        l.on_keyframe();
        assert!(!l.try_request(t0 + ms(10)));
    }

    #[test]
    fn clock_going_backwards_does_not_allow_a_burst() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut l = KeyframeLimiter::default();
        assert!(l.try_request(t0));
        assert!(!l.try_request(t0 - Duration::from_secs(1)));
    }
}
