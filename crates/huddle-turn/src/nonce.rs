//! Stateless nonces that go stale.
//!
//! A nonce is `<expiry seconds, hex><mac, hex>` where the MAC is an HMAC-SHA1 of
//! the expiry under a per-process random key. The server keeps no nonce table: it
//! can tell a nonce it issued from a forged one, and a fresh one from a stale one,
//! with a single HMAC. Time is seconds since the core's epoch, so the core stays
//! sans-IO (`Instant` in, no wall clock).

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha1::Sha1;

const MAC_HEX_LEN: usize = 16;
const EXPIRY_HEX_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    Fresh,
    /// Ours but past its expiry, or not ours at all: both answered with 438 so the
    /// client simply retries with the new nonce.
    Stale,
}

pub struct Nonces {
    key: [u8; 32],
    epoch: Instant,
    lifetime: Duration,
}

impl Nonces {
    pub fn new(key: [u8; 32], epoch: Instant, lifetime: Duration) -> Self {
        Nonces {
            key,
            epoch,
            lifetime,
        }
    }

    pub fn issue(&self, now: Instant) -> String {
        let expiry = self
            .seconds(now)
            .saturating_add(self.lifetime.as_secs() as u32);
        format!("{expiry:08x}{}", self.mac_hex(expiry))
    }

    pub fn check(&self, nonce: &str, now: Instant) -> NonceCheck {
        if nonce.len() != EXPIRY_HEX_LEN + MAC_HEX_LEN || !nonce.is_ascii() {
            return NonceCheck::Stale;
        }
        let (expiry_hex, mac_hex) = nonce.split_at(EXPIRY_HEX_LEN);
        let Ok(expiry) = u32::from_str_radix(expiry_hex, 16) else {
            return NonceCheck::Stale;
        };
        if self.mac_hex(expiry) != mac_hex || expiry <= self.seconds(now) {
            return NonceCheck::Stale;
        }
        NonceCheck::Fresh
    }

    fn seconds(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.epoch).as_secs() as u32
    }

    fn mac_hex(&self, expiry: u32) -> String {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(&self.key).expect("HMAC-SHA1 accepts keys of any length");
        mac.update(&expiry.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        digest[..MAC_HEX_LEN / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_then_stale() {
        let t0 = Instant::now();
        let nonces = Nonces::new([7; 32], t0, Duration::from_secs(60));
        let nonce = nonces.issue(t0);
        assert_eq!(
            nonces.check(&nonce, t0 + Duration::from_secs(59)),
            NonceCheck::Fresh
        );
        assert_eq!(
            nonces.check(&nonce, t0 + Duration::from_secs(60)),
            NonceCheck::Stale
        );
        assert_eq!(
            nonces.check("0000ffff0000000000000000", t0),
            NonceCheck::Stale
        );
        assert_eq!(nonces.check("short", t0), NonceCheck::Stale);
        assert_eq!(nonces.check("ééééééééééééé", t0), NonceCheck::Stale);
    }
}
