//! TURN relay load: allocations send ChannelData at a paced total rate, the
//! server relays it to the bench's peer sockets, and a trial counts what
//! arrived. A ramp then finds the highest rate relayed with zero loss.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::batch::RecvBatch;
use crate::offload;
use crate::server::RunningServer;
use crate::turn_client::{allocate_many, Allocation, CHANNEL};
use crate::{stun, sys};

/// Packets sent to one allocation per `sendmmsg`; bounded so the traffic
/// stays spread over all allocations rather than in long per-socket bursts.
const CHUNK: usize = 8;
/// A trial ends this long after the last relayed packet arrives.
const DRAIN_IDLE: Duration = Duration::from_millis(300);

/// Allocations on one server, each with a channel to one of the bench's peers.
pub struct RelayRig {
    pub allocations: Vec<Allocation>,
    pub peers: Vec<UdpSocket>,
}

impl RelayRig {
    /// With `gro`, the peers receive with `UDP_GRO` (see [`offload`]).
    pub fn setup(
        server: &RunningServer,
        allocations: usize,
        peers: usize,
        gro: bool,
    ) -> anyhow::Result<Self> {
        let peers = (0..peers.max(1))
            .map(|_| {
                let s = UdpSocket::bind("127.0.0.1:0")?;
                s.set_nonblocking(true)?;
                sys::grow_recv_buffer(&s, 8 << 20);
                if gro {
                    offload::enable_gro(&s);
                }
                Ok(s)
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let addrs = peers
            .iter()
            .map(UdpSocket::local_addr)
            .collect::<std::io::Result<Vec<_>>>()?;
        let allocations = allocate_many(server.turn_addr, &addrs, allocations)?;
        for a in &allocations {
            a.socket.set_nonblocking(false)?;
        }
        Ok(RelayRig { allocations, peers })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Trial {
    pub target_pps: f64,
    pub sent: u64,
    pub received: u64,
    pub secs: f64,
    /// Generator CPU (sender plus receiver threads), in cores.
    pub generator_cores: f64,
    /// Share of the trial the sender was running or runnable (not sleeping
    /// between paced batches): its headroom is the rest.
    pub sender_busy: f64,
    /// Server CPU over the same time, in cores.
    pub server_cores: f64,
    /// Datagrams dropped for a full receive buffer, anywhere in the namespace.
    pub kernel_drops: u64,
    /// Of those, the ones dropped at the server's listening socket.
    pub server_socket_drops: u64,
}

impl Trial {
    pub fn lossless(&self) -> bool {
        self.sent > 0 && self.received >= self.sent
    }

    /// Whether the sender reached the rate asked of it; if not, the
    /// generator, not the server, was the limit.
    pub fn generator_kept_up(&self) -> bool {
        self.sent as f64 >= 0.98 * self.target_pps * self.secs
    }
}

pub struct TrialLoad {
    pub duration: Duration,
    pub payload: usize,
    pub cpus: Vec<usize>,
}

pub fn trial(
    rig: &RelayRig,
    server: &RunningServer,
    rate: f64,
    load: &TrialLoad,
) -> anyhow::Result<Trial> {
    drain(&rig.peers)?;
    let sent = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let server_cpu_before = server.cpu_time()?;
    let drops_before = sys::udp_rcvbuf_errors();
    let server_drops_before = sys::udp_port_drops(server.turn_addr.port());
    let start = Instant::now();
    let ((send_cpu, send_busy), (received, recv_cpu)) = std::thread::scope(|scope| {
        let sender = scope.spawn(|| send_paced(rig, rate, load, &sent, &done));
        let receiver = scope.spawn(|| receive(rig, load, &sent, &done));
        let send_cpu = sender.join().expect("sender panicked");
        let recv = receiver.join().expect("receiver panicked");
        anyhow::Ok((send_cpu?, recv?))
    })?;
    let secs = load.duration.as_secs_f64();
    let server_cpu = server.cpu_time()? - server_cpu_before;
    Ok(Trial {
        target_pps: rate,
        sent: sent.load(Ordering::Acquire),
        received,
        secs,
        generator_cores: (send_cpu + recv_cpu).as_secs_f64() / secs,
        sender_busy: send_busy.as_secs_f64() / secs,
        server_cores: server_cpu.as_secs_f64() / start.elapsed().as_secs_f64(),
        kernel_drops: sys::udp_rcvbuf_errors() - drops_before,
        server_socket_drops: sys::udp_port_drops(server.turn_addr.port()) - server_drops_before,
    })
}

fn drain(peers: &[UdpSocket]) -> anyhow::Result<()> {
    let mut batch = RecvBatch::default();
    for p in peers {
        while batch.recv(p)? > 0 {}
    }
    Ok(())
}

/// Sends `rate` packets/s for the trial's duration, topping up to what is due
/// every few microseconds; returns the thread's CPU and busy time.
fn send_paced(
    rig: &RelayRig,
    rate: f64,
    load: &TrialLoad,
    sent: &AtomicU64,
    done: &AtomicBool,
) -> anyhow::Result<(Duration, Duration)> {
    let result = (|| {
        pin_first(&load.cpus)?;
        sys::tighten_timer_slack();
        let packet = stun::channel_data(CHANNEL, load.payload);
        let packets = [&packet[..]; CHUNK];
        let cpu_start = sys::thread_cpu_time();
        let busy_start = sys::thread_busy_time();
        let start = Instant::now();
        let mut count = 0u64;
        let mut next = 0usize;
        // Wake about every 16 packets: smooth enough for the server's
        // receive buffer, rare enough that sleeping costs little CPU.
        let pause = Duration::from_secs_f64((16.0 / rate).clamp(20e-6, 1e-3));
        loop {
            let elapsed = start.elapsed();
            if elapsed >= load.duration {
                break;
            }
            let due = (rate * elapsed.as_secs_f64()) as u64;
            while count < due {
                let n = ((due - count) as usize).min(CHUNK);
                let socket = &rig.allocations[next].socket;
                next = (next + 1) % rig.allocations.len();
                let took = offload::send_segments(socket, &packets[..n])?;
                count += took as u64;
                if took == 0 {
                    break; // kernel buffers full: try again after the sleep
                }
            }
            std::thread::sleep(pause);
        }
        sent.store(count, Ordering::Release);
        Ok((
            sys::thread_cpu_time() - cpu_start,
            sys::thread_busy_time() - busy_start,
        ))
    })();
    done.store(true, Ordering::Release);
    result
}

/// Counts relayed packets on the peers until the sender is done and either
/// everything arrived or nothing more came for [`DRAIN_IDLE`].
fn receive(
    rig: &RelayRig,
    load: &TrialLoad,
    sent: &AtomicU64,
    done: &AtomicBool,
) -> anyhow::Result<(u64, Duration)> {
    if let Some(&cpu) = load.cpus.last() {
        sys::pin_to(&[cpu])?;
    }
    let cpu_start = sys::thread_cpu_time();
    let peers: Vec<&UdpSocket> = rig.peers.iter().collect();
    let mut batch = RecvBatch::default();
    let mut ready = Vec::new();
    let mut received = 0u64;
    let mut last_arrival = Instant::now();
    loop {
        sys::poll_readable(&peers, Duration::from_millis(5), &mut ready)?;
        for &i in &ready {
            loop {
                let got = batch.recv(peers[i])?;
                if got == 0 {
                    break;
                }
                received += got as u64;
                last_arrival = Instant::now();
            }
        }
        if done.load(Ordering::Acquire) {
            let all = received >= sent.load(Ordering::Acquire);
            if all || last_arrival.elapsed() > DRAIN_IDLE {
                break;
            }
        }
    }
    Ok((received, sys::thread_cpu_time() - cpu_start))
}

fn pin_first(cpus: &[usize]) -> std::io::Result<()> {
    match cpus.first() {
        Some(&cpu) => sys::pin_to(&[cpu]),
        None => Ok(()),
    }
}

/// How to search for the highest lossless rate.
pub struct Ramp {
    pub start_pps: f64,
    pub max_pps: f64,
    pub bisect_steps: usize,
}

pub struct RampResult {
    /// The highest rate that relayed every packet (0 if none did).
    pub zero_loss_pps: f64,
    /// The trial at that rate.
    pub best: Option<Trial>,
    /// The lossy trial at the lowest rate, to tell where packets were lost.
    pub first_loss: Option<Trial>,
    /// The generator could not send faster than the server relayed.
    pub generator_limited: bool,
}

/// Doubles the rate until a trial loses packets, then bisects between the
/// last lossless rate and the first lossy one.
pub fn find_zero_loss_rate(
    rig: &RelayRig,
    server: &RunningServer,
    ramp: &Ramp,
    load: &TrialLoad,
) -> anyhow::Result<RampResult> {
    let mut best: Option<Trial> = None;
    let mut first_loss: Option<Trial> = None;
    let mut lossy = None;
    let mut rate = ramp.start_pps;
    while rate <= ramp.max_pps {
        let t = retried_trial(rig, server, rate, load)?;
        if !t.lossless() {
            lossy = Some(rate);
            first_loss = Some(t);
            break;
        }
        best = Some(t);
        if !t.generator_kept_up() {
            return Ok(result(best, None, true));
        }
        rate *= 2.0;
    }
    let Some(mut bad) = lossy else {
        return Ok(result(best, None, false));
    };
    let mut good = best.map_or(0.0, |t| t.target_pps);
    for _ in 0..ramp.bisect_steps {
        let mid = (good + bad) / 2.0;
        let t = retried_trial(rig, server, mid, load)?;
        if t.lossless() {
            good = mid;
            best = Some(t);
        } else {
            bad = mid;
            first_loss = Some(t);
        }
    }
    Ok(result(best, first_loss, false))
}

/// A trial in which the sender fell behind says nothing about the server (on
/// a shared machine the generator's core was taken for a moment): try again.
fn retried_trial(
    rig: &RelayRig,
    server: &RunningServer,
    rate: f64,
    load: &TrialLoad,
) -> anyhow::Result<Trial> {
    let mut t = trial(rig, server, rate, load)?;
    for _ in 0..2 {
        if t.generator_kept_up() {
            break;
        }
        t = trial(rig, server, rate, load)?;
    }
    Ok(t)
}

fn result(best: Option<Trial>, first_loss: Option<Trial>, generator_limited: bool) -> RampResult {
    RampResult {
        zero_loss_pps: best.map_or(0.0, |t| t.target_pps),
        best,
        first_loss,
        generator_limited,
    }
}
