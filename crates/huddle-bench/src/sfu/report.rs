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
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let over = median(OVER_FLOOR);
    let mut notes = vec![format!(
        "CPU per forwarded packet / floor = {over:.2}: target <= {FLOOR_TARGET}: {}",
        verdict(over <= FLOOR_TARGET)
    )];
    let busy = median(GENERATOR_BUSY);
    let kept = median(FORWARDED) / median(EXPECTED);
    if busy > GENERATOR_SATURATED || kept < 0.95 {
        notes.push(format!(
            "the generator was busy {:.0}% of the window and the subscribers got {:.0}% of the \
             scheduled packets: the generator (its publisher falls behind), not the server, \
             is the limit",
            busy * 100.0,
            kept * 100.0
        ));
    }
    if matches!(args.scenario, Scenario::Webinar) {
        let all = median(RECEIVING) >= median(RECEIVERS);
        let met = args.participants >= WEBINAR_TARGET && median(LOSS) == 0.0 && all;
        notes.push(format!(
            "{} subscribers of one ~1 Mbps publisher on {} worker(s), loss {:.4}: \
             target {WEBINAR_TARGET} at 0 loss on one worker: {}",
            args.participants,
            args.workers,
            median(LOSS),
            verdict(met && args.workers == 1)
        ));
    }
    report.notes = notes;
    report
}
