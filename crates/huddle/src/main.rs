use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use huddle::config::{Config, LogFormat};
use huddle::Huddle;

/// After a shutdown signal, how long open connections get to close before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    init_logging(config.log_format);

    let shutdown = CancellationToken::new();
    let huddle = Huddle::bind(&config, shutdown.clone()).await?;
    let address = huddle.web_addr();
    tracing::info!(%address, "huddle is serving");
    println!("open http://localhost:{}", address.port());

    let mut server = tokio::spawn(huddle.serve());
    tokio::select! {
        _ = wait_for_signal() => tracing::info!("shutting down"),
        // A server that stops by itself has failed: say why.
        result = &mut server => return result?,
    }
    shutdown.cancel();
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => result??,
        Err(_) => tracing::warn!("connections still open after the grace period; exiting anyway"),
    }
    Ok(())
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
