//! Starting, watching and stopping the servers under test. Both get the same
//! CPUs, the same relay port range, the same secret and realm.

use std::fmt;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::{stun, sys};

pub const REALM: &str = "huddle";
pub const SECRET: &str = "huddle-bench-secret";
/// Below Linux's ephemeral range (32768-60999), so the bench's own 10,000
/// client sockets never take a port a server wants for a relay.
pub const RELAY_PORTS: (u16, u16) = (10000, 31999);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    Huddle,
    Coturn,
    /// The bench's own calibration target (`huddle-bench calibrate`).
    Reflector,
    /// The SFU scenarios' floor: SRTP encryption and a send, nothing else.
    Floor,
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerKind::Huddle => "huddle",
            ServerKind::Coturn => "coturn",
            ServerKind::Reflector => "reflector",
            ServerKind::Floor => "floor",
        })
    }
}

/// How to start one server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub kind: ServerKind,
    pub bin: PathBuf,
    pub cpus: Vec<usize>,
    /// Flags after the defaults (huddle only), e.g. the SFU's.
    pub extra_args: Vec<String>,
}

pub struct RunningServer {
    pub kind: ServerKind,
    pub turn_addr: SocketAddr,
    /// huddle's HTTP/WebSocket address (unused for coturn).
    pub web_addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl RunningServer {
    /// Starts the server and returns once it answers a STUN Binding request.
    pub fn start(spec: &ServerSpec) -> anyhow::Result<Self> {
        Self::start_at(spec, SocketAddr::from(([127, 0, 0, 1], free_port()?)))
    }

    /// As [`RunningServer::start`], huddle's web server on `web_addr` (which its flags may name).
    pub fn start_at(spec: &ServerSpec, web_addr: SocketAddr) -> anyhow::Result<Self> {
        let turn_port = free_port()?;
        let turn_addr = SocketAddr::from(([127, 0, 0, 1], turn_port));
        let log = std::env::temp_dir().join(format!(
            "huddle-bench-{}-{}-{}.log",
            spec.kind,
            std::process::id(),
            turn_port
        ));
        let log_file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(&spec.bin);
        match spec.kind {
            ServerKind::Huddle => {
                huddle_args(&mut cmd, web_addr, turn_addr);
                cmd.args(&spec.extra_args);
            }
            ServerKind::Coturn => coturn_args(&mut cmd, turn_addr, spec.cpus.len().max(1)),
            ServerKind::Reflector | ServerKind::Floor => bail!("{} runs in process", spec.kind),
        }
        cmd.stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let cpus = spec.cpus.clone();
        // SAFETY: pin_to only calls sched_setaffinity, which is async-signal-safe.
        unsafe { cmd.pre_exec(move || sys::pin_to(&cpus)) };
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", spec.bin.display()))?;
        let mut server = RunningServer {
            kind: spec.kind,
            turn_addr,
            web_addr,
            child,
            log,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let probe = UdpSocket::bind("127.0.0.1:0")?;
        probe.connect(self.turn_addr)?;
        probe.set_read_timeout(Some(Duration::from_millis(50)))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}):\n{}", self.kind, self.log_tail());
            }
            let _ = probe.send(&stun::binding_request(0));
            if let Ok(n) = probe.recv(&mut buf) {
                if stun::is_binding_success(&buf[..n]) {
                    return Ok(());
                }
            }
        }
        bail!(
            "{} did not answer STUN in 15 s:\n{}",
            self.kind,
            self.log_tail()
        )
    }

    /// Resident set size from `/proc/<pid>/status`.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/<pid>/status")?;
        Ok(kib * 1024)
    }

    /// User plus system CPU time of the whole process (all threads).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let rest = stat.rsplit_once(')').context("malformed stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Ok(Duration::from_millis(ticks * 1000 / hz))
    }

    /// Sends SIGTERM (a huddle cluster node drains on it).
    pub fn terminate(&self) {
        // SAFETY: kill with our own child's pid and a valid signal.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for RunningServer {
    /// SIGTERM first, so a wrapper such as `strace -c` can write its summary;
    /// SIGKILL if the server has not exited within two seconds.
    fn drop(&mut self) {
        self.terminate();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn huddle_args(cmd: &mut Command, web: SocketAddr, turn_addr: SocketAddr) {
    let (lo, hi) = RELAY_PORTS;
    cmd.args(["--listen", &web.to_string()])
        .args(["--turn-listen", &turn_addr.to_string()])
        .args(["--relay-ports", &format!("{lo}-{hi}")])
        .args(["--turn-secret", SECRET])
        .args(["--turn-allow-peer", "127.0.0.1/32"])
        .args(["--turn-realm", REALM])
        .args(["--turn-user-quota", "1000000"])
        .args(["--turn-client-quota", "1000000"])
        .args(["--turn-bandwidth", "0"])
        // Same logging as coturn gets: warnings only, nothing per allocation.
        .env("RUST_LOG", "warn");
}

fn coturn_args(cmd: &mut Command, turn_addr: SocketAddr, relay_threads: usize) {
    let (lo, hi) = RELAY_PORTS;
    let pid_file =
        std::env::temp_dir().join(format!("huddle-bench-turnserver-{}.pid", turn_addr.port()));
    cmd.args(["-n", "--no-cli", "--no-tls", "--no-dtls"])
        .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
        .args(["--listening-port", &turn_addr.port().to_string()])
        .args(["--min-port", &lo.to_string(), "--max-port", &hi.to_string()])
        .args(["--use-auth-secret", "--static-auth-secret", SECRET])
        .args(["--realm", REALM, "--allow-loopback-peers"])
        .args(["--relay-threads", &relay_threads.to_string()])
        .args(["--pidfile", &pid_file.to_string_lossy()])
        .args(["--log-file", "stdout", "--simple-log"]);
}

/// A port free for both UDP and TCP on loopback (servers listen on both).
pub fn free_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free loopback port")
}
