//! Below the WebSocket: the web server closes connections that send nothing, holds each address
//! to its share of connections, and says how many files the process has open.

mod common;

use std::time::Duration;

use common::{http_get, metric, Server};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Whether the server closes `stream` within `wait` (a read sees the end of the stream).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn silent_connections_close_and_one_address_holds_only_its_share() {
    let limits = ["--max-http-connections-per-ip", "3"];
    let server = Server::start(&[&limits[..], &["--http-header-timeout", "1"]].concat()).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(server.address).await.unwrap());
    }
    let mut one_too_many = TcpStream::connect(server.address).await.unwrap();
    assert!(
        closed_within(&mut one_too_many, Duration::from_millis(500)).await,
        "a fourth connection from the address is closed at once"
    );
    for stream in &mut silent {
        assert!(
            closed_within(stream, Duration::from_secs(3)).await,
            "a connection that sends no request closes after the header timeout"
        );
    }
    let (status, _) = http_get(server.address, "/").await;
    assert_eq!(status, 200, "the address's places are free again");

    let metrics = server.metrics().await;
    let refused = r#"huddle_abuse_refusals_total{limit="http_connections_per_ip"}"#;
    assert_eq!(metric(&metrics, refused), Some(1.0), "{metrics}");
    let limit = metric(&metrics, "huddle_open_files_limit").unwrap();
    assert!(limit >= 1024.0, "{metrics}");
}
