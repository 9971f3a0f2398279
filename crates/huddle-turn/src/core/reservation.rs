//! EVEN-PORT and RESERVATION-TOKEN (RFC 8656 7.2, 14.6, 14.9): an RTP allocation
//! asks for an even port and for the next (odd) port to be held, then the RTCP
//! allocation claims it with the token. coturn's clients do this by default.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore};
use stun_codec::rfc5389::attributes::ErrorCode;
use stun_codec::rfc5389::errors::BadRequest;
use stun_codec::rfc5766::attributes::{EvenPort, ReservationToken};
use stun_codec::rfc5766::errors::InsufficientCapacity;

use super::stun::StunMessage;
use super::Server;

/// How long a held port waits for its token (RFC 8656 suggests about 30 s).
const RESERVATION_LIFETIME: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Reservations {
    by_token: HashMap<u64, (u16, Instant)>,
}

/// The relay port for an Allocate, and whether the next port is held with it.
pub struct PortChoice {
    pub port: u16,
    pub reserves_next: bool,
}

impl Server {
    pub(super) fn choose_relay_port(
        &mut self,
        request: &StunMessage,
        now: Instant,
    ) -> Result<PortChoice, ErrorCode> {
        self.expire_reservations(now);
        let even = request.get_attribute::<EvenPort>();
        let token = request.get_attribute::<ReservationToken>();
        match (even, token) {
            (Some(_), Some(_)) => Err(BadRequest.into()),
            (None, Some(token)) => match self.reservations.by_token.remove(&token.token()) {
                // The port stays in `used_ports`: it moves from held to bound.
                Some((port, _)) => Ok(PortChoice {
                    port,
                    reserves_next: false,
                }),
                None => Err(InsufficientCapacity.into()),
            },
            (even, None) => {
                let reserves_next = even.is_some_and(|e| e.is_requested());
                let port = self
                    .pick_port(even.is_some(), reserves_next)
                    .ok_or(ErrorCode::from(InsufficientCapacity))?;
                Ok(PortChoice {
                    port,
                    reserves_next,
                })
            }
        }
    }

    /// A random free port of the range (RFC 8656 recommends unpredictable
    /// ports); with `reserve_next` the port after it is taken too.
    pub(super) fn pick_port(&mut self, even: bool, reserve_next: bool) -> Option<u16> {
        let (lo, hi) = (
            *self.config.relay_ports.start(),
            *self.config.relay_ports.end(),
        );
        if lo > hi {
            return None;
        }
        let span = u32::from(hi - lo) + 1;
        let start = self.rng.random_range(0..span);
        // A random start then a linear walk: unpredictable enough, and it
        // always finds the last free port of a nearly full range.
        let free = |p: u16| !self.used_ports.contains(&p);
        let port = (0..span)
            .map(|i| lo + ((start + i) % span) as u16)
            .find(|&p| {
                free(p) && (!even || p % 2 == 0) && (!reserve_next || (p < hi && free(p + 1)))
            })?;
        self.used_ports.insert(port);
        if reserve_next {
            self.used_ports.insert(port + 1);
        }
        Some(port)
    }

    pub(super) fn release_port(&mut self, port: u16, reserved_next: bool) {
        self.used_ports.remove(&port);
        if reserved_next {
            self.used_ports.remove(&(port + 1));
        }
    }

    /// Hands out the token for a port `pick_port` already holds.
    pub(super) fn grant_reservation(&mut self, port: u16, now: Instant) -> ReservationToken {
        let token = self.rng.next_u64();
        self.reservations
            .by_token
            .insert(token, (port, now + RESERVATION_LIFETIME));
        ReservationToken::new(token)
    }

    fn expire_reservations(&mut self, now: Instant) {
        let used_ports = &mut self.used_ports;
        self.reservations.by_token.retain(|_, (port, expires)| {
            let keep = *expires > now;
            if !keep {
                used_ports.remove(port);
            }
            keep
        });
    }
}
