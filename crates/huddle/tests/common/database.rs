//! The two databases every collaboration test runs on: a fresh SQLite data directory, and a fresh
//! database in a throwaway PostgreSQL server that this test binary starts on a free loopback port
//! (and that stops when the binary exits).

use std::future::Future;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("huddle-{what}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).expect("creating a temporary directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where one test keeps its data: the same flags give a restarted server the same data.
pub enum Database {
    Sqlite(TempDir),
    Postgres(String),
}

impl Database {
    pub fn flags(&self) -> Vec<String> {
        match self {
            Self::Sqlite(dir) => vec!["--data-dir".into(), dir.path().display().to_string()],
            Self::Postgres(url) => vec!["--database-url".into(), url.clone()],
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Runs SQL on the test's database behind the server's back, e.g. to make it fail.
    pub async fn execute(&self, sql: &str) {
        let mut connection = self.connect().await;
        sqlx::query(sql).execute(&mut connection).await.unwrap();
        connection.close().await.unwrap();
    }

    /// The number a query of one row and one integer column answers, read behind the server's
    /// back (what is stored, not what the server says).
    pub async fn number(&self, sql: &str) -> i64 {
        let mut connection = self.connect().await;
        let number = sqlx::query_scalar(sql)
            .fetch_one(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
        number
    }

    async fn connect(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        let url = match self {
            Self::Sqlite(dir) => format!("sqlite://{}/huddle.db", dir.path().display()),
            Self::Postgres(url) => url.clone(),
        };
        sqlx::AnyConnection::connect(&url).await.unwrap()
    }
}

/// Runs `body` on SQLite, then on PostgreSQL, each time with a database of its own.
pub async fn on_each_database<F, Fut>(body: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    body(Database::Sqlite(TempDir::new("sqlite"))).await;
    body(postgres_database().await).await;
}

/// A fresh database of its own in the throwaway PostgreSQL server.
pub async fn postgres_database() -> Database {
    Database::Postgres(fresh_postgres_database().await)
}

async fn fresh_postgres_database() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let port = postgres().port;
    let name = format!("huddle_test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    format!("postgres://postgres@127.0.0.1:{port}/{name}")
}

struct Postgres {
    port: u16,
    /// Holds the watchdog's standard input open: when this process exits, it stops PostgreSQL.
    _watchdog: Mutex<Child>,
}

fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(start_postgres)
}

fn start_postgres() -> Postgres {
    let bin = postgres_bin().unwrap_or_else(|| {
        panic!(
            "these tests need PostgreSQL (initdb and postgres under /usr/lib/postgresql/*/bin): \
             apt-get install postgresql, or run scripts/test, which installs it"
        )
    });
    let dir = std::env::temp_dir().join(format!("huddle-postgres-{}", std::process::id()));
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
    let port = free_port();
    // PostgreSQL runs until our standard input closes, i.e. until this test binary exits.
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
    Postgres {
        port,
        _watchdog: Mutex::new(watchdog),
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

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
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
