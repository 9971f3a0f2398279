//! Throwaway servers for tests and benchmarks (Debian's packages, installed by `scripts/test`), on
//! free loopback ports: `redis-server` without persistence, killed when dropped, and PostgreSQL,
//! stopped when dropped or when this process exits.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port and waits until it listens.
    pub fn start() -> RedisServer {
        RedisServer::on(free_port())
    }

    /// Starts one on `port` (again, after [`RedisServer::stop`]: empty, as after a crash).
    pub fn on(port: u16) -> RedisServer {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (Debian package redis-server; scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer { child, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Runs one command with `redis-cli` (Debian's redis-tools, which redis-server depends on),
    /// as an operator or a fault would; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(output.status.success(), "redis-cli {args:?} failed");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Kills it: Redis is away until started again on the same port.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL server of this process, with trust authentication for `postgres` on loopback.
pub struct PostgresServer {
    port: u16,
    /// Holds the watchdog's standard input open: once it closes (dropped, or this process
    /// exited), the watchdog stops PostgreSQL and removes its files.
    watchdog: Mutex<Child>,
}

impl PostgresServer {
    /// Makes a cluster in a temporary directory and starts it; panics saying what is missing.
    pub fn start() -> PostgresServer {
        let bin = postgres_bin().unwrap_or_else(|| {
            panic!(
                "PostgreSQL is missing (initdb and postgres under /usr/lib/postgresql/*/bin): \
                 apt-get install postgresql, or run scripts/test, which installs it"
            )
        });
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("huddle-postgres-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data");
        let initdb = unprivileged(&bin.join("initdb"))
            .args(["-D", &data.display().to_string()])
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .output()
            .expect("running initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let script = format!(
            "{postgres} -D {data} -k {dir} -p {port} -c listen_addresses=127.0.0.1 \
             -c fsync=off -c max_connections=400 >{dir}/log 2>&1 & pg=$!; \
             cat >/dev/null; kill -INT $pg; wait $pg; rm -rf {dir}",
            postgres = bin.join("postgres").display(),
            data = data.display(),
            dir = dir.display(),
        );
        let watchdog = unprivileged(Path::new("sh"))
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .spawn()
            .expect("starting postgres");
        wait_until_ready(&bin, port, &dir);
        PostgresServer {
            port,
            watchdog: Mutex::new(watchdog),
        }
    }

    /// The URL of database `name` (`postgres` exists from the start).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let watchdog = self.watchdog.get_mut().expect("never poisoned");
        drop(watchdog.stdin.take());
        let _ = watchdog.wait();
    }
}

/// PostgreSQL refuses to run as root. As root (in CI, or in the tests' user namespace, where
/// everybody is root), run it as an ordinary user of a user namespace of its own.
fn unprivileged(program: &Path) -> Command {
    let euid = std::fs::metadata("/proc/self").map_or(0, |meta| meta.uid());
    if euid != 0 {
        return Command::new(program);
    }
    let mut command = Command::new("unshare");
    command
        .args(["--map-user=1000", "--map-group=1000"])
        .arg(program);
    command
}

fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn wait_until_ready(bin: &Path, port: u16, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|status| status.success());
        if ready {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    panic!("PostgreSQL did not start on port {port}:\n{log}");
}
