//! Wall-clock time for things people schedule, behind a trait so tests move time by hand instead of
//! sleeping for real minutes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::watch;

/// Unix time in milliseconds, UTC: what the protocol and the database carry.
pub type UnixMillis = i64;

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> UnixMillis;

    /// Returns once `now() >= at`.
    async fn sleep_until(&self, at: UnixMillis);
}

/// The system's clock.
pub struct SystemClock;

/// Longest single sleep: the wall clock may be set while we sleep, so we look again now and then.
const MAX_NAP: Duration = Duration::from_secs(30);

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }

    async fn sleep_until(&self, at: UnixMillis) {
        loop {
            let left = at.saturating_sub(self.now());
            if left <= 0 {
                return;
            }
            let nap = Duration::from_millis(left.unsigned_abs()).min(MAX_NAP);
            tokio::time::sleep(nap).await;
        }
    }
}

/// A clock that only moves when told to; sleepers wake when it passes their time.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<UnixMillis>>,
}

impl ManualClock {
    pub fn new(start: UnixMillis) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).expect("a test advances by less than 2^63 ms");
        self.now.send_modify(|now| *now += by);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> UnixMillis {
        *self.now.borrow()
    }

    async fn sleep_until(&self, at: UnixMillis) {
        let mut now = self.now.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = now.wait_for(|now| *now >= at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_it_passes_their_time() {
        let clock = ManualClock::new(1_000);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(61_000).await }
        });
        clock.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(1), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(clock.now(), 61_000);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > 1_704_067_200_000);
    }
}
