//! The SFU figures of one run, and the report of all runs: medians, the ratio
//! to the floor and the verdicts against the targets.

use serde_json::json;

use super::generator::Outcome;
use super::tally::percentile;
use super::{Scenario, SfuArgs};
use crate::report::{Metric, Report};
use crate::server::ServerKind;

/// CPU per forwarded packet may be at most this multiple of the floor's.
const FLOOR_TARGET: f64 = 2.0;
/// Subscribers of one ~1 Mbps publisher one worker must carry at zero loss.
const WEBINAR_TARGET: usize = 500;
/// A generator busier than this was the limit, not the server.
const GENERATOR_SATURATED: f64 = 0.9;
/// Below this share of the publishers' schedule reaching the subscribers, something could not
/// keep up: a server that queues what it cannot send loses no frame, but falls behind.
const KEPT_UP: f64 = 0.99;
/// The webinar target's loss (share of frames) and p99 latency (ms).
const WEBINAR_LOSS: f64 = 0.005;
const WEBINAR_P99_MS: f64 = 200.0;
/// p99 latency (ms) at twice the load the server carries (`--contend`).
const OVERLOAD_P99_MS: f64 = 500.0;
/// Server memory per participant (KiB of RSS growth over the joins).
const RSS_TARGET_KIB: f64 = 250.0;

const fn metric(name: &'static str, unit: &'static str) -> Metric {
    Metric {
        name,
        unit,
        compared: false,
        target_ratio: None,
    }
}

/// One run's figures, in the order of the table.
pub struct RunFigures {
    values: Vec<(Metric, f64)>,
    floor_us: f64,
}

const RECEIVERS: Metric = metric("receivers", "participants that should get media");
const RECEIVING: Metric = metric("receiving", "of those, got media");
const EXPECTED: Metric = metric(
    "expected_per_sec",
    "packets/s the publishers' schedule makes",
);
const FORWARDED: Metric = metric("forwarded_per_sec", "packets/s counted at subscribers");
const FORWARDED_METRIC: Metric = metric("forwarded_per_sec_metrics", "packets/s from /metrics");
const SERVER_CPU: Metric = metric("server_cpu", "cores");
const WORKER_LAG: Metric = metric(
    "worker_lag",
    "ms a datagram waited for its worker at most (last second, /metrics)",
);
const SHEDDING: Metric = metric(
    "shedding",
    "furthest a worker sheds at the end (0 nothing, 1 lower layers, 2 keyframes only)",
);
const KEYFRAMES_ONLY: Metric = metric(
    "keyframes_only",
    "video subscriptions sent keyframes only at the end",
);
const FRAMES_LATE: Metric = metric(
    "frames_late",
    "frames forwarded to nobody, past the delay bound (whole run)",
);
const DATAGRAMS_STALE: Metric = metric(
    "datagrams_stale",
    "datagrams dropped unread, past twice the delay bound (whole run)",
);
const FRAMES_SKIPPED: Metric = metric(
    "frames_skipped",
    "frames not sent to a subscriber whose send queue was behind (whole run)",
);
const JOINS_REFUSED: Metric = metric("joins_refused", "newcomers refused (room_overloaded)");
const BUSIEST_SHARE: Metric = metric(
    "busiest_worker_share",
    "of the packets forwarded, the busiest worker's share",
);
const QUIETEST_SHARE: Metric = metric(
    "quietest_worker_share",
    "of the packets forwarded, the quietest worker's share",
);
const US_PER_PACKET: Metric = metric("server_cpu_per_forwarded", "µs/packet");
const FLOOR_US: Metric = metric("floor_cpu_per_packet", "µs/packet (SRTP encrypt + send)");
const OVER_FLOOR: Metric = metric("cpu_per_forwarded_over_floor", "x");
const LOSS: Metric = metric("loss", "share of frames");
const LATENCY_P50: Metric = metric("latency_p50", "ms");
const LATENCY_P99: Metric = metric("latency_p99", "ms");
const JOIN_P50: Metric = metric("join_p50", "ms (join sent to first media)");
const JOIN_P99: Metric = metric("join_p99", "ms");
const RSS: Metric = metric("server_rss_per_participant", "bytes");
const GENERATOR_CPU: Metric = metric("generator_cpu", "cores");
const GENERATOR_BUSY: Metric = metric("generator_busy", "share of time running or runnable");

impl RunFigures {
    pub fn new(o: &Outcome, floor_us: f64, expected_per_sec: f64) -> Self {
        let secs = o.window.as_secs_f64();
        let ms = |us: Option<u64>| us.map_or(f64::NAN, |v| v as f64 / 1000.0);
        let cpu_us = o.server_cpu.as_secs_f64() * 1e6;
        let per_packet = cpu_us / o.tally.packets.max(1) as f64;
        let participants = (o.receivers.max(1)) as f64;
        let values = vec![
            (RECEIVERS, o.receivers as f64),
            (RECEIVING, o.receiving as f64),
            (EXPECTED, expected_per_sec),
            (FORWARDED, o.tally.packets as f64 / secs),
            (FORWARDED_METRIC, o.server_forwarded / secs),
            (SERVER_CPU, o.server_cpu.as_secs_f64() / secs),
            (WORKER_LAG, o.worker_lag * 1000.0),
            (
                BUSIEST_SHARE,
                o.worker_shares.iter().copied().fold(0.0, f64::max),
            ),
            (
                QUIETEST_SHARE,
                o.worker_shares.iter().copied().fold(1.0, f64::min),
            ),
            (SHEDDING, o.shed.level),
            (KEYFRAMES_ONLY, o.shed.keyframes_only),
            (FRAMES_LATE, o.shed.frames_late),
            (DATAGRAMS_STALE, o.shed.datagrams_stale),
            (FRAMES_SKIPPED, o.shed.frames_skipped),
            (JOINS_REFUSED, o.shed.joins_refused),
            (US_PER_PACKET, per_packet),
            (OVER_FLOOR, per_packet / floor_us),
            (LOSS, o.tally.loss()),
            (LATENCY_P50, ms(percentile(&o.tally.latency_us, 50.0))),
            (LATENCY_P99, ms(percentile(&o.tally.latency_us, 99.0))),
            (JOIN_P50, ms(percentile(&o.join_us, 50.0))),
            (JOIN_P99, ms(percentile(&o.join_us, 99.0))),
            (RSS, o.rss_growth as f64 / participants),
            (GENERATOR_CPU, o.generator_cpu.as_secs_f64() / secs),
            (GENERATOR_BUSY, o.generator_busy.as_secs_f64() / secs),
        ];
        for e in &o.errors {
            eprintln!("server error to a participant: {e}");
        }
        if o.refused > 0 {
            eprintln!("str0m refused {} inputs", o.refused);
        }
        RunFigures { values, floor_us }
    }

    fn value(&self, m: Metric) -> f64 {
        let found = self.values.iter().find(|(v, _)| v.name == m.name);
        found.map_or(f64::NAN, |(_, v)| *v)
    }
}

pub fn build(args: &SfuArgs, runs: &[RunFigures]) -> Report {
    let settings = json!({
        "scenario": args.scenario,
        "participants": args.participants,
        "publishers": args.publishers,
        "tile": format!("{}x{}", args.tile.0, args.tile.1),
        "workers": args.workers,
        "contend": args.contend,
        "duration_ms": args.duration_ms,
        "runs": runs.len(),
    });
    let mut report = Report::new("sfu", settings);
    let Some(first) = runs.first() else {
        return report;
    };
    for (m, _) in &first.values {
        report.add(
            ServerKind::Huddle,
            *m,
            runs.iter().map(|r| r.value(*m)).collect(),
        );
    }
    report.add(
        ServerKind::Floor,
        FLOOR_US,
        runs.iter().map(|r| r.floor_us).collect(),
    );
    let median = |m: Metric| {
        report
            .figures
            .iter()
            .find(|f| f.metric.name == m.name)
            .map_or(f64::NAN, |f| f.value)
    };
    report.notes = notes(args, median);
    report
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// The verdict on a figure read from the server's /proc files: a zero one was not read (a
/// wrapper given as `--huddle-bin` is another process), and is never "met".
fn judged(figure: f64, met: bool) -> &'static str {
    if figure > 0.0 {
        verdict(met)
    } else {
        "not measured (no reading of the server process)"
    }
}

/// The verdicts against the targets, and who could not keep up if somebody could not.
fn notes(args: &SfuArgs, median: impl Fn(Metric) -> f64) -> Vec<String> {
    let over = median(OVER_FLOOR);
    let rss_kib = median(RSS) / 1024.0;
    let mut notes = vec![
        format!(
            "CPU per forwarded packet / floor = {over:.2}: target <= {FLOOR_TARGET}: {}",
            judged(over, over <= FLOOR_TARGET)
        ),
        format!(
            "server memory per participant {rss_kib:.0} KiB (RSS growth over the joins): target \
             <= {RSS_TARGET_KIB}: {}",
            judged(rss_kib, rss_kib <= RSS_TARGET_KIB)
        ),
    ];
    let busy = median(GENERATOR_BUSY);
    let kept = median(FORWARDED) / median(EXPECTED);
    if busy > GENERATOR_SATURATED {
        notes.push(format!(
            "the generator was busy {:.0}% of the window and the subscribers got {:.0}% of the \
             scheduled packets: the generator (its publisher falls behind), not the server, \
             is the limit",
            busy * 100.0,
            kept * 100.0
        ));
    } else if kept < KEPT_UP {
        notes.push(format!(
            "the subscribers got {:.0}% of the scheduled packets, {:.0} ms late at the median, \
             with the server at {:.2} cores and datagrams waiting up to {:.0} ms for its \
             worker: the server could not keep up",
            kept * 100.0,
            median(LATENCY_P50),
            median(SERVER_CPU),
            median(WORKER_LAG)
        ));
    }
    if args.workers > 1 {
        let (busiest, quietest) = (median(BUSIEST_SHARE), median(QUIETEST_SHARE));
        notes.push(format!(
            "one room over {} workers: the busiest forwarded {:.0}% of the packets, the quietest \
             {:.0}%: target 40-60% each: {}",
            args.workers,
            busiest * 100.0,
            quietest * 100.0,
            verdict(busiest <= 0.6 && quietest >= 0.4)
        ));
    }
    let per_subscriber = median(EXPECTED) / median(RECEIVERS);
    let per_core = 1e6 / median(US_PER_PACKET) / per_subscriber;
    if per_core.is_finite() {
        notes.push(format!(
            "at {:.1} µs per forwarded packet a core forwards to about {per_core:.0} subscribers of \
             {per_subscriber:.0} packets/s each: a node of C cores with C workers carries about \
             C x {per_core:.0}, a room spread over all of them",
            median(US_PER_PACKET)
        ));
    }
    if args.contend {
        let p99 = median(LATENCY_P99);
        let shed = [
            SHEDDING,
            KEYFRAMES_ONLY,
            FRAMES_LATE,
            DATAGRAMS_STALE,
            JOINS_REFUSED,
        ]
        .iter()
        .any(|m| median(*m) > 0.0);
        notes.push(format!(
            "overload (the server's CPU shared with a busy loop once all joined): p99 latency {p99:.0} ms, target \
             <= {OVERLOAD_P99_MS}: {}; shedding level {:.0}, {:.0} subscriptions on keyframes only, \
             {:.0} late frames, {:.0} stale datagrams, {:.0} newcomers refused: shedding in /metrics: {}",
            verdict(p99 <= OVERLOAD_P99_MS),
            median(SHEDDING),
            median(KEYFRAMES_ONLY),
            median(FRAMES_LATE),
            median(DATAGRAMS_STALE),
            median(JOINS_REFUSED),
            verdict(shed)
        ));
    } else if matches!(args.scenario, Scenario::Webinar) {
        let all = median(RECEIVING) >= median(RECEIVERS);
        let p99 = median(LATENCY_P99);
        let met = args.participants >= WEBINAR_TARGET
            && args.workers == 1
            && median(LOSS) < WEBINAR_LOSS
            && kept >= KEPT_UP
            && p99 <= WEBINAR_P99_MS
            && all;
        notes.push(format!(
            "{} subscribers of one ~1 Mbps publisher on {} worker(s), loss {:.4}, {:.1}% of the \
             schedule forwarded, p99 latency {p99:.0} ms: target {WEBINAR_TARGET} on one worker, \
             >= 99% of the schedule, loss < {WEBINAR_LOSS}, p99 <= {WEBINAR_P99_MS} ms: {}",
            args.participants,
            args.workers,
            median(LOSS),
            kept * 100.0,
            verdict(met)
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sfu: SfuArgs,
    }

    fn webinar_500_notes(forwarded: f64, server_cpu: f64) -> Vec<String> {
        notes_with(|name| match name {
            "forwarded_per_sec" => Some(forwarded),
            "server_cpu" => Some(server_cpu),
            _ => None,
        })
    }

    /// The notes of a 500-subscriber webinar on one worker; `figure` overrides the defaults.
    fn notes_with(figure: impl Fn(&str) -> Option<f64>) -> Vec<String> {
        let cli = Cli::parse_from(["sfu", "webinar", "-n", "500", "--workers", "1"]);
        notes(&cli.sfu, |m| {
            figure(m.name).unwrap_or(match m.name {
                "receivers" | "receiving" => 500.0,
                "expected_per_sec" => 85_000.0,
                "forwarded_per_sec" => 85_000.0,
                "server_cpu" => 0.9,
                "worker_lag" => 600.0,
                "generator_busy" => 0.7,
                "latency_p50" => 15.0,
                "latency_p99" => 40.0,
                "cpu_per_forwarded_over_floor" => 3.0,
                "server_rss_per_participant" => 300.0 * 1024.0,
                _ => 0.0,
            })
        })
    }

    #[test]
    fn a_webinar_that_keeps_up_at_zero_loss_meets_the_target() {
        let notes = webinar_500_notes(85_000.0, 0.9);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[2].ends_with(": met"), "{notes:?}");
    }

    #[test]
    fn a_server_that_falls_behind_misses_the_target_even_without_loss() {
        let notes = webinar_500_notes(58_000.0, 1.0);
        assert!(
            notes[2].contains("waiting up to 600 ms for its worker: the server could not keep up"),
            "{notes:?}"
        );
        assert!(notes[3].ends_with(": MISSED"), "{notes:?}");
    }

    #[test]
    fn figures_not_read_from_the_server_are_not_judged_met() {
        let notes = webinar_500_notes(85_000.0, 0.9);
        assert!(notes[0].ends_with(": MISSED"), "3x the floor: {notes:?}");
        assert!(notes[1].ends_with(": MISSED"), "300 KiB: {notes:?}");
        let unread = notes_with(|name| match name {
            "cpu_per_forwarded_over_floor" | "server_rss_per_participant" => Some(0.0),
            _ => None,
        });
        assert!(
            unread[0].ends_with("not measured (no reading of the server process)"),
            "{unread:?}"
        );
        assert!(
            unread[1].ends_with("not measured (no reading of the server process)"),
            "{unread:?}"
        );
    }
}
