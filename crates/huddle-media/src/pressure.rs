//! How hard a worker is pushed: the share of time it works rather than waits for input, and
//! how late it handles datagrams. A worker whose rooms need more than its core does not lose
//! packets at first: they queue in its input channel, and every participant's media arrives
//! later and later. Operators see that here before users feel it.

use std::time::{Duration, Instant};

/// What a worker's loop reports between two publications of its metrics.
#[derive(Debug)]
pub struct Pressure {
    since: Instant,
    waited: Duration,
    worst_lag: Duration,
}

/// One interval's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PressureReading {
    /// How long the interval was.
    pub interval: Duration,
    /// Time the worker spent working (the interval minus its waits for input).
    pub busy: Duration,
    /// The longest a datagram waited between the socket and the worker.
    pub worst_lag: Duration,
}

impl PressureReading {
    /// The share of the interval the worker was busy, 0 to 1.
    pub fn busy_share(&self) -> f64 {
        self.busy.as_secs_f64() / self.interval.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

impl Pressure {
    pub fn new(now: Instant) -> Self {
        Pressure {
            since: now,
            waited: Duration::ZERO,
            worst_lag: Duration::ZERO,
        }
    }

    /// The worker waited for input from `from` to `until`.
    pub fn waited(&mut self, from: Instant, until: Instant) {
        self.waited += until.saturating_duration_since(from);
    }

    /// A datagram read from the socket at `arrived` is handled at `now`.
    pub fn handled(&mut self, arrived: Instant, now: Instant) {
        self.worst_lag = self.worst_lag.max(now.saturating_duration_since(arrived));
    }

    /// The figures since the last reading; starts the next interval at `now`.
    pub fn read(&mut self, now: Instant) -> PressureReading {
        let elapsed = now.saturating_duration_since(self.since);
        let reading = PressureReading {
            interval: elapsed,
            busy: elapsed.saturating_sub(self.waited),
            worst_lag: self.worst_lag,
        };
        *self = Pressure::new(now);
        reading
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn busy_is_the_interval_minus_the_waits_and_lag_the_worst_datagram() {
        let t0 = Instant::now();
        let mut p = Pressure::new(t0);
        p.waited(t0, t0 + ms(300));
        p.handled(t0 + ms(290), t0 + ms(300));
        p.waited(t0 + ms(400), t0 + ms(900));
        p.handled(t0 + ms(850), t0 + ms(950));
        p.handled(t0 + ms(940), t0 + ms(960));
        let r = p.read(t0 + ms(1000));
        assert_eq!(r.busy, ms(200));
        assert_eq!(r.busy_share(), 0.2);
        assert_eq!(r.worst_lag, ms(100));
    }

    #[test]
    fn each_reading_covers_only_its_own_interval() {
        let t0 = Instant::now();
        let mut p = Pressure::new(t0);
        p.handled(t0, t0 + ms(500));
        p.read(t0 + ms(1000));
        p.waited(t0 + ms(1000), t0 + ms(1750));
        let r = p.read(t0 + ms(2000));
        assert_eq!(r.busy, ms(250));
        assert_eq!(r.worst_lag, Duration::ZERO);
    }
}
