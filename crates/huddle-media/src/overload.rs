//! Load shedding: what a worker gives up, and in which order, when its rooms need more than its
//! core. A saturated worker that only queues makes every participant's media later and later
//! (seconds, measured); one that sheds keeps the delay bounded and degrades who is cheapest to
//! degrade.
//!
//! The signal is how long media waits in the worker's queues, read on every tick: the longest a
//! datagram waited for the worker, or how long the oldest packet of the typical (median) video
//! queue towards a subscriber had waited when a frame was written to it, if that is more. A worker
//! short of its core lets either grow: datagrams queue before it, or its subscribers' pacers send
//! late (a few slow links do not move the median, and with fewer than ten video subscriptions it
//! is not read at all).
//! Once it has stayed over half the bound for [`SUSTAINED`] and is not falling, the worker sheds
//! one more step each tick, two while over the bound: a burst (a wave of joins, each with its DTLS
//! handshake) or a queue that drains by itself is not a load to shed. After [`CALM`] under an
//! eighth of the bound it gives one step back. The steps, in order:
//! 1. video subscriptions get the simulcast layer below the one they would choose;
//! 2. then, an eighth at a time, the coldest video subscriptions get keyframes only;
//! 3. from three eighths on, the worker takes no newcomers (see [`Overload::refuses_newcomers`]).
//!
//! A datagram that waited longer than the bound itself is late: what it completes is not
//! forwarded (see [`Overload::is_late`]), so a sudden overload costs a keyframe, not seconds of
//! queue. One that waited twice the bound is stale: dropped unread (see [`Overload::is_stale`]),
//! as the network could have, so that a worker whose sessions alone need more than its core
//! (measured: 500 subscribers on half a core, all on keyframes only, 3.3 s behind) drains its
//! queue instead of working through seconds of it. Sans-IO: queue delays and times in,
//! decisions out.

use std::time::{Duration, Instant};

/// How long the queue delay must stay over half the bound before the worker sheds: longer than
/// the bursts measured while 100 subscribers a second joined a worker that carried them.
pub const SUSTAINED: Duration = Duration::from_millis(500);
/// How long the queue delay must stay low before one step of shedding is given back: with
/// [`SUSTAINED`] before the next step up, a worker at its limit changes a step every second or two,
/// not every tick.
pub const CALM: Duration = Duration::from_secs(1);
/// How often subscriptions on keyframes only get a fresh keyframe: the tile refreshes, and the
/// publisher's keyframes (each many delta frames' worth) stay rare while the worker is short.
pub const KEYFRAME_REFRESH: Duration = Duration::from_secs(4);
/// Keyframe shedding goes an eighth of the video subscriptions at a time.
const SHARES: u8 = 8;
/// Frames written per tick below which the subscribers' queues say nothing of the worker: with
/// few subscribers the median is one subscriber's link (10 video subscriptions at 30 fps).
const SENDS_THAT_TELL: u32 = 30;
const MAX_STEP: u8 = 1 + SHARES;
/// The step from which newcomers are refused: three eighths on keyframes only.
const REFUSE_FROM: u8 = 4;

/// How far a worker sheds, in the order it gives things up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Shedding {
    #[default]
    Nothing,
    /// Video subscriptions get one simulcast layer below what they would choose.
    LowerLayers,
    /// Also, the coldest `eighths`/8 of the video subscriptions get keyframes only.
    KeyframesOnly { eighths: u8 },
}

impl Shedding {
    /// For /metrics: 0 nothing, 1 lower layers, 2 keyframes only.
    pub fn level(self) -> u8 {
        match self {
            Shedding::Nothing => 0,
            Shedding::LowerLayers => 1,
            Shedding::KeyframesOnly { .. } => 2,
        }
    }

    /// How many of `subscriptions` (ranked coldest first) get keyframes only.
    pub fn keyframes_only(self, subscriptions: usize) -> usize {
        match self {
            Shedding::KeyframesOnly { eighths } => {
                (subscriptions * eighths as usize).div_ceil(SHARES as usize)
            }
            _ => 0,
        }
    }

    fn from_step(step: u8) -> Self {
        match step {
            0 => Shedding::Nothing,
            1 => Shedding::LowerLayers,
            n => Shedding::KeyframesOnly { eighths: n - 1 },
        }
    }
}

#[derive(Debug)]
pub struct Overload {
    bound: Duration,
    step: u8,
    /// The longest queue delay since the last decision, and the signal of the interval before.
    worst: Duration,
    previous: Duration,
    sends: SendQueues,
    /// Since when the queue delay stayed over half the bound, or under an eighth of it.
    pressed_since: Option<Instant>,
    calm_since: Option<Instant>,
    last_refresh: Option<Instant>,
}

impl Overload {
    /// `bound`: the longest media may wait in the worker's queue.
    pub fn new(bound: Duration) -> Self {
        Overload {
            bound,
            step: 0,
            worst: Duration::ZERO,
            previous: Duration::ZERO,
            sends: SendQueues::default(),
            pressed_since: None,
            calm_since: None,
            last_refresh: None,
        }
    }

    pub fn shedding(&self) -> Shedding {
        Shedding::from_step(self.step)
    }

    /// A datagram waited `delay` in the worker's queue.
    pub fn waited(&mut self, delay: Duration) {
        self.worst = self.worst.max(delay);
    }

    /// A frame was written to (or skipped for) a subscriber whose video queue's oldest packet had
    /// waited `delay`.
    pub fn send_waited(&mut self, delay: Duration) {
        self.sends.count(delay, self.bound);
    }

    /// Media that waited this long is not worth forwarding any more.
    pub fn is_late(&self, delay: Duration) -> bool {
        delay > self.bound
    }

    /// A datagram that waited this long is dropped unread: decrypting and handling it would only
    /// keep the ones behind it waiting longer.
    pub fn is_stale(&self, delay: Duration) -> bool {
        delay > self.bound * 2
    }

    /// With three eighths of the video on keyframes only the worker is well short of its core: a
    /// newcomer would only take from those already there. Not sooner: a wave of joins (each a
    /// DTLS handshake) sheds a little video for a moment but should refuse nobody (at the first
    /// keyframe step, a wave of 100 joins a second had 17 of 300 refused).
    pub fn refuses_newcomers(&self) -> bool {
        self.step >= REFUSE_FROM
    }

    /// Reads the queue delay since the last call; returns the shedding when it changed.
    pub fn decide(&mut self, now: Instant) -> Option<Shedding> {
        let sends = std::mem::take(&mut self.sends).median_at_least(self.bound);
        let worst = std::mem::take(&mut self.worst).max(sends);
        let previous = std::mem::replace(&mut self.previous, worst);
        let before = self.step;
        if worst > self.bound / 2 {
            self.pressed(now, worst, previous);
        } else {
            self.eased(now, worst);
        }
        (self.step != before).then(|| self.shedding())
    }

    fn pressed(&mut self, now: Instant, worst: Duration, previous: Duration) {
        self.calm_since = None;
        let since = *self.pressed_since.get_or_insert(now);
        if worst >= previous && now.saturating_duration_since(since) >= SUSTAINED {
            let up = if worst > self.bound { 2 } else { 1 };
            self.step = (self.step + up).min(MAX_STEP);
        }
    }

    fn eased(&mut self, now: Instant, worst: Duration) {
        self.pressed_since = None;
        if worst >= self.bound / 8 {
            self.calm_since = None;
            return;
        }
        let since = *self.calm_since.get_or_insert(now);
        if self.step > 0 && now.saturating_duration_since(since) >= CALM {
            self.step -= 1;
            self.calm_since = Some(now);
        }
    }

    /// True every [`KEYFRAME_REFRESH`] while some subscriptions get keyframes only.
    pub fn keyframe_refresh_due(&mut self, now: Instant) -> bool {
        if !matches!(self.shedding(), Shedding::KeyframesOnly { .. }) {
            self.last_refresh = None;
            return false;
        }
        let due = self
            .last_refresh
            .is_none_or(|last| now.saturating_duration_since(last) >= KEYFRAME_REFRESH);
        if due {
            self.last_refresh = Some(now);
        }
        due
    }
}

/// How far behind the subscribers' video queues were, counted against the bound's thresholds.
#[derive(Debug, Default)]
struct SendQueues {
    total: u32,
    over_eighth: u32,
    over_half: u32,
    over_bound: u32,
}

impl SendQueues {
    fn count(&mut self, delay: Duration, bound: Duration) {
        self.total += 1;
        self.over_eighth += u32::from(delay >= bound / 8);
        self.over_half += u32::from(delay > bound / 2);
        self.over_bound += u32::from(delay > bound);
    }

    /// A delay the median send is at least as far behind as, on the thresholds' scale.
    fn median_at_least(&self, bound: Duration) -> Duration {
        let most = |n: u32| n * 2 > self.total;
        if self.total < SENDS_THAT_TELL {
            Duration::ZERO
        } else if most(self.over_bound) {
            bound + Duration::from_millis(1)
        } else if most(self.over_half) {
            bound / 2 + Duration::from_millis(1)
        } else if most(self.over_eighth) {
            bound / 8
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: Duration = Duration::from_millis(200);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Ticks 100 ms apart from `start`, each with its worst datagram's wait; the last decision.
    fn ticks(o: &mut Overload, start: Instant, delays: &[u64]) -> Option<Shedding> {
        let mut last = None;
        for (i, delay) in delays.iter().enumerate() {
            o.waited(ms(*delay));
            last = o.decide(start + ms(100 * i as u64));
        }
        last
    }

    /// A worker under sustained pressure from `t0`: on the sixth tick it sheds.
    fn sustained(o: &mut Overload, t0: Instant) {
        assert_eq!(ticks(o, t0, &[120, 120, 120, 120, 120]), None);
        assert_eq!(ticks(o, t0 + ms(500), &[120]), Some(Shedding::LowerLayers));
    }

    #[test]
    fn sheds_layers_first_then_keyframes_an_eighth_at_a_time() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        sustained(&mut o, t0);
        assert!(!o.refuses_newcomers());
        assert_eq!(
            ticks(&mut o, t0 + ms(600), &[150]),
            Some(Shedding::KeyframesOnly { eighths: 1 })
        );
        assert!(!o.refuses_newcomers());
        // Over the bound: two steps at once.
        assert_eq!(
            ticks(&mut o, t0 + ms(700), &[250]),
            Some(Shedding::KeyframesOnly { eighths: 3 })
        );
        assert!(o.refuses_newcomers());
        ticks(&mut o, t0 + ms(800), &[300; 10]);
        assert_eq!(o.shedding(), Shedding::KeyframesOnly { eighths: 8 });
    }

    #[test]
    fn a_burst_shorter_than_sustained_sheds_nothing() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        assert_eq!(ticks(&mut o, t0, &[300, 300, 300, 300, 300, 20]), None);
        assert_eq!(ticks(&mut o, t0 + ms(600), &[300, 300, 300]), None);
        assert!(!o.refuses_newcomers());
    }

    #[test]
    fn a_draining_queue_is_not_shed_further() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        sustained(&mut o, t0);
        assert_eq!(ticks(&mut o, t0 + ms(600), &[110, 105, 101]), None);
        assert_eq!(
            ticks(&mut o, t0 + ms(900), &[160]),
            Some(Shedding::KeyframesOnly { eighths: 1 })
        );
    }

    #[test]
    fn gives_back_one_step_per_calm_second_and_holds_in_between() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        sustained(&mut o, t0);
        ticks(&mut o, t0 + ms(600), &[150]);
        assert_eq!(o.shedding(), Shedding::KeyframesOnly { eighths: 1 });
        // Between an eighth and half the bound: neither more nor less.
        assert_eq!(ticks(&mut o, t0 + ms(700), &[60; 20]), None);
        // Calm from 2.7 s: a step back at 3.7 s.
        assert_eq!(ticks(&mut o, t0 + ms(2700), &[5; 10]), None);
        assert_eq!(
            ticks(&mut o, t0 + ms(3700), &[5]),
            Some(Shedding::LowerLayers)
        );
        // A busy tick starts the calm spell again.
        ticks(&mut o, t0 + ms(3800), &[60]);
        assert_eq!(ticks(&mut o, t0 + ms(3900), &[5; 10]), None);
        assert_eq!(ticks(&mut o, t0 + ms(4900), &[5]), Some(Shedding::Nothing));
        assert_eq!(ticks(&mut o, t0 + ms(5000), &[5; 30]), None);
    }

    #[test]
    fn subscribers_queues_behind_press_like_a_queue_before_the_worker() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        for i in 0..6 {
            // Most subscribers' queues 150 ms behind, a few far more (slow links), none before.
            for _ in 0..21 {
                o.send_waited(ms(150));
            }
            for _ in 0..9 {
                o.send_waited(ms(900));
            }
            o.decide(t0 + ms(100 * i));
        }
        assert_eq!(o.shedding(), Shedding::LowerLayers);
    }

    #[test]
    fn a_few_slow_links_do_not_press() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        for i in 0..20 {
            for _ in 0..24 {
                o.send_waited(ms(5));
            }
            for _ in 0..6 {
                o.send_waited(ms(900));
            }
            o.decide(t0 + ms(100 * i));
        }
        assert_eq!(o.shedding(), Shedding::Nothing);
    }

    #[test]
    fn one_subscriber_behind_its_link_does_not_press() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        for i in 0..20 {
            for _ in 0..3 {
                o.send_waited(ms(700));
            }
            o.decide(t0 + ms(100 * i));
        }
        assert_eq!(o.shedding(), Shedding::Nothing);
    }

    #[test]
    fn late_is_past_the_bound() {
        let o = Overload::new(BOUND);
        assert!(!o.is_late(BOUND));
        assert!(o.is_late(BOUND + ms(1)));
        assert!(!o.is_stale(BOUND * 2));
        assert!(o.is_stale(BOUND * 2 + ms(1)));
    }

    #[test]
    fn keyframes_only_counts_whole_subscriptions_rounding_up() {
        let s = Shedding::KeyframesOnly { eighths: 1 };
        assert_eq!(s.keyframes_only(0), 0);
        assert_eq!(s.keyframes_only(3), 1);
        assert_eq!(s.keyframes_only(16), 2);
        assert_eq!(Shedding::KeyframesOnly { eighths: 8 }.keyframes_only(5), 5);
        assert_eq!(Shedding::LowerLayers.keyframes_only(5), 0);
    }

    #[test]
    fn keyframe_refresh_only_while_keyframes_are_shed() {
        let t0 = Instant::now();
        let mut o = Overload::new(BOUND);
        assert!(!o.keyframe_refresh_due(t0));
        sustained(&mut o, t0);
        ticks(&mut o, t0 + ms(600), &[150]);
        let t1 = t0 + ms(600);
        assert!(o.keyframe_refresh_due(t1));
        assert!(!o.keyframe_refresh_due(t1 + ms(3900)));
        assert!(o.keyframe_refresh_due(t1 + KEYFRAME_REFRESH));
    }
}
