//! Closed-loop STUN Binding load: every socket keeps `in_flight` requests
//! outstanding and answers each response with a new request, so the server
//! is always busy and the rate measured is what it can answer.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::batch::RecvBatch;
use crate::offload::{self, MAX_SEGMENTS};
use crate::{stun, sys};

#[derive(Debug, Clone)]
pub struct StunLoad {
    pub threads: usize,
    pub sockets_per_thread: usize,
    pub in_flight: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub cpus: Vec<usize>,
    /// Receive with `UDP_GRO` (see [`offload`]).
    pub gro: bool,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct StunSample {
    pub responses_per_sec: f64,
    /// CPU the generator used, in cores (1.0 = one core busy all the time).
    pub generator_cores: f64,
    /// Share of the window the generator's threads were running or waiting
    /// for a CPU; the rest they were blocked waiting for the server.
    pub generator_busy: f64,
}

/// A request unanswered for this long is taken as lost and sent again, so
/// losses never shrink the number in flight.
const LOST_AFTER: Duration = Duration::from_millis(100);

pub fn run(server: SocketAddr, load: &StunLoad) -> anyhow::Result<StunSample> {
    let start = Instant::now();
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..load.threads)
            .map(|t| scope.spawn(move || worker(server, load, t, start)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("load thread panicked"))
            .collect::<anyhow::Result<Vec<ThreadTally>>>()
    })?;
    let secs = load.duration.as_secs_f64();
    let responses: u64 = results.iter().map(|r| r.responses).sum();
    let cpu: Duration = results.iter().map(|r| r.cpu).sum();
    let busy: Duration = results.iter().map(|r| r.busy).sum();
    Ok(StunSample {
        responses_per_sec: responses as f64 / secs,
        generator_cores: cpu.as_secs_f64() / secs,
        generator_busy: busy.as_secs_f64() / secs / results.len().max(1) as f64,
    })
}

/// What one generator thread counted over the window.
struct ThreadTally {
    responses: u64,
    cpu: Duration,
    busy: Duration,
}

/// One thread's sockets, loaded for the warm-up and the window.
fn worker(
    server: SocketAddr,
    load: &StunLoad,
    index: usize,
    start: Instant,
) -> anyhow::Result<ThreadTally> {
    if !load.cpus.is_empty() {
        sys::pin_to(&[load.cpus[index % load.cpus.len()]])?;
    }
    let sockets = (0..load.sockets_per_thread)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0")?;
            s.connect(server)?;
            s.set_nonblocking(true)?;
            if load.gro {
                offload::enable_gro(&s);
            }
            Ok(s)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let socket_refs: Vec<&UdpSocket> = sockets.iter().collect();
    let mut flights: Vec<Flights> = (0..sockets.len())
        .map(|_| Flights::new(load.in_flight, start))
        .collect();
    for (s, f) in sockets.iter().zip(&mut flights) {
        let all: Vec<usize> = (0..load.in_flight).collect();
        f.send(s, &all, start)?;
    }
    let window_start = start + load.warmup;
    let window_end = window_start + load.duration;
    let mut counted = 0u64;
    let mut at_start = None;
    let mut batch = RecvBatch::default();
    let mut ready = Vec::new();
    let mut answered = Vec::with_capacity(MAX_SEGMENTS);
    let mut last_scan = start;
    loop {
        let now = Instant::now();
        if now >= window_end {
            break;
        }
        let in_window = now >= window_start;
        if in_window && at_start.is_none() {
            at_start = Some((sys::thread_cpu_time(), sys::thread_busy_time()));
        }
        sys::poll_readable(&socket_refs, Duration::from_millis(10), &mut ready)?;
        for &i in &ready {
            let got = batch.recv(&sockets[i])?;
            answered.clear();
            answered.extend((0..got).filter_map(|k| flights[i].slot_of(batch.datagram(k))));
            if in_window {
                counted += answered.len() as u64;
            }
            flights[i].send(&sockets[i], &answered, now)?;
        }
        if now.duration_since(last_scan) > LOST_AFTER / 4 {
            last_scan = now;
            for (s, f) in sockets.iter().zip(&mut flights) {
                let lost = f.lost(now);
                f.send(s, &lost, now)?;
            }
        }
    }
    let (cpu, busy) = at_start.unwrap_or_default();
    Ok(ThreadTally {
        responses: counted,
        cpu: sys::thread_cpu_time() - cpu,
        busy: sys::thread_busy_time() - busy,
    })
}

/// The requests outstanding on one socket: slot `k` always has one request
/// in flight, whose transaction id ends in `k` so its answer names its slot.
struct Flights {
    sent_at: Vec<Instant>,
    seq: u64,
    buffers: Vec<[u8; 20]>,
}

impl Flights {
    fn new(slots: usize, now: Instant) -> Self {
        Flights {
            sent_at: vec![now; slots],
            seq: 0,
            buffers: vec![stun::binding_request(0); MAX_SEGMENTS],
        }
    }

    /// The slot a Binding success answers, if it is one of ours.
    fn slot_of(&self, datagram: &[u8]) -> Option<usize> {
        if !stun::is_binding_success(datagram) {
            return None;
        }
        let slot = u16::from_be_bytes([datagram[18], datagram[19]]) as usize;
        (slot < self.sent_at.len()).then_some(slot)
    }

    fn lost(&self, now: Instant) -> Vec<usize> {
        (0..self.sent_at.len())
            .filter(|&k| now.duration_since(self.sent_at[k]) > LOST_AFTER)
            .collect()
    }

    /// Sends a fresh request for each of `slots`, a segmented send per
    /// [`MAX_SEGMENTS`].
    fn send(&mut self, socket: &UdpSocket, slots: &[usize], now: Instant) -> anyhow::Result<()> {
        for chunk in slots.chunks(MAX_SEGMENTS) {
            for (buf, &slot) in self.buffers.iter_mut().zip(chunk) {
                self.seq += 1;
                stun::set_transaction_id(buf, (self.seq << 16) | slot as u64);
                // A request the kernel refuses is retried as lost.
                self.sent_at[slot] = now;
            }
            let packets: Vec<&[u8]> = self.buffers[..chunk.len()].iter().map(|b| &b[..]).collect();
            offload::send_segments(socket, &packets)?;
        }
        Ok(())
    }
}
