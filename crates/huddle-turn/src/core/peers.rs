//! CreatePermission and ChannelBind: which peers may use an allocation (RFC 8656 9, 11).
//! Both consult the peer policy, so a client can never open a path to a peer the
//! operator forbids; relaying itself then only needs the permission table.

use std::net::SocketAddr;
use std::time::Instant;

use stun_codec::rfc5389::attributes::ErrorCode;
use stun_codec::rfc5389::errors::BadRequest;
use stun_codec::rfc5766::attributes::XorPeerAddress;
use stun_codec::rfc5766::errors::{AllocationMismatch, Forbidden, WrongCredentials};
use stun_codec::rfc8656::errors::PeerAddressFamilyMismatch;
use stun_codec::MessageClass;

use super::allocation::{AllocationId, Owner};
use super::channel::BindError;
use super::stun::{self, ChannelNumber, StunMessage};
use super::{ClientAddr, Server};

impl Server {
    pub(super) fn create_permission(
        &mut self,
        from: ClientAddr,
        request: &StunMessage,
        owner: Owner,
        now: Instant,
    ) {
        let peers: Vec<SocketAddr> = request
            .attributes()
            .filter_map(|a| match a {
                stun::Attribute::XorPeerAddress(p) => Some(p.address()),
                _ => None,
            })
            .collect();
        let checked = self
            .owned_allocation(from, &owner)
            .and_then(|id| self.check_peers(id, &peers).map(|()| id));
        let id = match checked {
            Ok(id) => id,
            Err(code) => return self.reply_error(from, request, code, &owner),
        };
        let allocation = self.allocations.get_mut(&id).expect("checked above");
        let mut next = None;
        for peer in &peers {
            next = Some(allocation.permissions.install(peer.ip(), now));
        }
        if let Some(at) = next {
            self.schedule(id, at);
        }
        self.reply_success(from, request, &owner);
    }

    pub(super) fn channel_bind(
        &mut self,
        from: ClientAddr,
        request: &StunMessage,
        owner: Owner,
        now: Instant,
    ) {
        let number = request.get_attribute::<ChannelNumber>().map(|c| c.value());
        let peer = request
            .get_attribute::<XorPeerAddress>()
            .map(|p| p.address());
        let checked = self
            .owned_allocation(from, &owner)
            .and_then(|id| match (number, peer) {
                (Some(number), Some(peer)) => {
                    self.check_peers(id, &[peer]).map(|()| (id, number, peer))
                }
                _ => Err(BadRequest.into()),
            });
        let (id, number, peer) = match checked {
            Ok(found) => found,
            Err(code) => return self.reply_error(from, request, code, &owner),
        };
        let allocation = self.allocations.get_mut(&id).expect("checked above");
        match allocation.channels.bind(number, peer, now) {
            Ok(channel_expiry) => {
                // A channel implies a permission, refreshed with it (RFC 8656 11.2).
                let permission_expiry = allocation.permissions.install(peer.ip(), now);
                self.schedule(id, permission_expiry.min(channel_expiry));
                self.reply_success(from, request, &owner);
            }
            Err(BindError::BadNumber | BindError::Conflict) => {
                self.reply_error(from, request, BadRequest, &owner)
            }
        }
    }

    /// The active allocation of this 5-tuple, if it belongs to this user.
    fn owned_allocation(&self, from: ClientAddr, owner: &Owner) -> Result<AllocationId, ErrorCode> {
        let id = self.by_client.get(&from).copied();
        match id.and_then(|id| self.allocations.get(&id).map(|a| (id, a))) {
            Some((id, a)) if a.is_active() && a.owner.username == owner.username => Ok(id),
            Some((_, a)) if a.is_active() => Err(WrongCredentials.into()),
            _ => Err(AllocationMismatch.into()),
        }
    }

    /// All peers must be of the relay's family (443) and allowed (403); one bad
    /// peer refuses the whole request, as RFC 8656 9.2 asks.
    fn check_peers(&self, id: AllocationId, peers: &[SocketAddr]) -> Result<(), ErrorCode> {
        if peers.is_empty() {
            return Err(BadRequest.into());
        }
        let allocation = &self.allocations[&id];
        if !peers.iter().all(|p| allocation.same_family(*p)) {
            return Err(PeerAddressFamilyMismatch.into());
        }
        if !peers.iter().all(|p| self.policy.permits(p.ip())) {
            return Err(Forbidden.into());
        }
        Ok(())
    }

    fn reply_success(&mut self, to: ClientAddr, request: &StunMessage, owner: &Owner) {
        let reply = self.signed(
            stun::response(request, MessageClass::SuccessResponse),
            owner,
        );
        self.send_to_client(to, reply);
    }
}
