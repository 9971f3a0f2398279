//! Allocate and Refresh: the allocation's birth, life and death (RFC 8656 7).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stun_codec::rfc5389::attributes::{ErrorCode, XorMappedAddress};
use stun_codec::rfc5389::errors::BadRequest;
use stun_codec::rfc5766::attributes::{EvenPort, Lifetime, RequestedTransport, XorRelayAddress};
use stun_codec::rfc5766::errors::{
    AllocationMismatch, AllocationQuotaReached, InsufficientCapacity, UnsupportedTransportProtocol,
    WrongCredentials,
};
use stun_codec::rfc8656::attributes::{AddressFamily, RequestedAddressFamily};
use stun_codec::rfc8656::errors::AddressFamilyNotSupported;
use stun_codec::MessageClass;

use super::allocation::{Allocation, AllocationId, AllocationState, Owner};
use super::bandwidth::TokenBucket;
use super::reservation::PortChoice;
use super::stun::{self, Signer, StunMessage};
use super::{next_id, ClientAddr, Output, Server};
use crate::address_key;

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
                let reply = self.allocate_reply(request, existing, existing.remaining(now));
                let bytes = self.signed(reply, &existing.owner);
                self.send_to_client(from, bytes);
            }
            return;
        }
        if let Err(code) = self.check_allocate(request, &owner, from) {
            return self.reply_error(from, request, code, &owner);
        }
        let PortChoice {
            port,
            reserves_next,
        } = match self.choose_relay_port(request, now) {
            Ok(choice) => choice,
            Err(code) => return self.reply_error(from, request, code, &owner),
        };
        let lifetime =
            self.granted_lifetime(request.get_attribute::<Lifetime>().map(|l| l.lifetime()));
        let id = next_id(&mut self.next_id);
        let relay = SocketAddr::new(self.config.relay_bind_ip, port);
        self.per_user.take(owner.user_id.clone());
        self.per_client.take(address_key(from.addr.ip()));
        let allocation = Allocation {
            client: from,
            owner,
            relay,
            advertised: SocketAddr::new(self.config.advertised_relay_ip(), port),
            state: AllocationState::Binding {
                request: Box::new(request.clone()),
                attempts: 1,
                lifetime,
                reserves_next,
            },
            // If the driver never answers, the allocation simply times out.
            expires: now + lifetime,
            wake_at: None,
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

    fn check_allocate(
        &self,
        request: &StunMessage,
        owner: &Owner,
        from: ClientAddr,
    ) -> Result<(), ErrorCode> {
        match request.get_attribute::<RequestedTransport>() {
            None => return Err(BadRequest.into()),
            Some(t) if t.protocol() != UDP => return Err(UnsupportedTransportProtocol.into()),
            Some(_) => {}
        }
        let relay_is_v4 = self.config.relay_bind_ip.is_ipv4();
        if let Some(family) = request.get_attribute::<RequestedAddressFamily>() {
            if (family.address_family() == AddressFamily::V4) != relay_is_v4 {
                return Err(AddressFamilyNotSupported.into());
            }
        }
        if self.per_user.is_full(&owner.user_id)
            || self.per_client.is_full(&address_key(from.addr.ip()))
        {
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
            reserves_next,
        } = &allocation.state
        else {
            return;
        };
        let (request, attempts, lifetime, reserves_next) =
            (request.clone(), *attempts, *lifetime, *reserves_next);
        let client = allocation.client;
        let port = allocation.relay.port();
        if ok {
            allocation.state = AllocationState::Active;
            allocation.expires = now + lifetime;
            self.metrics.allocations.inc();
            self.metrics.allocations_created.inc();
            let token = reserves_next.then(|| self.grant_reservation(port + 1, now));
            let mut reply = self.allocate_reply(&request, &self.allocations[&id], lifetime);
            if let Some(token) = token {
                reply.add_attribute(token);
            }
            let bytes = self.signed(reply, &self.allocations[&id].owner);
            self.send_to_client(client, bytes);
            return self.schedule(id, now + lifetime);
        }
        // Pick before releasing, so the port that just failed is not picked again.
        let even = request.get_attribute::<EvenPort>().is_some();
        let next_port = (attempts < MAX_BIND_ATTEMPTS)
            .then(|| self.pick_port(even, reserves_next))
            .flatten();
        self.release_port(port, reserves_next);
        let allocation = self.allocations.get_mut(&id).expect("looked up above");
        match next_port {
            Some(port) => {
                allocation.relay.set_port(port);
                allocation.advertised.set_port(port);
                allocation.state = AllocationState::Binding {
                    request,
                    attempts: attempts + 1,
                    lifetime,
                    reserves_next,
                };
                let addr = allocation.relay;
                self.outputs.push_back(Output::BindRelay {
                    allocation: id,
                    addr,
                });
            }
            None => {
                // Nothing is held any more: forget the flag so deletion does
                // not release a port that now belongs to someone else.
                allocation.state = AllocationState::Binding {
                    request: request.clone(),
                    attempts,
                    lifetime,
                    reserves_next: false,
                };
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

    fn allocate_reply(
        &self,
        request: &StunMessage,
        allocation: &Allocation,
        lifetime: Duration,
    ) -> StunMessage {
        let mut reply = stun::response(request, MessageClass::SuccessResponse);
        reply.add_attribute(XorRelayAddress::new(allocation.advertised));
        reply.add_attribute(lifetime_attribute(lifetime));
        reply.add_attribute(XorMappedAddress::new(allocation.client.addr));
        reply
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
