//! Prometheus counters of the SFU.
//!
//! The core keeps plain integers ([`SfuStats`]); the driver adds their growth to
//! these counters about once a second, so the packet path touches no atomics.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::outbox::SfuStats;
use crate::pressure::PressureReading;
use crate::sfu::Load;

/// `worker="<index>"`: one series per worker thread.
type WorkerLabel = Vec<(&'static str, String)>;

#[derive(Debug, Clone, Default)]
pub struct SfuMetrics {
    packets_forwarded: Counter,
    bytes_forwarded: Counter,
    keyframe_requests: Counter,
    nacks: Counter,
    frames_skipped: Counter,
    data_channel_dropped: Counter,
    frames_late: Counter,
    datagrams_stale: Counter,
    joins_refused: Counter,
    worker_rooms: Family<WorkerLabel, Gauge>,
    worker_participants: Family<WorkerLabel, Gauge>,
    worker_packets_forwarded: Family<WorkerLabel, Counter>,
    worker_busy_seconds: Family<WorkerLabel, Counter<f64, AtomicU64>>,
    worker_lag_seconds: Family<WorkerLabel, Gauge<f64, AtomicU64>>,
    worker_shedding: Family<WorkerLabel, Gauge>,
    worker_keyframes_only: Family<WorkerLabel, Gauge>,
    worker_refusing: Family<WorkerLabel, Gauge>,
    /// Each worker's last reading, for [`SfuMetrics::strain`].
    last_readings: Arc<Mutex<HashMap<usize, PressureReading>>>,
}

/// How hard the SFU is pushed now, as a cluster node tells the others: its busiest worker's
/// share of time working and its longest datagram wait over the last reading, and the media
/// bytes forwarded so far (a rate, between two strains).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Strain {
    pub busiest_share: f64,
    pub worst_lag: Duration,
    pub bytes_forwarded: u64,
}

impl SfuMetrics {
    /// Registers the counters; prometheus-client appends `_total` to counter names.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "huddle_sfu_packets_forwarded",
            "RTP packets forwarded to subscribers",
            self.packets_forwarded.clone(),
        );
        registry.register(
            "huddle_sfu_bytes_forwarded",
            "Media payload bytes forwarded to subscribers",
            self.bytes_forwarded.clone(),
        );
        registry.register(
            "huddle_sfu_keyframe_requests",
            "Keyframe requests (PLI/FIR) sent to publishers after rate limiting",
            self.keyframe_requests.clone(),
        );
        registry.register(
            "huddle_sfu_nacks",
            "NACKs sent to publishers for lost packets",
            self.nacks.clone(),
        );
        registry.register(
            "huddle_sfu_frames_skipped",
            "Video frames not forwarded to a subscriber whose send queue was too far behind",
            self.frames_skipped.clone(),
        );
        registry.register(
            "huddle_sfu_data_channel_dropped",
            "Data channel messages not relayed: the receiver's backlog was full or its channel closed",
            self.data_channel_dropped.clone(),
        );
        registry.register(
            "huddle_sfu_frames_late",
            "Frames forwarded to nobody: they waited past the worker's delay bound before it could handle them",
            self.frames_late.clone(),
        );
        registry.register(
            "huddle_sfu_datagrams_stale",
            "Datagrams dropped unread: they waited more than twice the delay bound for their worker",
            self.datagrams_stale.clone(),
        );
        registry.register(
            "huddle_sfu_joins_refused",
            "Newcomers refused (room_overloaded) by a worker shedding load",
            self.joins_refused.clone(),
        );
        registry.register(
            "huddle_sfu_worker_rooms",
            "Rooms each SFU worker carries members of (a large room spreads over several)",
            self.worker_rooms.clone(),
        );
        registry.register(
            "huddle_sfu_worker_participants",
            "Participants each SFU worker carries",
            self.worker_participants.clone(),
        );
        registry.register(
            "huddle_sfu_worker_packets_forwarded",
            "RTP packets forwarded by each SFU worker",
            self.worker_packets_forwarded.clone(),
        );
        registry.register(
            "huddle_sfu_worker_busy_seconds",
            "Time each SFU worker spent working rather than waiting for input; a rate near 1 means it cannot keep up",
            self.worker_busy_seconds.clone(),
        );
        registry.register(
            "huddle_sfu_worker_lag_seconds",
            "The longest a datagram waited between the socket and its SFU worker over the last second: a saturated worker delays everybody's media by this much",
            self.worker_lag_seconds.clone(),
        );
        registry.register(
            "huddle_sfu_worker_shedding",
            "How far each SFU worker sheds load to keep media within its delay bound: 0 nothing, 1 lower simulcast layers, 2 keyframes only for some video subscriptions (and no newcomers once three eighths are)",
            self.worker_shedding.clone(),
        );
        registry.register(
            "huddle_sfu_worker_keyframes_only",
            "Video subscriptions each SFU worker sends keyframes only, coldest tiles first, while it sheds load",
            self.worker_keyframes_only.clone(),
        );
        registry.register(
            "huddle_sfu_worker_refusing_newcomers",
            "1 while an SFU worker sheds so much load that newcomers to its rooms are refused (room_overloaded), else 0",
            self.worker_refusing.clone(),
        );
    }

    /// One worker's share: what it carries now, how hard it was pushed and the packets it
    /// forwarded since the last call (see [`SfuStats::since`]); the totals grow by the same delta.
    pub(crate) fn add_worker(
        &self,
        worker: usize,
        load: Load,
        pressure: PressureReading,
        delta: SfuStats,
    ) {
        let label = vec![("worker", worker.to_string())];
        self.worker_rooms
            .get_or_create(&label)
            .set(load.rooms as i64);
        let participants = self.worker_participants.get_or_create(&label);
        participants.set(load.participants as i64);
        let packets = self.worker_packets_forwarded.get_or_create(&label);
        packets.inc_by(delta.packets_forwarded);
        let busy = self.worker_busy_seconds.get_or_create(&label);
        busy.inc_by(pressure.busy.as_secs_f64());
        let lag = self.worker_lag_seconds.get_or_create(&label);
        lag.set(pressure.worst_lag.as_secs_f64());
        let shedding = self.worker_shedding.get_or_create(&label);
        shedding.set(load.shedding.level().into());
        let keyframes_only = self.worker_keyframes_only.get_or_create(&label);
        keyframes_only.set(load.keyframes_only as i64);
        let refusing = self.worker_refusing.get_or_create(&label);
        refusing.set(load.refuses_newcomers.into());
        self.readings().insert(worker, pressure);
        self.add(delta);
    }

    /// The SFU's strain now: its workers' last readings.
    pub fn strain(&self) -> Strain {
        let readings = self.readings();
        Strain {
            busiest_share: readings
                .values()
                .map(PressureReading::busy_share)
                .fold(0.0, f64::max),
            worst_lag: readings
                .values()
                .map(|reading| reading.worst_lag)
                .max()
                .unwrap_or_default(),
            bytes_forwarded: self.bytes_forwarded.get(),
        }
    }

    fn readings(&self) -> std::sync::MutexGuard<'_, HashMap<usize, PressureReading>> {
        self.last_readings.lock().expect("never poisoned")
    }

    /// Adds counts that grew since the last call (see [`SfuStats::since`]).
    fn add(&self, delta: SfuStats) {
        self.packets_forwarded.inc_by(delta.packets_forwarded);
        self.bytes_forwarded.inc_by(delta.bytes_forwarded);
        self.keyframe_requests.inc_by(delta.keyframe_requests);
        self.nacks.inc_by(delta.nacks);
        self.frames_skipped.inc_by(delta.frames_skipped);
        self.data_channel_dropped.inc_by(delta.data_channel_dropped);
        self.frames_late.inc_by(delta.frames_late);
        self.datagrams_stale.inc_by(delta.datagrams_stale);
        self.joins_refused.inc_by(delta.joins_refused);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overload::Shedding;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn counters_are_exposed_with_total_suffix_and_count_growth_per_worker() {
        let mut registry = Registry::default();
        let m = SfuMetrics::default();
        m.register(&mut registry);
        let mut s = SfuStats {
            packets_forwarded: 10,
            bytes_forwarded: 1000,
            keyframe_requests: 1,
            nacks: 2,
            frames_skipped: 4,
            data_channel_dropped: 3,
            frames_late: 6,
            datagrams_stale: 8,
            joins_refused: 7,
        };
        let first = s;
        let one_room = Load {
            rooms: 1,
            participants: 3,
            ..Load::default()
        };
        let pushed = |busy_ms, lag_ms| PressureReading {
            interval: Duration::from_secs(1),
            busy: Duration::from_millis(busy_ms),
            worst_lag: Duration::from_millis(lag_ms),
        };
        m.add_worker(
            0,
            one_room,
            pushed(250, 3),
            first.since(&SfuStats::default()),
        );
        s.packets_forwarded = 15;
        let two_rooms = Load {
            rooms: 2,
            participants: 5,
            shedding: Shedding::KeyframesOnly { eighths: 3 },
            keyframes_only: 9,
            refuses_newcomers: true,
        };
        m.add_worker(1, two_rooms, pushed(500, 40), s.since(&first));
        m.add_worker(1, two_rooms, pushed(250, 20), SfuStats::default());
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("huddle_sfu_packets_forwarded_total 15"),
            "{text}"
        );
        assert!(
            text.contains("huddle_sfu_bytes_forwarded_total 1000"),
            "{text}"
        );
        assert!(
            text.contains("huddle_sfu_keyframe_requests_total 1"),
            "{text}"
        );
        assert!(text.contains("huddle_sfu_nacks_total 2"), "{text}");
        assert!(text.contains("huddle_sfu_frames_skipped_total 4"), "{text}");
        assert!(
            text.contains("huddle_sfu_data_channel_dropped_total 3"),
            "{text}"
        );
        assert!(text.contains("huddle_sfu_frames_late_total 6"), "{text}");
        assert!(
            text.contains("huddle_sfu_datagrams_stale_total 8"),
            "{text}"
        );
        assert!(text.contains("huddle_sfu_joins_refused_total 7"), "{text}");
        for series in [
            r#"huddle_sfu_worker_packets_forwarded_total{worker="0"} 10"#,
            r#"huddle_sfu_worker_packets_forwarded_total{worker="1"} 5"#,
            r#"huddle_sfu_worker_rooms{worker="1"} 2"#,
            r#"huddle_sfu_worker_participants{worker="0"} 3"#,
            r#"huddle_sfu_worker_busy_seconds_total{worker="0"} 0.25"#,
            r#"huddle_sfu_worker_busy_seconds_total{worker="1"} 0.75"#,
            r#"huddle_sfu_worker_lag_seconds{worker="0"} 0.003"#,
            r#"huddle_sfu_worker_lag_seconds{worker="1"} 0.02"#,
            r#"huddle_sfu_worker_shedding{worker="0"} 0"#,
            r#"huddle_sfu_worker_shedding{worker="1"} 2"#,
            r#"huddle_sfu_worker_keyframes_only{worker="1"} 9"#,
            r#"huddle_sfu_worker_refusing_newcomers{worker="0"} 0"#,
            r#"huddle_sfu_worker_refusing_newcomers{worker="1"} 1"#,
        ] {
            assert!(text.contains(series), "{series} in {text}");
        }
        // Each worker worked a quarter of its last second (worker 1 half of the one before); the
        // longest wait of the last readings is worker 1's 20 ms (worker 0's was 3).
        assert_eq!(
            m.strain(),
            Strain {
                busiest_share: 0.25,
                worst_lag: Duration::from_millis(20),
                bytes_forwarded: 1000,
            }
        );
    }
}
