use std::io::Write;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use huddle::access::JoinTokens;
use huddle::config::{Command, Config, LogFormat, TokenRequest};
use huddle::drain::{drain_node, PidFile};
use huddle::rooms::RoomName;
use huddle::Huddle;

/// jemalloc, not glibc's malloc: after thousands of participants left, glibc kept what they had
/// used (an idle server stayed 50 to 120 MB above where it started, more after every wave), while
/// jemalloc gives freed memory back within a second or two (docs/benchmarks.md, "Idle
/// participants").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Freed pages go back to the system a second after they are freed, by jemalloc's background
/// thread; `_RJEM_MALLOC_CONF` in the environment overrides this.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
static malloc_conf: Option<&std::ffi::c_char> = Some(
    // SAFETY: the first byte of a static, NUL-terminated string.
    unsafe { &*c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr() },
);

/// After a shutdown signal, how long open connections get to close before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    init_logging(config.log_format);
    match &config.command {
        Some(Command::Token(request)) => return print_token(&config, request),
        Some(Command::Drain) => return drain_node(&config.data_dir),
        None => {}
    }

    let shutdown = CancellationToken::new();
    let huddle = Huddle::bind(&config, shutdown.clone()).await?;
    let _pid_file = PidFile::write(&config.data_dir)?;
    let drainer = huddle.drainer();
    let address = huddle.web_addr();
    tracing::info!(%address, "huddle is serving");
    let scheme = if config.security.tls_enabled() {
        "https"
    } else {
        "http"
    };
    println!("open {scheme}://localhost:{}", address.port());

    let mut server = tokio::spawn(huddle.serve());
    tokio::select! {
        _ = wait_for_signal() => {}
        // A server that stops by itself has failed: say why.
        result = &mut server => return result?,
    }
    if let Some(drainer) = drainer {
        let timeout = config.cluster.drain_timeout();
        tracing::info!(?timeout, "draining: the rooms move to other nodes");
        tokio::select! {
            left = drainer.run(timeout) => match left {
                0 => tracing::info!("drained: every member moved"),
                left => tracing::warn!(left, "the drain timed out: cutting off who is left"),
            },
            _ = wait_for_signal() => tracing::warn!("asked again: stopping without waiting for the drain"),
            result = &mut server => return result?,
        }
    }
    tracing::info!("shutting down");
    shutdown.cancel();
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => result??,
        Err(_) => tracing::warn!("connections still open after the grace period; exiting anyway"),
    }
    Ok(())
}

/// `huddle token`: a join token signed with the server's secret, and the link that uses it.
fn print_token(config: &Config, request: &TokenRequest) -> anyhow::Result<()> {
    let room = RoomName::parse(&request.room)?;
    let tokens =
        JoinTokens::from_config(config.security.token_secret.as_deref(), &config.data_dir)?;
    let token = tokens.mint(&room, request.role, request.name.clone(), request.ttl);
    let link = format!(
        "{}/r/{room}?token={token}",
        request.url.trim_end_matches('/')
    );
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{token}\n{link}") {
        // `huddle token ... | head -1`: whoever reads has what they wanted.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => Ok(written?),
    }
}

fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("huddle=info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
