//! A real huddle server on a free loopback port, and WebSocket clients that speak its protocol.
#![allow(dead_code)] // each test file uses its own part of this

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use huddle::config::Config;
use huddle::Huddle;

pub const WAIT: Duration = Duration::from_secs(5);

/// The token secret of test servers, so tests can mint tokens of their own.
pub const TOKEN_SECRET: &str = "test token secret";

/// A fresh data directory per server: tests run in parallel.
pub fn test_data_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("huddle-test-{}-{n}", std::process::id()))
}

pub struct Server {
    pub address: SocketAddr,
    pub turn: Option<SocketAddr>,
    /// Where the SFU receives UDP, in sfu mode.
    pub sfu: Option<SocketAddr>,
    /// Plain HTTP redirecting to HTTPS, with `--http-redirect`.
    pub redirect: Option<SocketAddr>,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// A server on free loopback ports; `flags` come after the defaults and override them.
    pub async fn start(flags: &[&str]) -> Self {
        let data_dir = test_data_dir();
        let defaults = [
            "huddle",
            "--listen",
            "127.0.0.1:0",
            "--turn-listen",
            "127.0.0.1:0",
            "--sfu-listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().expect("a UTF-8 temporary directory"),
            "--token-secret",
            TOKEN_SECRET,
        ];
        let config = Config::try_load_from(defaults.iter().chain(flags)).expect("valid test flags");
        let shutdown = CancellationToken::new();
        let huddle = Huddle::bind(&config, shutdown.clone()).await.unwrap();
        let address = huddle.web_addr();
        let turn = huddle.turn_addr();
        let sfu = huddle.sfu_addr();
        let redirect = huddle.redirect_addr();
        let task = tokio::spawn(huddle.serve());
        Self {
            address,
            turn,
            sfu,
            redirect,
            shutdown,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn client(&self) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", self.address))
            .await
            .expect("websocket connects");
        Client { socket }
    }

    /// Connects and joins `room`, returning the client and its `joined` message.
    pub async fn joined(&self, room: &str, name: &str) -> (Client, Value) {
        let mut client = self.client().await;
        client.join(room, name).await;
        let joined = client.expect("joined").await;
        (client, joined)
    }

    pub async fn metrics(&self) -> String {
        http_get(self.address, "/metrics").await.1
    }
}

pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    pub async fn join(&mut self, room: &str, name: &str) {
        self.send(json!({"type": "join", "room": room, "name": name, "version": 1}))
            .await;
    }

    /// The next protocol message, whatever its type.
    pub async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a message in time")
                .expect("connection open")
                .expect("a frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next protocol message if one arrives within `wait`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match frame.expect("connection open").expect("a frame") {
                Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Skips messages until one of type `kind` arrives.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let message = self.next().await;
            if message["type"] == kind {
                return message;
            }
        }
    }

    pub async fn expect_error(&mut self, code: &str) -> Value {
        let error = self.expect("error").await;
        assert_eq!(error["code"], code, "{error}");
        error
    }

    /// Reads until the server closes, returning the close code and reason.
    pub async fn closed(&mut self) -> (CloseCode, String) {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("closed in time");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code, frame.reason.to_string())
                }
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}

/// A bare HTTP/1.1 GET; returns the status and body.
pub async fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// The value of one metric line, e.g. `huddle_rooms` or `huddle_signaling_errors_total{code="x"}`.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}
