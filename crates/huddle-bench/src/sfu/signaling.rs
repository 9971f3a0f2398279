//! One participant's signaling connection: huddle's WebSocket protocol
//! (docs/protocol.md) over a non-blocking socket, read when epoll says so.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

use anyhow::Context;
use serde_json::{json, Value};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

pub struct Signaling {
    ws: WebSocket<TcpStream>,
}

impl Signaling {
    /// Opens `/ws` (blocking for the handshake only).
    pub fn connect(web: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(web).context("connecting to huddle")?;
        stream.set_nodelay(true)?;
        // Signaling is a few small messages: a small read buffer lets thousands of connections
        // share this process (the default is 128 KiB each).
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (ws, _) =
            tungstenite::client::client_with_config(format!("ws://{web}/ws"), stream, Some(config))
                .map_err(|e| anyhow::anyhow!("WebSocket handshake: {e}"))?;
        ws.get_ref().set_nonblocking(true)?;
        Ok(Signaling { ws })
    }

    /// The address of the server at the other end.
    pub fn peer(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.ws.get_ref().peer_addr()?)
    }

    pub fn fd(&self) -> RawFd {
        self.ws.get_ref().as_raw_fd()
    }

    /// Queues `message`; what the socket does not take now goes with the next read.
    pub fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        let text = Message::text(message.to_string());
        match self.ws.send(text) {
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            other => other.context("sending on the WebSocket"),
        }
    }

    /// Every protocol message that has arrived; answers the server's pings.
    pub fn receive(&mut self, out: &mut Vec<Value>) -> anyhow::Result<()> {
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => out.push(serde_json::from_str(&text)?),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    return flush(&mut self.ws);
                }
                Err(e) => return Err(anyhow::anyhow!("reading the WebSocket: {e}")),
            }
        }
    }
}

fn flush<S: Read + Write>(ws: &mut WebSocket<S>) -> anyhow::Result<()> {
    match ws.flush() {
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
        other => other.context("flushing the WebSocket"),
    }
}

pub fn join(room: &str, name: &str, audio: bool, video: bool) -> Value {
    json!({"type": "join", "room": room, "name": name, "version": 1,
           "media": {"audio": audio, "video": video}})
}

pub fn description(kind: &str, sdp: &str) -> Value {
    json!({"type": "sfu_signal", "signal": {"kind": "description",
           "description": {"type": kind, "sdp": sdp}}})
}

/// One visible tile of `participant`, `width` x `height` device pixels.
pub fn view(participant: &Value, width: u32, height: u32) -> Value {
    json!({"type": "view", "tiles": [{"participant": participant, "visible": true,
           "width": width, "height": height}]})
}

/// `GET path` on huddle's HTTP port; the body.
pub fn http_get(web: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(web)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (_, body) = response
        .split_once("\r\n\r\n")
        .context("an HTTP response")?;
    Ok(body.to_owned())
}

/// The value of an unlabelled metric in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// The values of the series of a labelled metric (`name{...} value`).
pub fn series<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = f64> + 'a {
    text.lines()
        .filter_map(move |line| line.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|rest| rest.split_once("} ")?.1.trim().parse().ok())
}

/// The largest value among the series of a labelled metric.
pub fn max_series(text: &str, name: &str) -> Option<f64> {
    series(text, name).reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_largest_series_of_a_labelled_gauge() {
        let text = "huddle_sfu_worker_lag_seconds{worker=\"0\"} 0.002\n\
                    huddle_sfu_worker_lag_seconds{worker=\"1\"} 0.47\n\
                    huddle_sfu_worker_lag_seconds_x{worker=\"2\"} 9\n";
        assert_eq!(
            max_series(text, "huddle_sfu_worker_lag_seconds"),
            Some(0.47)
        );
        assert_eq!(max_series(text, "huddle_missing"), None);
    }

    #[test]
    fn reads_an_unlabelled_counter() {
        let text = "# TYPE x counter\nhuddle_sfu_packets_forwarded_total 1234\n\
                    huddle_sfu_packets_forwarded_total_x 9\n";
        assert_eq!(
            metric(text, "huddle_sfu_packets_forwarded_total"),
            Some(1234.0)
        );
        assert_eq!(metric(text, "huddle_missing"), None);
    }
}
