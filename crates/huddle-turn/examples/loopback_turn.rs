//! A TURN server on 127.0.0.1:3478 that relays to loopback peers, for trying
//! clients by hand: `cargo run -p huddle-turn --example loopback_turn`.
//! Prints a REST credential valid for an hour.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use huddle_turn::{rest_credentials, TurnConfig, TurnMetrics, TurnServer};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut config = TurnConfig::new("huddle.local", b"example-secret".to_vec());
    config.listen = "127.0.0.1:3478".parse().expect("valid address");
    config.relay_bind_ip = "127.0.0.1".parse().expect("valid address");
    config.allow_peers = vec!["127.0.0.1/32".parse().expect("valid CIDR")];
    // Load tools run many clients under one user name.
    config.user_quota = 1000;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let creds = rest_credentials(&config.secret, "demo", Duration::from_secs(3600), now);
    println!("username: {}\npassword: {}", creds.username, creds.password);
    let server = TurnServer::bind(config, Arc::new(TurnMetrics::new())).await?;
    println!("listening on {} (udp+tcp)", server.local_addr());
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
