//! The media side of one synthetic participant: a str0m `Rtc` on its own UDP
//! socket. Receiving is batched (`recvmmsg`); nothing is decoded: str0m
//! decrypts and reassembles frames, the bench reads only their stamps.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use huddle_media::str0m::media::{KeyframeRequest, MediaData, Mid};
use huddle_media::str0m::net::{Protocol, Receive};
use huddle_media::str0m::{Candidate, Event, Input, Output, Rtc};

use super::stamp::Stamp;
use crate::batch::RecvBatch;

/// What the `Rtc` told the participant.
pub enum Heard {
    Media(Frame),
    KeyframeRequest(KeyframeRequest),
}

/// What the bench keeps of a received frame.
pub struct Frame {
    pub mid: Mid,
    /// RTP packets it came in.
    pub packets: u64,
    pub stamp: Option<Stamp>,
}

impl Frame {
    fn of(data: &MediaData) -> Frame {
        Frame {
            mid: data.mid,
            packets: **data.seq_range.end() - **data.seq_range.start() + 1,
            stamp: Stamp::read(&data.data),
        }
    }
}

pub struct Peer {
    pub rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// Where the SFU receives: all media comes from there.
    sfu: SocketAddr,
    next_timeout: Instant,
    /// Inputs str0m refused (counted, never fatal: a bench peer keeps going).
    pub refused: u64,
}

impl Peer {
    pub fn new(sfu: SocketAddr, now: Instant) -> anyhow::Result<Peer> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        crate::sys::grow_recv_buffer(&socket, 1 << 20);
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder().build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(Peer {
            rtc,
            socket,
            local,
            sfu,
            next_timeout: now,
            refused: 0,
        })
    }

    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Feeds every queued datagram to the `Rtc`, polling after each (str0m's
    /// DTLS holds records until polled).
    pub fn receive(&mut self, batch: &mut RecvBatch, heard: &mut Vec<Heard>) -> anyhow::Result<()> {
        loop {
            let got = batch.recv(&self.socket)?;
            if got == 0 {
                return Ok(());
            }
            let now = Instant::now();
            for i in 0..got {
                let Ok(contents) = batch.datagram(i).try_into() else {
                    self.refused += 1;
                    continue;
                };
                let receive = Receive {
                    proto: Protocol::Udp,
                    source: self.sfu,
                    destination: self.local,
                    contents,
                };
                if self.rtc.handle_input(Input::Receive(now, receive)).is_err() {
                    self.refused += 1;
                }
                self.poll(heard);
            }
        }
    }

    pub fn due(&self, now: Instant) -> bool {
        now >= self.next_timeout
    }

    pub fn timeout(&mut self, now: Instant, heard: &mut Vec<Heard>) {
        if self.rtc.handle_input(Input::Timeout(now)).is_err() {
            self.refused += 1;
        }
        self.poll(heard);
    }

    /// Sends what the `Rtc` has to send and collects its events, until it
    /// names its next timeout.
    pub fn poll(&mut self, heard: &mut Vec<Heard>) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.next_timeout = at;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    // A full socket buffer loses the datagram, as a network would.
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::MediaData(data))) => {
                    heard.push(Heard::Media(Frame::of(&data)))
                }
                Ok(Output::Event(Event::KeyframeRequest(r))) => {
                    heard.push(Heard::KeyframeRequest(r))
                }
                Ok(Output::Event(_)) => {}
                Err(_) => {
                    self.refused += 1;
                    return;
                }
            }
        }
    }
}
