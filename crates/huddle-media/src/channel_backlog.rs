//! Data channel messages for one participant that str0m could not take yet.
//!
//! str0m's SCTP send buffer is bounded and refuses a write that does not fit. Dropping
//! the refused message cut files sent over reliable channels short, so it waits here,
//! in order per channel, until str0m reports a channel's buffered amount went low (or
//! the next tick). Nothing can slow the sender instead: str0m reads incoming SCTP data
//! as it arrives, so the SFU's receive window never closes and a sender goes at the
//! pace of its own link. The cap on waiting bytes is what bounds memory.

use std::collections::{HashMap, VecDeque};

use str0m::channel::ChannelId;
use str0m::Rtc;

/// Bytes str0m may buffer for sending across one participant's channels. str0m's
/// 128 KiB default is raised so that the largest message str0m accepts (256 KiB) fits
/// whole, and so that SCTP's congestion window rather than this buffer sets the pace.
pub(crate) const SCTP_SEND_BUFFER: usize = 1024 * 1024;

/// Refill a channel when its buffered amount falls to this: with half the buffer
/// still unacknowledged the association stays busy while we write more.
pub(crate) const SCTP_REFILL_AT: usize = SCTP_SEND_BUFFER / 2;

/// What became of one message offered to a participant's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// In str0m's send buffer.
    Written,
    /// Waiting behind older messages or for buffer space.
    Queued,
    /// Over the cap, or refused by the channel (closed, too large).
    Dropped,
}

#[derive(Debug)]
pub(crate) struct ChannelBacklog {
    /// Only channels with waiting messages have an entry.
    waiting: HashMap<ChannelId, VecDeque<Message>>,
    bytes: usize,
    cap: usize,
}

#[derive(Debug)]
struct Message {
    binary: bool,
    data: Vec<u8>,
}

enum Write {
    Accepted,
    Full,
    Refused,
}

impl ChannelBacklog {
    /// `cap`: the most bytes that may wait, across the participant's channels.
    pub fn new(cap: usize) -> Self {
        ChannelBacklog {
            waiting: HashMap::new(),
            bytes: 0,
            cap,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Writes a message to channel `id`, or queues it if older ones still wait there
    /// (never overtaking them) or str0m's buffer is full.
    pub fn send(&mut self, rtc: &mut Rtc, id: ChannelId, binary: bool, data: &[u8]) -> Delivery {
        if !self.waiting.contains_key(&id) {
            match write(rtc, id, binary, data) {
                Write::Accepted => return Delivery::Written,
                Write::Refused => return Delivery::Dropped,
                Write::Full => {}
            }
        }
        if self.bytes + data.len() > self.cap {
            return Delivery::Dropped;
        }
        self.bytes += data.len();
        self.waiting.entry(id).or_default().push_back(Message {
            binary,
            data: data.to_vec(),
        });
        Delivery::Queued
    }

    /// Writes waiting messages while str0m takes them, one per channel in turn so a
    /// file transfer does not hold chat back. Returns how many the channels refused.
    pub fn drain(&mut self, rtc: &mut Rtc) -> u64 {
        let mut refused = 0;
        loop {
            let mut progressed = false;
            for (id, queue) in &mut self.waiting {
                let Some(m) = queue.front() else {
                    continue;
                };
                match write(rtc, *id, m.binary, &m.data) {
                    Write::Full => continue,
                    Write::Refused => refused += 1,
                    Write::Accepted => {}
                }
                self.bytes -= m.data.len();
                queue.pop_front();
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        self.waiting.retain(|_, q| !q.is_empty());
        refused
    }

    /// Forgets a closed channel's waiting messages; returns how many there were.
    pub fn forget(&mut self, id: ChannelId) -> u64 {
        let Some(queue) = self.waiting.remove(&id) else {
            return 0;
        };
        self.bytes -= queue.iter().map(|m| m.data.len()).sum::<usize>();
        queue.len() as u64
    }
}

fn write(rtc: &mut Rtc, id: ChannelId, binary: bool, data: &[u8]) -> Write {
    let Some(mut channel) = rtc.channel(id) else {
        return Write::Refused;
    };
    match channel.write(binary, data) {
        Ok(true) => Write::Accepted,
        Ok(false) => Write::Full,
        Err(e) => {
            tracing::debug!("data channel write refused: {e}");
            Write::Refused
        }
    }
}
