//! Allocate and Refresh: the allocation's birth, life and death (RFC 8656 7).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::Rng;
use stun_codec::rfc5389::attributes::{ErrorCode, XorMappedAddress};
use stun_codec::rfc5389::errors::BadRequest;
use stun_codec::rfc5766::attributes::{
    EvenPort, Lifetime, RequestedTransport, ReservationToken, XorRelayAddress,
};
use stun_codec::rfc5766::errors::{
    AllocationMismatch, AllocationQuotaReached, InsufficientCapacity, UnsupportedTransportProtocol,
    WrongCredentials,
};
use stun_codec::rfc8656::attributes::{AddressFamily, RequestedAddressFamily};
use stun_codec::rfc8656::errors::AddressFamilyNotSupported;
use stun_codec::MessageClass;

use super::allocation::{Allocation, AllocationId, AllocationState, Owner};
use super::bandwidth::TokenBucket;
use super::stun::{self, Signer, StunMessage};
use super::{next_id, ClientAddr, Output, Server};

const UDP: u8 = 17;
/// Bind attempts before giving up with 508 (ports taken by other programs).
const MAX_BIND_ATTEMPTS: u8 = 8;

impl Server {
    pub(super) fn allocate(
        &mut self,
        from: ClientAddr,
        request: &StunMessage,
        owner: Owner,
        now: Instant,
    ) {
        if let Some(existing) = self
            .by_client
            .get(&from)
            .and_then(|id| self.allocations.get(id))
        {
            if existing.allocate_txid != request.transaction_id() {
                return self.reply_error(from, request, AllocationMismatch, &owner);
            }
            if existing.is_active() {
                // A retransmission whose first answer got lost: answer again.
                let reply = self.allocate_success(request, existing, existing.remaining(now));
                self.send_to_client(from, reply);
            }
            return;
        }
        if let Err(code) = self.check_allocate(request, &owner) {
            return self.reply_error(from, request, code, &owner);
        }
        let even_port = request.get_attribute::<EvenPort>().is_some();
        let Some(port) = self.pick_port(even_port) else {
            return self.reply_error(from, request, InsufficientCapacity, &owner);
        };
        let lifetime =
            self.granted_lifetime(request.get_attribute::<Lifetime>().map(|l| l.lifetime()));
        let id = next_id(&mut self.next_id);
        let relay = SocketAddr::new(self.config.relay_bind_ip, port);
        *self.per_user.entry(owner.user_id.clone()).or_default() += 1;
        let allocation = Allocation {
            client: from,
            owner,
            relay,
            advertised: SocketAddr::new(self.config.advertised_relay_ip(), port),
            state: AllocationState::Binding {
                request: Box::new(request.clone()),
                attempts: 1,
                lifetime,
            },
            // If the driver never answers, the allocation simply times out.
            expires: now + lifetime,
            allocate_txid: request.transaction_id(),
            permissions: Default::default(),
            channels: Default::default(),
            bandwidth: TokenBucket::new(self.config.bandwidth_bytes_per_sec, now),
        };
        self.allocations.insert(id, allocation);
        self.by_client.insert(from, id);
        self.schedule(id, now + lifetime);
        self.outputs.push_back(Output::BindRelay {
            allocation: id,
            addr: relay,
        });
    }

    fn check_allocate(&self, request: &StunMessage, owner: &Owner) -> Result<(), ErrorCode> {
        match request.get_attribute::<RequestedTransport>() {
            None => return Err(BadRequest.into()),
            Some(t) if t.protocol() != UDP => return Err(UnsupportedTransportProtocol.into()),
            Some(_) => {}
        }
        if request.get_attribute::<ReservationToken>().is_some() {
            // We do not keep reserved ports around for a second allocation.
            return Err(InsufficientCapacity.into());
        }
        let relay_is_v4 = self.config.relay_bind_ip.is_ipv4();
        if let Some(family) = request.get_attribute::<RequestedAddressFamily>() {
            if (family.address_family() == AddressFamily::V4) != relay_is_v4 {
                return Err(AddressFamilyNotSupported.into());
            }
        }
        let held = self.per_user.get(&owner.user_id).copied().unwrap_or(0);
        if held >= self.config.user_quota {
            return Err(AllocationQuotaReached.into());
        }
        Ok(())
    }

    pub(super) fn relay_bound(&mut self, id: AllocationId, ok: bool, now: Instant) {
        let Some(allocation) = self.allocations.get_mut(&id) else {
            return;
        };
        let AllocationState::Binding {
            request,
            attempts,
            lifetime,
        } = &allocation.state
        else {
            return;
        };
        let (request, attempts, lifetime) = (request.clone(), *attempts, *lifetime);
        let client = allocation.client;
        if ok {
            allocation.state = AllocationState::Active;
            allocation.expires = now + lifetime;
            self.metrics.allocations.inc();
            self.metrics.allocations_created.inc();
            let allocation = &self.allocations[&id];
            let reply = self.allocate_success(&request, allocation, lifetime);
            self.send_to_client(client, reply);
            return self.schedule(id, now + lifetime);
        }
        let old_port = allocation.relay.port();
        let even = request.get_attribute::<EvenPort>().is_some();
        let next_port = (attempts < MAX_BIND_ATTEMPTS)
            .then(|| self.pick_port(even))
            .flatten();
        // Keep the failed port marked used while picking, so we do not retry it.
        self.used_ports.remove(&old_port);
        let allocation = self.allocations.get_mut(&id).expect("looked up above");
        match next_port {
            Some(port) => {
                allocation.relay.set_port(port);
                allocation.advertised.set_port(port);
                allocation.state = AllocationState::Binding {
                    request,
                    attempts: attempts + 1,
                    lifetime,
                };
                let addr = allocation.relay;
                self.outputs.push_back(Output::BindRelay {
                    allocation: id,
                    addr,
                });
            }
            None => {
                let owner = allocation.owner.clone();
                self.delete_allocation(id);
                self.reply_error(client, &request, InsufficientCapacity, &owner);
            }
        }
    }

    pub(super) fn refresh(
        &mut self,
        from: ClientAddr,
        request: &StunMessage,
        owner: Owner,
        now: Instant,
    ) {
        let Some(id) = self.by_client.get(&from).copied() else {
            return self.reply_error(from, request, AllocationMismatch, &owner);
        };
        if self.allocations[&id].owner.username != owner.username {
            return self.reply_error(from, request, WrongCredentials, &owner);
        }
        let requested = request.get_attribute::<Lifetime>().map(|l| l.lifetime());
        let granted = if requested == Some(Duration::ZERO) {
            self.delete_allocation(id);
            Duration::ZERO
        } else {
            let granted = self.granted_lifetime(requested);
            let allocation = self
                .allocations
                .get_mut(&id)
                .expect("by_client points at it");
            allocation.expires = now + granted;
            self.schedule(id, now + granted);
            granted
        };
        let mut reply = stun::response(request, MessageClass::SuccessResponse);
        reply.add_attribute(lifetime_attribute(granted));
        let bytes = self.signed(reply, &owner);
        self.send_to_client(from, bytes);
    }

    fn allocate_success(
        &self,
        request: &StunMessage,
        allocation: &Allocation,
        lifetime: Duration,
    ) -> Vec<u8> {
        let mut reply = stun::response(request, MessageClass::SuccessResponse);
        reply.add_attribute(XorRelayAddress::new(allocation.advertised));
        reply.add_attribute(lifetime_attribute(lifetime));
        reply.add_attribute(XorMappedAddress::new(allocation.client.addr));
        self.signed(reply, &allocation.owner)
    }

    /// A random free port of the range (RFC 8656 recommends unpredictable ports).
    fn pick_port(&mut self, even: bool) -> Option<u16> {
        let (lo, hi) = (
            *self.config.relay_ports.start(),
            *self.config.relay_ports.end(),
        );
        if lo > hi {
            return None;
        }
        let span = u32::from(hi - lo) + 1;
        let start = self.rng.random_range(0..span);
        // A random start then a linear walk: uniform enough, and it always
        // finds the last free port of a nearly full range.
        let port = (0..span)
            .map(|i| lo + ((start + i) % span) as u16)
            .find(|p| !self.used_ports.contains(p) && (!even || p % 2 == 0))?;
        self.used_ports.insert(port);
        Some(port)
    }

    pub(super) fn signed(&self, reply: StunMessage, owner: &Owner) -> Vec<u8> {
        let signer = Signer {
            username: &owner.username,
            realm: &self.realm,
            password: &owner.password,
        };
        stun::finish(reply, Some(&signer))
    }

    pub(super) fn reply_error(
        &mut self,
        to: ClientAddr,
        request: &StunMessage,
        code: impl Into<ErrorCode>,
        owner: &Owner,
    ) {
        let reply = self.signed(stun::error_response(request, code), owner);
        self.send_to_client(to, reply);
    }
}

fn lifetime_attribute(lifetime: Duration) -> Lifetime {
    Lifetime::from_u32(lifetime.as_secs().min(u64::from(u32::MAX)) as u32)
}
