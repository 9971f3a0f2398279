//! One stream client (TCP now, TLS later): cuts the byte stream into STUN and
//! ChannelData frames for the event loop and writes what the loop sends back.
//! Generic over `AsyncRead + AsyncWrite`, so a TLS listener only has to hand its
//! accepted `TlsStream`s to [`serve`].

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::Event;
use crate::core::ClientAddr;
use crate::framing::{self, Frame};
use crate::metrics::{DropReason, TurnMetrics};

/// Outgoing frames queued per connection before we start dropping: a client
/// that does not read should not make the server buffer without bound.
pub(crate) const OUTGOING_QUEUE: usize = 256;

pub(crate) async fn serve<S>(
    stream: S,
    client: ClientAddr,
    events: mpsc::Sender<Event>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    metrics: TurnMetrics,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        while let Some(frame) = outgoing.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    };
    let read = async {
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        loop {
            match framing::frame(&buf) {
                Frame::Complete(len) => {
                    let frame = buf[..len].to_vec();
                    buf.drain(..len);
                    let event = Event::StreamFrame { client, frame };
                    if events.send(event).await.is_err() {
                        break;
                    }
                }
                Frame::Incomplete => match reader.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
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
