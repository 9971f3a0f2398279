//! The process's open-file limit. Every connection, relay socket and database file takes a file
//! descriptor, and systemd's default soft limit (1,024) is reached by one busy address: at start
//! the soft limit is raised to the hard one, and then watched, with a metric and a log line when
//! most of it is in use (accepting then fails, and nothing else would say why).

use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// How often the count is taken (a directory listing of /proc/self/fd).
const WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// The share of the limit in use past which the log warns.
const WARN_SHARE: f64 = 0.8;

/// Raises the soft limit to the hard one and returns it; `None` when it cannot be read.
pub fn raise_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// Files this process has open now; `None` where /proc is not there to count them.
fn open_files() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(entries.count() as u64)
}

/// The open files and their limit as gauges, kept current by [`FileWatch::run`].
pub struct FileWatch {
    limit: u64,
    open: Gauge,
}

impl FileWatch {
    /// Registers `huddle_open_files` and `huddle_open_files_limit` for a process allowed `limit`.
    pub fn register(limit: u64, registry: &mut Registry) -> Self {
        let open = Gauge::default();
        let limit_gauge = Gauge::<i64>::default();
        limit_gauge.set(i64::try_from(limit).unwrap_or(i64::MAX));
        registry.register(
            "huddle_open_files",
            "File descriptors this process has open (connections, sockets, files)",
            open.clone(),
        );
        registry.register(
            "huddle_open_files_limit",
            "The most file descriptors this process may open (its soft RLIMIT_NOFILE)",
            limit_gauge,
        );
        Self { limit, open }
    }

    /// Counts every few seconds until `shutdown`, warning once each time most of the limit
    /// comes into use.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(WATCH_INTERVAL);
        let mut warned = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let Some(open) = open_files() else { return };
            self.open.set(i64::try_from(open).unwrap_or(i64::MAX));
            let crowded = open as f64 >= self.limit as f64 * WARN_SHARE;
            if crowded && !warned {
                tracing::warn!(
                    open,
                    limit = self.limit,
                    "most of the open-file limit is in use: new connections will soon be refused \
                     (raise LimitNOFILE, or lower the per-address connection limits)"
                );
            }
            warned = crowded;
        }
    }
}
