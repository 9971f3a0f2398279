//! Permissions: which peer IPs may talk through an allocation (RFC 8656 section 9).
//! Keyed by IP only, the port is ignored, and each lasts 300 s unless refreshed.

use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub struct Permissions {
    expires: FxHashMap<IpAddr, Instant>,
}

impl Permissions {
    /// Installs or refreshes; returns when it will expire.
    pub fn install(&mut self, peer: IpAddr, now: Instant) -> Instant {
        let expires = now + PERMISSION_LIFETIME;
        self.expires.insert(peer, expires);
        expires
    }

    pub fn allows(&self, peer: IpAddr, now: Instant) -> bool {
        self.expires.get(&peer).is_some_and(|e| *e > now)
    }

    pub fn remove_expired(&mut self, now: Instant) {
        self.expires.retain(|_, e| *e > now);
    }

    pub fn next_expiry(&self) -> Option<Instant> {
        self.expires.values().min().copied()
    }
}
