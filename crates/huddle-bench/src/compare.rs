//! The two modes: each run starts one server, loads it, stops it, then does
//! the same for the next, so both see the same machine state in turn.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::reflector::Reflector;
use crate::relay_load::{find_zero_loss_rate, Ramp, RelayRig, TrialLoad};
use crate::report::{Metric, Report};
use crate::server::{RunningServer, ServerKind, ServerSpec};
use crate::stun_load::{self, StunLoad};
use crate::{memory, sys, StunArgs, TurnArgs};

const BINDING: Metric = Metric {
    name: "binding_responses_per_sec",
    unit: "responses/s",
    compared: true,
    target_ratio: Some(2.0),
};
const RELAY: Metric = Metric {
    name: "relayed_packets_per_sec_0_loss",
    unit: "packets/s",
    compared: true,
    target_ratio: Some(1.5),
};
const MEMORY: Metric = Metric {
    name: "memory_per_allocation",
    unit: "bytes",
    compared: true,
    target_ratio: None,
};
/// Throughput per CPU-second the server got: on a shared machine the server
/// may get less than its core, and this figure does not depend on how much.
const BINDING_PER_CPU: Metric = Metric {
    name: "binding_responses_per_cpu_sec",
    unit: "responses/CPU-s",
    compared: true,
    target_ratio: None,
};
const RELAY_PER_CPU: Metric = Metric {
    name: "relayed_packets_per_cpu_sec",
    unit: "packets/CPU-s",
    compared: true,
    target_ratio: None,
};
const GENERATOR_BUSY: Metric = Metric {
    name: "generator_busy",
    unit: "share of time running or runnable",
    compared: false,
    target_ratio: None,
};
const SERVER_CPU: Metric = Metric {
    name: "server_cpu",
    unit: "cores",
    compared: false,
    target_ratio: None,
};
const GENERATOR_CPU: Metric = Metric {
    name: "generator_cpu",
    unit: "cores",
    compared: false,
    target_ratio: None,
};

type Runs = BTreeMap<(&'static str, ServerKind), Vec<f64>>;

fn specs(common: &crate::Common) -> anyhow::Result<Vec<ServerSpec>> {
    let (server_cpus, _) = common.cpus();
    Ok(common
        .kinds()?
        .into_iter()
        .map(|kind| ServerSpec {
            kind,
            bin: match kind {
                ServerKind::Huddle => common.huddle_bin.clone(),
                ServerKind::Coturn | ServerKind::Reflector | ServerKind::Floor => {
                    common.coturn_bin.clone()
                }
            },
            cpus: server_cpus.clone(),
            extra_args: Vec::new(),
        })
        .collect())
}

fn settings(common: &crate::Common, extra: serde_json::Value) -> serde_json::Value {
    let (server_cpus, client_cpus) = common.cpus();
    json!({
        "runs": common.runs,
        "generator_gro": !common.no_gro,
        "server_cpus": server_cpus,
        "client_cpus": client_cpus,
        "mode": extra,
    })
}

fn stun_load(args: &StunArgs) -> StunLoad {
    let (_, client_cpus) = args.common.cpus();
    StunLoad {
        threads: args.threads.unwrap_or(client_cpus.len().max(1)),
        sockets_per_thread: args.sockets_per_thread,
        in_flight: args.in_flight,
        warmup: Duration::from_millis(args.warmup_ms),
        duration: Duration::from_millis(args.duration_ms),
        cpus: client_cpus,
        gro: !args.common.no_gro,
    }
}

fn stun_settings(args: &StunArgs, load: &StunLoad) -> serde_json::Value {
    let extra = json!({
        "threads": load.threads, "sockets_per_thread": load.sockets_per_thread,
        "in_flight": load.in_flight, "duration_ms": args.duration_ms,
    });
    settings(&args.common, extra)
}

pub fn stun(args: &StunArgs) -> anyhow::Result<Report> {
    let load = stun_load(args);
    let mut report = Report::new("stun", stun_settings(args, &load));
    let specs = specs(&args.common)?;
    let mut runs = Runs::new();
    for run in 0..args.common.runs {
        for spec in &specs {
            let server = RunningServer::start(spec)?;
            let cpu_before = server.cpu_time()?;
            let drops_before = sys::udp_rcvbuf_errors();
            let started = Instant::now();
            let sample = stun_load::run(server.turn_addr, &load)?;
            let drops = sys::udp_rcvbuf_errors() - drops_before;
            let server_cores =
                (server.cpu_time()? - cpu_before).as_secs_f64() / started.elapsed().as_secs_f64();
            eprintln!(
                "stun run {run} {}: {:.0} responses/s, server {:.2} cores, generator {:.2} cores and busy {:.0}% of the time, {drops} UDP drops",
                spec.kind, sample.responses_per_sec, server_cores, sample.generator_cores, sample.generator_busy * 100.0
            );
            push(&mut runs, BINDING, spec.kind, sample.responses_per_sec);
            let per_cpu = sample.responses_per_sec / server_cores.max(1e-9);
            push(&mut runs, BINDING_PER_CPU, spec.kind, per_cpu);
            push(&mut runs, SERVER_CPU, spec.kind, server_cores);
            push(&mut runs, GENERATOR_CPU, spec.kind, sample.generator_cores);
            push(&mut runs, GENERATOR_BUSY, spec.kind, sample.generator_busy);
        }
    }
    fill(
        &mut report,
        &specs,
        &runs,
        &[
            BINDING,
            BINDING_PER_CPU,
            SERVER_CPU,
            GENERATOR_CPU,
            GENERATOR_BUSY,
        ],
    );
    Ok(report)
}

/// The STUN load against [`Reflector`]: if the generator drives it well past
/// the servers' figures, the generator was not what limited them.
pub fn calibrate(args: &StunArgs) -> anyhow::Result<Report> {
    let load = stun_load(args);
    let (server_cpus, _) = args.common.cpus();
    let mut report = Report::new("calibrate", stun_settings(args, &load));
    let mut rates = Vec::new();
    for run in 0..args.common.runs {
        let reflector = Reflector::start(server_cpus.clone())?;
        let sample = stun_load::run(reflector.addr, &load)?;
        let cpu = reflector.stop()?;
        eprintln!(
            "calibrate run {run}: {:.0} responses/s, generator {:.2} cores, reflector {:.2} CPU-s",
            sample.responses_per_sec,
            sample.generator_cores,
            cpu.as_secs_f64()
        );
        rates.push(sample.responses_per_sec);
    }
    report.add(ServerKind::Reflector, BINDING, rates);
    Ok(report)
}

pub fn turn(args: &TurnArgs) -> anyhow::Result<Report> {
    let (_, client_cpus) = args.common.cpus();
    let load = TrialLoad {
        duration: Duration::from_millis(args.trial_ms),
        payload: args.payload,
        cpus: client_cpus,
    };
    let ramp = Ramp {
        start_pps: args.start_pps,
        max_pps: args.max_pps,
        bisect_steps: args.bisect_steps,
    };
    let extra = json!({
        "allocations": args.allocations, "peers": args.peers, "payload": args.payload,
        "trial_ms": args.trial_ms, "bisect_steps": args.bisect_steps,
        "memory_allocations": args.memory_allocations, "memory_runs": args.memory_runs,
    });
    let mut report = Report::new("turn", settings(&args.common, extra));
    let specs = specs(&args.common)?;
    let mut runs = Runs::new();
    for run in 0..if args.skip_relay { 0 } else { args.common.runs } {
        for spec in &specs {
            let server = RunningServer::start(spec)?;
            let rig = RelayRig::setup(&server, args.allocations, args.peers, !args.common.no_gro)?;
            let result = find_zero_loss_rate(&rig, &server, &ramp, &load)?;
            let best = result.best;
            eprintln!(
                "turn run {run} {}: {:.0} packets/s at 0 loss, server {:.2} cores, generator {:.2} cores, sender busy {:.0}%{}",
                spec.kind,
                result.zero_loss_pps,
                best.map_or(0.0, |t| t.server_cores),
                best.map_or(0.0, |t| t.generator_cores),
                best.map_or(0.0, |t| t.sender_busy * 100.0),
                if result.generator_limited { " (generator-limited)" } else { "" }
            );
            if result.generator_limited {
                report.notes.push(format!(
                    "run {run} {}: the generator could not send faster; the figure is a lower bound",
                    spec.kind
                ));
            }
            if let Some(t) = result.first_loss {
                eprintln!(
                    "  first loss at {:.0} packets/s: {} sent, {} relayed, {} dropped by the kernel ({} at the server's socket), server {:.2} cores",
                    t.target_pps, t.sent, t.received, t.kernel_drops, t.server_socket_drops, t.server_cores
                );
            }
            push(&mut runs, RELAY, spec.kind, result.zero_loss_pps);
            if let Some(t) = best {
                let per_cpu = t.received as f64 / t.secs / t.server_cores.max(1e-9);
                push(&mut runs, RELAY_PER_CPU, spec.kind, per_cpu);
            }
            push(
                &mut runs,
                SERVER_CPU,
                spec.kind,
                best.map_or(0.0, |t| t.server_cores),
            );
            push(
                &mut runs,
                GENERATOR_CPU,
                spec.kind,
                best.map_or(0.0, |t| t.generator_cores),
            );
        }
    }
    for run in 0..if args.skip_memory {
        0
    } else {
        args.memory_runs
    } {
        for spec in &specs {
            let server = RunningServer::start(spec)?;
            let m = memory::measure(&server, args.memory_allocations)?;
            eprintln!(
                "memory run {run} {}: RSS {} -> {} bytes, {:.0} bytes/allocation",
                spec.kind, m.rss_before, m.rss_after, m.bytes_per_allocation
            );
            push(&mut runs, MEMORY, spec.kind, m.bytes_per_allocation);
        }
    }
    fill(
        &mut report,
        &specs,
        &runs,
        &[
            RELAY,
            RELAY_PER_CPU,
            MEMORY,
            SERVER_CPU,
            GENERATOR_CPU,
            GENERATOR_BUSY,
        ],
    );
    Ok(report)
}

fn push(runs: &mut Runs, metric: Metric, kind: ServerKind, value: f64) {
    runs.entry((metric.name, kind)).or_default().push(value);
}

fn fill(report: &mut Report, specs: &[ServerSpec], runs: &Runs, metrics: &[Metric]) {
    for metric in metrics {
        for spec in specs {
            if let Some(values) = runs.get(&(metric.name, spec.kind)) {
                report.add(spec.kind, *metric, values.clone());
            }
        }
    }
}
