//! Stopping a node without ending its meetings (docs/cluster.md, "Drain"). On SIGTERM, or
//! `huddle drain` (which sends the node named by `<data-dir>/huddle.pid` that signal and waits),
//! a cluster node moves its rooms to other nodes (`cluster::ClusterRegistry::drain`), waits until
//! their members have moved or the drain's deadline passed, and then stops: whoever is still here
//! is cut off and reconnects through the address they came in by.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cluster::{ClusterRegistry, Leaving};
use crate::rooms::NodeRooms;
use crate::signaling::Signaling;

/// How often the drain looks whether everybody has moved.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// What a drain needs: the cluster's rooms, and what a room leaves behind it (the whiteboard to
/// store, the entrance's lock to carry).
pub struct Drainer {
    pub(crate) cluster: Arc<ClusterRegistry>,
    pub(crate) signaling: Arc<Signaling>,
}

impl Drainer {
    /// Moves every room away and returns once nobody is left here, or at `timeout` with the
    /// number of members still here (counted as forced migrations: they are cut off next). With
    /// no other node serving there is nowhere to move to: it returns at once.
    pub async fn run(self, timeout: Duration) -> usize {
        let Drainer { cluster, signaling } = self;
        if !cluster.can_move_rooms() {
            tracing::warn!(
                "no other node serves (or Redis does not answer): nowhere to move rooms"
            );
            return force_out(&cluster);
        }
        cluster.drain(Box::new(move |room| {
            let signaling = Arc::clone(&signaling);
            Box::pin(async move {
                signaling.collab.board_stored(&room).await;
                let entrance = signaling.access.entrances.access(&room).await;
                Leaving {
                    locked: entrance.is_ok_and(|entrance| entrance.locked),
                }
            })
        }));
        let deadline = Instant::now() + timeout;
        while cluster.census().participants > 0 {
            if Instant::now() >= deadline {
                return force_out(&cluster);
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
        0
    }
}

/// Counts whoever is still here as forced out (they are cut off next); how many.
fn force_out(cluster: &ClusterRegistry) -> usize {
    let left = cluster.census().participants;
    cluster.force_out(left);
    left
}

/// `<data-dir>/huddle.pid`: which process serves with this data directory, for `huddle drain`.
/// Removed when the node stops.
pub struct PidFile(PathBuf);

impl PidFile {
    pub fn write(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("huddle.pid");
        std::fs::write(&path, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(PidFile(path))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `huddle drain`: tells the node serving with `data_dir` to drain, and waits until it stopped.
pub fn drain_node(data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join("huddle.pid");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no huddle serves with {} (no {})",
            data_dir.display(),
            path.display()
        )
    })?;
    let pid: libc::pid_t = text
        .trim()
        .parse()
        .with_context(|| format!("{} does not hold a process id", path.display()))?;
    anyhow::ensure!(
        is_huddle(pid),
        "process {pid} of {} is not huddle (a stale file?)",
        path.display()
    );
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(std::io::Error::last_os_error()).context(format!("signalling process {pid}"));
    }
    println!("draining huddle (process {pid}): its rooms move to other nodes");
    let start = Instant::now();
    while is_huddle(pid) {
        std::thread::sleep(LOOK_EVERY);
    }
    println!(
        "drained and stopped in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether `pid` is a running huddle process: procfs's `stat` names its command and its state
/// (`Z`: exited, not yet reaped by its parent).
fn is_huddle(pid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let named_huddle = stat.contains("(huddle");
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    named_huddle && state != Some('Z')
}
