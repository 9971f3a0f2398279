//! A real huddle server on a free loopback port, and WebSocket clients that speak its protocol.
#![allow(dead_code)] // each test file uses its own part of this

pub mod cluster;
pub mod database;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use huddle::clock::{Clock, SystemClock};
use huddle::config::Config;
use huddle::Huddle;

pub const WAIT: Duration = Duration::from_secs(5);

/// The token secret of test servers, so tests can mint tokens of their own.
pub const TOKEN_SECRET: &str = "test token secret";

pub struct Server {
    pub address: SocketAddr,
    pub turn: Option<SocketAddr>,
    /// Where the SFU receives UDP, in sfu mode.
    pub sfu: Option<SocketAddr>,
    /// Plain HTTP redirecting to HTTPS, with `--http-redirect`.
    pub redirect: Option<SocketAddr>,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// In cluster mode, what moves the node's rooms away ([`Server::drain`]).
    drainer: Option<huddle::drain::Drainer>,
    /// The data directory when the flags named no database.
    _data: Option<database::TempDir>,
}

impl Server {
    /// A server on free loopback ports; `flags` replace the defaults they name.
    pub async fn start(flags: &[&str]) -> Self {
        Self::start_with_clock(flags, Arc::new(SystemClock)).await
    }

    /// As [`Server::start`], with time from `clock`; without `--data-dir` or `--database-url` in
    /// `flags`, the data goes to a temporary directory.
    pub async fn start_with_clock(flags: &[&str], clock: Arc<dyn Clock>) -> Self {
        // The server's logs, with RUST_LOG=huddle=debug for instance.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let named = flags
            .iter()
            .any(|flag| *flag == "--data-dir" || *flag == "--database-url");
        let data = (!named).then(|| database::TempDir::new("data"));
        let data_flags = data
            .iter()
            .flat_map(|dir| ["--data-dir".to_owned(), dir.path().display().to_string()]);
        let defaults = [
            ["--listen", "127.0.0.1:0"],
            ["--turn-listen", "127.0.0.1:0"],
            ["--sfu-listen", "127.0.0.1:0"],
            ["--token-secret", TOKEN_SECRET],
        ];
        // A flag named in `flags` replaces its default (clap refuses one given twice).
        let defaults = defaults
            .into_iter()
            .filter(|[flag, _]| !flags.contains(flag))
            .flatten();
        let args = std::iter::once("huddle")
            .chain(defaults)
            .map(|arg| arg.to_string())
            .chain(data_flags)
            .chain(flags.iter().map(|flag| flag.to_string()));
        let config = Config::try_load_from(args).expect("valid test flags");
        let shutdown = CancellationToken::new();
        let huddle = Huddle::bind_with_clock(&config, shutdown.clone(), clock)
            .await
            .unwrap();
        let address = huddle.web_addr();
        let turn = huddle.turn_addr();
        let sfu = huddle.sfu_addr();
        let redirect = huddle.redirect_addr();
        let drainer = huddle.drainer();
        let task = tokio::spawn(huddle.serve());
        Self {
            address,
            turn,
            sfu,
            redirect,
            shutdown,
            task,
            drainer,
            _data: data,
        }
    }

    /// A server keeping its data in `db`; `extra` flags as in [`Server::start`].
    pub async fn start_on(db: &database::Database, extra: &[&str]) -> Self {
        Self::start_on_with_clock(db, extra, Arc::new(SystemClock)).await
    }

    pub async fn start_on_with_clock(
        db: &database::Database,
        extra: &[&str],
        clock: Arc<dyn Clock>,
    ) -> Self {
        let flags = db.flags();
        let flags: Vec<&str> = flags
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect();
        Self::start_with_clock(&flags, clock).await
    }

    /// Shuts down and waits until the server has stored everything and stopped.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the server stops in time")
            .unwrap()
            .unwrap();
    }

    /// Drains a cluster node as SIGTERM does: its rooms move to other nodes. Returns once nobody
    /// is left on it, or at `timeout` with how many are; then stop it.
    pub fn drain(&mut self, timeout: Duration) -> tokio::task::JoinHandle<usize> {
        let drainer = self.drainer.take().expect("a cluster node drains once");
        tokio::spawn(drainer.run(timeout))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.address).await
    }

    /// Connects and joins `room`, returning the client and its `joined` message.
    pub async fn joined(&self, room: &str, name: &str) -> (Client, Value) {
        let mut client = self.client().await;
        client.join(room, name).await;
        let joined = client.expect("joined").await;
        client.welcome().await;
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
    /// A signaling connection to the server at `address`.
    pub async fn connect(address: SocketAddr) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws"))
            .await
            .expect("websocket connects");
        Client { socket }
    }

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

    /// Joins as a person with a lasting `identity` (the same one after a reload) and returns
    /// `joined` and the three messages after it: chat history, scheduled list, whiteboard state.
    pub async fn join_as(&mut self, room: &str, name: &str, identity: &str) -> [Value; 4] {
        self.send(
            json!({"type": "join", "room": room, "name": name, "version": 1,
                         "identity": identity}),
        )
        .await;
        let joined = self.expect("joined").await;
        let [history, scheduled, board] = self.welcome().await;
        [joined, history, scheduled, board]
    }

    /// The three messages right after `joined`: chat history, scheduled list, whiteboard state.
    pub async fn welcome(&mut self) -> [Value; 3] {
        let mut next = [Value::Null, Value::Null, Value::Null];
        for (slot, kind) in
            next.iter_mut()
                .zip(["chat_history", "scheduled_list", "whiteboard_state"])
        {
            *slot = self.next().await;
            assert_eq!(slot["type"], kind, "{slot}");
        }
        next
    }

    /// The next protocol message, whatever its type.
    pub async fn next(&mut self) -> Value {
        // One deadline for the message, however many keepalive pings come before it.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
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

    /// Skips messages until one of type `kind` arrives; an `error` on the way fails the test,
    /// since whatever was awaited did not go as the test meant.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let message = self.next().await;
            if message["type"] == kind {
                return message;
            }
            assert_ne!(
                message["type"], "error",
                "an error while waiting for {kind}: {message}"
            );
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
    http_request(address, "GET", path, &[], "").await
}

/// A bare HTTP/1.1 request with extra header lines (`"Origin: http://x"`) and a body; returns
/// the status and body.
pub async fn http_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(address).await.unwrap();
    let extra: String = headers.iter().map(|line| format!("{line}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{extra}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
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

/// A lasting browser identity for `name` (16 characters or more).
pub fn identity(name: &str) -> String {
    format!("identity-of-{name}-0123456789")
}
