//! Channel bindings: a 4-byte ChannelData header instead of a 36-byte Send
//! indication (RFC 8656 section 12). A binding lasts 600 s; after it expires the
//! number and the peer stay reserved to each other for 5 more minutes so a late
//! packet is never delivered to a different peer.

use rustc_hash::FxHashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
const REBIND_GUARD: Duration = Duration::from_secs(300);
pub const MIN_CHANNEL: u16 = 0x4000;
/// RFC 8656 says 0x4FFF, but RFC 5766 clients (coturn's among them) still pick
/// up to 0x7FFF, and ChannelData framing covers the whole range anyway.
pub const MAX_CHANNEL: u16 = 0x7FFF;

#[derive(Debug, Clone, Copy)]
struct Binding {
    peer: SocketAddr,
    expires: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BindError {
    /// Number outside 0x4000..=0x7FFF.
    BadNumber,
    /// The number is bound to another peer, or the peer to another number.
    Conflict,
}

#[derive(Debug, Default)]
pub struct Channels {
    by_number: FxHashMap<u16, Binding>,
    by_peer: FxHashMap<SocketAddr, u16>,
}

impl Channels {
    pub fn bind(
        &mut self,
        number: u16,
        peer: SocketAddr,
        now: Instant,
    ) -> Result<Instant, BindError> {
        if !(MIN_CHANNEL..=MAX_CHANNEL).contains(&number) {
            return Err(BindError::BadNumber);
        }
        let number_taken = self.by_number.get(&number).is_some_and(|b| b.peer != peer);
        let peer_taken = self.by_peer.get(&peer).is_some_and(|n| *n != number);
        if number_taken || peer_taken {
            return Err(BindError::Conflict);
        }
        let expires = now + CHANNEL_LIFETIME;
        self.by_number.insert(number, Binding { peer, expires });
        self.by_peer.insert(peer, number);
        Ok(expires)
    }

    /// The peer of a live binding.
    pub fn peer(&self, number: u16, now: Instant) -> Option<SocketAddr> {
        self.by_number
            .get(&number)
            .filter(|b| b.expires > now)
            .map(|b| b.peer)
    }

    /// The number of a live binding to `peer`.
    pub fn number(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        let number = *self.by_peer.get(&peer)?;
        self.peer(number, now).map(|_| number)
    }

    /// Forgets bindings whose rebind guard is over.
    pub fn remove_expired(&mut self, now: Instant) {
        let by_peer = &mut self.by_peer;
        self.by_number.retain(|_, b| {
            let keep = b.expires + REBIND_GUARD > now;
            if !keep {
                by_peer.remove(&b.peer);
            }
            keep
        });
    }

    /// The next moment something changes: a binding stops working or is forgotten.
    pub fn next_expiry(&self, now: Instant) -> Option<Instant> {
        self.by_number
            .values()
            .map(|b| {
                if b.expires > now {
                    b.expires
                } else {
                    b.expires + REBIND_GUARD
                }
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_and_guard() {
        let t0 = Instant::now();
        let a: SocketAddr = "203.0.113.1:1000".parse().unwrap();
        let b: SocketAddr = "203.0.113.2:1000".parse().unwrap();
        let mut ch = Channels::default();
        assert_eq!(ch.bind(0x3FFF, a, t0), Err(BindError::BadNumber));
        assert_eq!(ch.bind(0x8000, a, t0), Err(BindError::BadNumber));
        assert!(ch.bind(0x4000, a, t0).is_ok());
        assert_eq!(ch.bind(0x4000, b, t0), Err(BindError::Conflict));
        assert_eq!(ch.bind(0x4001, a, t0), Err(BindError::Conflict));
        let expired = t0 + CHANNEL_LIFETIME;
        assert_eq!(ch.peer(0x4000, expired), None);
        ch.remove_expired(expired);
        assert_eq!(ch.bind(0x4000, b, expired), Err(BindError::Conflict));
        ch.remove_expired(expired + REBIND_GUARD);
        assert!(ch.bind(0x4000, b, expired + REBIND_GUARD).is_ok());
    }
}
