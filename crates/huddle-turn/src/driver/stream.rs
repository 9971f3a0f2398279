//! One stream client (TCP, or TLS handed in by the server around us): cuts the byte stream into STUN and
//! ChannelData frames for the event loop and writes what the loop sends back.
//! Generic over `AsyncRead + AsyncWrite`, so a TLS listener only has to hand its
//! accepted `TlsStream`s to [`serve`].

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use super::Event;
use crate::core::ClientAddr;
use crate::framing::{self, Frame};
use crate::metrics::{DropReason, TurnMetrics};

/// Outgoing frames queued per connection before we start dropping: a client
/// that does not read should not make the server buffer without bound.
pub(crate) const OUTGOING_QUEUE: usize = 256;
/// Longest silence between frames: an allocation must be refreshed within its
/// lifetime (at most an hour), and a client without one has no business idling.
const IDLE_LIMIT: Duration = Duration::from_secs(3600);
/// Longest wait for the first frame, and to finish a frame once it started.
const FRAME_LIMIT: Duration = Duration::from_secs(10);

pub(crate) async fn serve<S>(
    stream: S,
    client: ClientAddr,
    events: mpsc::Sender<Event>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    metrics: TurnMetrics,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, writer) = tokio::io::split(stream);
    let write = async {
        // Everything queued meanwhile goes out in one write: under load that is
        // one syscall for many frames instead of one each.
        let mut writer = BufWriter::new(writer);
        while let Some(frame) = outgoing.recv().await {
            let mut written = writer.write_all(&frame).await;
            while let (Ok(()), Ok(more)) = (&written, outgoing.try_recv()) {
                written = writer.write_all(&more).await;
            }
            if written.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    };
    let read = async {
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut seen_frame = false;
        loop {
            match framing::frame(&buf) {
                Frame::Complete(len) => {
                    seen_frame = true;
                    let frame = buf[..len].to_vec();
                    buf.drain(..len);
                    let event = Event::StreamFrame { client, frame };
                    if events.send(event).await.is_err() {
                        break;
                    }
                }
                Frame::Incomplete => {
                    // Until a whole frame arrives, a connection costs us without
                    // doing anything: do not let it linger (slowloris).
                    let limit = if seen_frame && buf.is_empty() {
                        IDLE_LIMIT
                    } else {
                        FRAME_LIMIT
                    };
                    match tokio::time::timeout(limit, reader.read_buf(&mut buf)).await {
                        Ok(Ok(0) | Err(_)) | Err(_) => break,
                        Ok(Ok(_)) => {}
                    }
                }
                Frame::Invalid => {
                    // No way to resynchronise a stream: hang up.
                    metrics.drop_packet(DropReason::Malformed);
                    break;
                }
            }
        }
    };
    tokio::select! {
        _ = read => {}
        _ = write => {}
    }
    let _ = events.send(Event::StreamClosed(client)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Transport;

    /// Frames split across reads and glued together in one read both come out
    /// whole; a byte that is neither STUN nor ChannelData hangs up.
    #[tokio::test]
    async fn cuts_a_byte_stream_into_frames() {
        let (mut client_side, server_side) = tokio::io::duplex(64);
        let (events_tx, mut events) = mpsc::channel(16);
        let (_outgoing_tx, outgoing_rx) = mpsc::channel(16);
        let client = ClientAddr {
            transport: Transport::Stream,
            addr: "192.0.2.1:1000".parse().unwrap(),
        };
        let metrics = TurnMetrics::new();
        let task = tokio::spawn(serve(
            server_side,
            client,
            events_tx,
            outgoing_rx,
            metrics.clone(),
        ));

        let mut stun = vec![0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42];
        stun.resize(24, 7);
        let channel_data = [0x40, 0x00, 0x00, 0x02, 0xAA, 0xBB, 0x00, 0x00];
        for byte in &stun[..10] {
            client_side.write_all(&[*byte]).await.unwrap();
        }
        let mut rest = stun[10..].to_vec();
        rest.extend_from_slice(&channel_data);
        rest.push(0xFF);
        client_side.write_all(&rest).await.unwrap();

        let mut frames = Vec::new();
        while let Some(event) = events.recv().await {
            match event {
                Event::StreamFrame { frame, .. } => frames.push(frame),
                Event::StreamClosed(closed) => {
                    assert_eq!(closed, client);
                    break;
                }
            }
        }
        assert_eq!(frames, vec![stun, channel_data.to_vec()]);
        assert_eq!(metrics.dropped(DropReason::Malformed), 1);
        task.await.unwrap();
    }
}
