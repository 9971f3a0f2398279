//! The two databases every collaboration test runs on: a fresh SQLite data directory, and a fresh
//! database in a throwaway PostgreSQL server that this test binary starts on a free loopback port
//! (and that stops when the binary exits).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use huddle_cluster::testing::PostgresServer;
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
    let name = format!("huddle_test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let admin = postgres().url("postgres");
    let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    postgres().url(&name)
}

fn postgres() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(PostgresServer::start)
}
