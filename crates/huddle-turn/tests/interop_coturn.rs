//! Interop with coturn's client tools (Debian package `coturn`), which nobody
//! here wrote: they find out whether we speak STUN/TURN the way the world does.
//! Our server runs in-process on free loopback ports; nothing leaves 127.0.0.1.
//! Missing binaries FAIL the test (with the install command) rather than skip.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use huddle_turn::{rest_credentials, Credentials, TurnConfig, TurnMetrics, TurnServer};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

const SECRET: &str = "interop-secret";
const TIMEOUT: Duration = Duration::from_secs(60);

fn coturn_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` not found in PATH: install coturn's tools with `apt-get install -y coturn`")
        })
}

struct RunningServer {
    addr: SocketAddr,
    metrics: Arc<TurnMetrics>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    async fn start(allow_loopback: bool, relay_ports: std::ops::RangeInclusive<u16>) -> Self {
        let mut config = TurnConfig::new("huddle.interop", SECRET.as_bytes().to_vec());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.relay_bind_ip = "127.0.0.1".parse().unwrap();
        config.relay_ports = relay_ports;
        if allow_loopback {
            config.allow_peers = vec!["127.0.0.1/32".parse().unwrap()];
        }
        let metrics = Arc::new(TurnMetrics::new());
        let server = TurnServer::bind(config, metrics.clone())
            .await
            .expect("bind loopback");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        RunningServer {
            addr,
            metrics,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().expect("stopped once").send(());
        self.task
            .await
            .expect("server task")
            .expect("server ran cleanly");
    }
}

/// `turnutils_peer`: a UDP echo server the relay sends to.
async fn start_peer() -> (Child, u16) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(coturn_tool("turnutils_peer"))
        .args(["-L", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn turnutils_peer");
    tokio::time::sleep(Duration::from_millis(300)).await;
    (child, port)
}

fn credentials(user: &str) -> Credentials {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    rest_credentials(SECRET.as_bytes(), user, Duration::from_secs(600), now)
}

struct Run {
    success: bool,
    output: String,
}

async fn run_tool(name: &str, args: &[String]) -> Run {
    let child = Command::new(coturn_tool(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{name} {args:?} did not finish in {TIMEOUT:?}"))
        .expect("wait for tool");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        success: out.status.success(),
        output,
    }
}

/// `turnutils_uclient` against our server, relaying to `peer_port`.
async fn uclient(server: SocketAddr, peer_port: u16, extra: &[&str]) -> Run {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    if !extra.contains(&"-W") {
        let creds = credentials("interop");
        args.extend(["-u".into(), creds.username, "-w".into(), creds.password]);
    }
    args.extend(
        [
            "-e",
            "127.0.0.1",
            "-r",
            &peer_port.to_string(),
            "-p",
            &server.port().to_string(),
        ]
        .map(String::from),
    );
    args.extend(["-n", "50", "-z", "2", "127.0.0.1"].map(String::from));
    run_tool("turnutils_uclient", &args).await
}

fn lost_packets(output: &str) -> Option<u64> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.contains("Total lost packets"))?;
    let after = line.split("Total lost packets").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

fn received_messages(output: &str) -> Option<u64> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.contains("tot_recv_msgs="))?;
    let after = line.split("tot_recv_msgs=").nth(1)?;
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

async fn assert_relays_without_loss(extra: &[&str], relay_ports: std::ops::RangeInclusive<u16>) {
    let server = RunningServer::start(true, relay_ports).await;
    let (_peer, peer_port) = start_peer().await;
    let run = uclient(server.addr, peer_port, extra).await;
    assert!(run.success, "uclient {extra:?} failed:\n{}", run.output);
    assert_eq!(
        lost_packets(&run.output),
        Some(0),
        "uclient {extra:?} lost packets:\n{}",
        run.output
    );
    assert!(
        received_messages(&run.output).unwrap_or(0) > 0,
        "nothing echoed:\n{}",
        run.output
    );
    assert!(server.metrics.relayed_packets.get() > 0);
    assert!(server.metrics.allocations_created.get() > 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stunclient_gets_mapped_address() {
    let server = RunningServer::start(false, 42_000..=42_099).await;
    let run = run_tool(
        "turnutils_stunclient",
        &[
            "-p".into(),
            server.addr.port().to_string(),
            "127.0.0.1".into(),
        ],
    )
    .await;
    assert!(
        run.output.contains("UDP reflexive addr: 127.0.0.1:"),
        "stunclient said:\n{}",
        run.output
    );
    assert!(server.metrics.binding_requests.get() > 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_relays_over_udp_with_channels_and_reserved_rtcp_port() {
    assert_relays_without_loss(&[], 42_100..=42_199).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_relays_over_tcp() {
    assert_relays_without_loss(&["-t"], 42_200..=42_299).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_relays_with_send_indications_and_rest_secret() {
    assert_relays_without_loss(&["-s", "-W", SECRET], 42_300..=42_399).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_relays_over_tcp_with_send_indications() {
    assert_relays_without_loss(&["-t", "-s"], 42_400..=42_499).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_is_refused_loopback_peer_without_allow_list() {
    let server = RunningServer::start(false, 42_500..=42_599).await;
    let (_peer, peer_port) = start_peer().await;
    let run = uclient(server.addr, peer_port, &[]).await;
    assert!(
        run.output.contains("403"),
        "expected 403 Forbidden, uclient said:\n{}",
        run.output
    );
    assert_eq!(
        received_messages(&run.output).unwrap_or(0),
        0,
        "nothing may be relayed:\n{}",
        run.output
    );
    assert_eq!(server.metrics.relayed_packets.get(), 0);
    server.stop().await;
}
