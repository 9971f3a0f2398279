//! Active speaker detection from the RTP audio-level header extension (RFC 6464).
//!
//! Browsers put the level of every audio packet in a header extension, so the SFU
//! never decodes Opus. Levels are smoothed per participant (an exponential moving
//! average over time, so it does not depend on packet rate), and the active speaker
//! only changes when someone else is clearly louder (`margin_db`) for a while
//! (`hold`): a cough or a door slam must not move the spotlight.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Tuning for [`SpeakerDetector`]. Levels are in dB above silence (0 = -127 dBov).
#[derive(Debug, Clone, Copy)]
pub struct SpeakerConfig {
    /// Time constant of the moving average.
    pub smoothing: Duration,
    /// Smoothed loudness a participant needs to count as speaking.
    pub speech_threshold_db: f32,
    /// How much louder a challenger must be than a speaking current speaker.
    pub margin_db: f32,
    /// How long a challenger must stay the loudest before taking over.
    pub hold: Duration,
    /// A participant whose audio stopped (muted, DTX, left) counts as silent after this.
    pub stale_after: Duration,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        SpeakerConfig {
            smoothing: Duration::from_millis(300),
            // -50 dBov: quiet speech; background noise sits below.
            speech_threshold_db: 77.0,
            margin_db: 6.0,
            hold: Duration::from_millis(400),
            stale_after: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Level {
    smoothed_db: f32,
    last: Instant,
}

/// Tracks the loudest participant of one room.
#[derive(Debug)]
pub struct SpeakerDetector<P> {
    config: SpeakerConfig,
    levels: HashMap<P, Level>,
    current: Option<P>,
    challenger: Option<(P, Instant)>,
}

impl<P: Copy + Eq + Hash> SpeakerDetector<P> {
    pub fn new(config: SpeakerConfig) -> Self {
        SpeakerDetector {
            config,
            levels: HashMap::new(),
            current: None,
            challenger: None,
        }
    }

    pub fn current(&self) -> Option<P> {
        self.current
    }

    /// Feeds one audio packet's level, as str0m reports it: -127 (silence) ..= 0 (loudest).
    pub fn observe(&mut self, participant: P, audio_level: i8, now: Instant) {
        let x = f32::from(audio_level.clamp(-127, 0)) + 127.0;
        let tau = self.config.smoothing.as_secs_f32().max(1e-3);
        let level = self.levels.entry(participant).or_insert(Level {
            smoothed_db: 0.0,
            last: now,
        });
        // The first packet has dt = 0 and so moves nothing: a single loud packet never wins.
        let dt = now.saturating_duration_since(level.last).as_secs_f32();
        let alpha = 1.0 - (-dt / tau).exp();
        level.smoothed_db += (x - level.smoothed_db) * alpha;
        level.last = now;
    }

    /// Forgets a participant that left. No event: the room tells its members who left.
    pub fn remove(&mut self, participant: P) {
        self.levels.remove(&participant);
        if self.current == Some(participant) {
            self.current = None;
        }
        if self.challenger.map(|(p, _)| p) == Some(participant) {
            self.challenger = None;
        }
    }

    /// Returns the new active speaker when it changes.
    ///
    /// When everyone falls silent the last speaker stays active, as in every meeting
    /// UI: the spotlight moving to nobody would be a flicker, not information.
    pub fn decide(&mut self, now: Instant) -> Option<P> {
        let loudest = self
            .levels
            .keys()
            .map(|p| (*p, self.loudness(*p, now)))
            .filter(|(_, db)| *db >= self.config.speech_threshold_db)
            .max_by(|a, b| a.1.total_cmp(&b.1));

        let Some((candidate, candidate_db)) = loudest else {
            self.challenger = None;
            return None;
        };
        if Some(candidate) == self.current {
            self.challenger = None;
            return None;
        }
        let beats_current = match self.current {
            None => true,
            Some(current) => {
                let current_db = self.loudness(current, now);
                current_db < self.config.speech_threshold_db
                    || candidate_db >= current_db + self.config.margin_db
            }
        };
        if !beats_current {
            self.challenger = None;
            return None;
        }
        match self.challenger {
            Some((p, since)) if p == candidate => {
                if now.saturating_duration_since(since) >= self.config.hold {
                    self.current = Some(candidate);
                    self.challenger = None;
                    return Some(candidate);
                }
                None
            }
            _ => {
                self.challenger = Some((candidate, now));
                None
            }
        }
    }

    fn loudness(&self, participant: P, now: Instant) -> f32 {
        match self.levels.get(&participant) {
            Some(l) if now.saturating_duration_since(l.last) <= self.config.stale_after => {
                l.smoothed_db
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds 20 ms packets for `ms` milliseconds with fixed levels per participant,
    /// collecting every speaker change.
    fn run(
        d: &mut SpeakerDetector<u32>,
        start: Instant,
        ms: u64,
        levels: &[(u32, i8)],
    ) -> (Instant, Vec<u32>) {
        let mut changes = vec![];
        let mut now = start;
        for _ in 0..ms / 20 {
            now += Duration::from_millis(20);
            for (p, l) in levels {
                d.observe(*p, *l, now);
            }
            changes.extend(d.decide(now));
        }
        (now, changes)
    }

    #[test]
    fn a_single_speaker_becomes_active_after_hold() {
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let t0 = Instant::now();
        let (_, changes) = run(&mut d, t0, 2000, &[(1, -20), (2, -100)]);
        assert_eq!(changes, vec![1]);
        assert_eq!(d.current(), Some(1));
    }

    #[test]
    fn background_noise_never_becomes_active() {
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let (_, changes) = run(&mut d, Instant::now(), 3000, &[(1, -90), (2, -100)]);
        assert!(changes.is_empty());
    }

    #[test]
    fn a_short_burst_does_not_steal_the_spotlight() {
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let (t, _) = run(&mut d, Instant::now(), 2000, &[(1, -30), (2, -100)]);
        // Participant 2 coughs for 100 ms, much louder.
        let (t, changes) = run(&mut d, t, 100, &[(1, -30), (2, 0)]);
        assert!(changes.is_empty());
        let (_, changes) = run(&mut d, t, 1000, &[(1, -30), (2, -100)]);
        assert!(changes.is_empty());
        assert_eq!(d.current(), Some(1));
    }

    #[test]
    fn similar_loudness_does_not_flap() {
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let (t, _) = run(&mut d, Instant::now(), 2000, &[(1, -30), (2, -100)]);
        // 2 starts talking 3 dB louder than 1: below the margin, 1 keeps the floor.
        let (_, changes) = run(&mut d, t, 3000, &[(1, -30), (2, -27)]);
        assert!(changes.is_empty());
    }

    #[test]
    fn speaker_changes_when_the_other_takes_over() {
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let (t, _) = run(&mut d, Instant::now(), 2000, &[(1, -30), (2, -100)]);
        let (_, changes) = run(&mut d, t, 2000, &[(1, -100), (2, -30)]);
        assert_eq!(changes, vec![2]);
    }

    #[test]
    fn silence_keeps_the_last_speaker_and_leaving_clears_it() {
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let (t, _) = run(&mut d, Instant::now(), 2000, &[(1, -30)]);
        // Muted: no packets at all for a while.
        assert_eq!(d.decide(t + Duration::from_secs(5)), None);
        assert_eq!(d.current(), Some(1));
        d.remove(1);
        assert_eq!(d.current(), None);
    }

    #[test]
    fn stale_speaker_is_replaced_without_margin() {
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let (t, _) = run(&mut d, Instant::now(), 2000, &[(1, -10)]);
        // 1 goes silent (stops sending), 2 talks quietly but above threshold.
        let (_, changes) = run(&mut d, t, 3000, &[(2, -40)]);
        assert_eq!(changes, vec![2]);
    }
}
