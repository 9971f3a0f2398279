//! The hot path: ChannelData and Send indications from clients to peers, and
//! peer datagrams back as ChannelData or Data indications. No STUN decoding, no
//! allocation once the buffer pool is warm, and every refusal is a counted drop.

use std::net::SocketAddr;
use std::time::Instant;

use rand::RngCore;

use super::allocation::{Allocation, AllocationId};
use super::{indication, ClientAddr, Output, Server, Transport};
use crate::framing::CHANNEL_DATA_HEADER_LEN;
use crate::metrics::DropReason;

/// Largest payload that still fits a Data indication's 16-bit length field.
const MAX_PAYLOAD: usize = 65_000;

impl Server {
    pub(super) fn channel_data_from_client(
        &mut self,
        from: ClientAddr,
        packet: &[u8],
        now: Instant,
    ) {
        let Some((number, payload)) = parse_channel_data(packet) else {
            return self.metrics.drop_packet(DropReason::Malformed);
        };
        let Some(id) = self.by_client.get(&from).copied() else {
            return self.metrics.drop_packet(DropReason::NoAllocation);
        };
        let allocation = self.allocations.get(&id).expect("by_client points at it");
        let Some(peer) = allocation.channels.peer(number, now) else {
            return self.metrics.drop_packet(DropReason::UnknownChannel);
        };
        self.relay_to_peer(id, peer, payload, now);
    }

    pub(super) fn send_indication(&mut self, from: ClientAddr, packet: &[u8], now: Instant) {
        let Some(send) = indication::parse_send(packet) else {
            return self.metrics.drop_packet(DropReason::Malformed);
        };
        let Some(id) = self.by_client.get(&from).copied() else {
            return self.metrics.drop_packet(DropReason::NoAllocation);
        };
        self.relay_to_peer(id, send.peer, &packet[send.data], now);
    }

    fn relay_to_peer(&mut self, id: AllocationId, peer: SocketAddr, payload: &[u8], now: Instant) {
        let allocation = self.allocations.get_mut(&id).expect("caller looked it up");
        if let Err(reason) = admit(allocation, peer, payload.len(), now) {
            // Only on the drop path: tell "never allowed" from "not yet permitted".
            let reason = match reason {
                DropReason::NoPermission if !self.policy.permits(peer.ip()) => {
                    DropReason::PeerDenied
                }
                other => other,
            };
            return self.metrics.drop_packet(reason);
        }
        let mut packet = self.take_buffer();
        packet.extend_from_slice(payload);
        self.metrics.relayed(payload.len());
        self.outputs.push_back(Output::ToPeer {
            allocation: id,
            to: peer,
            packet,
        });
    }

    pub(super) fn packet_from_peer(
        &mut self,
        id: AllocationId,
        from: SocketAddr,
        payload: &[u8],
        now: Instant,
    ) {
        let Some(allocation) = self.allocations.get_mut(&id) else {
            return self.metrics.drop_packet(DropReason::NoAllocation);
        };
        if let Err(reason) = admit(allocation, from, payload.len(), now) {
            return self.metrics.drop_packet(reason);
        }
        let client = allocation.client;
        let channel = allocation.channels.number(from, now);
        let mut packet = self.take_buffer();
        match channel {
            Some(number) => write_channel_data(&mut packet, number, payload, client.transport),
            None => {
                let mut txid = [0u8; 12];
                self.rng.fill_bytes(&mut txid);
                indication::write_data(&mut packet, txid, from, payload);
            }
        }
        self.metrics.relayed(payload.len());
        self.outputs
            .push_back(Output::ToClient { to: client, packet });
    }
}

/// The checks every relayed packet passes, in both directions.
fn admit(
    allocation: &mut Allocation,
    peer: SocketAddr,
    len: usize,
    now: Instant,
) -> Result<(), DropReason> {
    if !allocation.is_active() {
        return Err(DropReason::NoAllocation);
    }
    if len > MAX_PAYLOAD {
        return Err(DropReason::Malformed);
    }
    if !allocation.permissions.allows(peer.ip(), now) {
        return Err(DropReason::NoPermission);
    }
    if !allocation.bandwidth.take(len, now) {
        return Err(DropReason::BandwidthExceeded);
    }
    Ok(())
}

/// Channel number and payload; the payload may be followed by padding.
fn parse_channel_data(packet: &[u8]) -> Option<(u16, &[u8])> {
    let header = packet.get(..CHANNEL_DATA_HEADER_LEN)?;
    let number = u16::from_be_bytes([header[0], header[1]]);
    let len = u16::from_be_bytes([header[2], header[3]]) as usize;
    let payload = packet.get(CHANNEL_DATA_HEADER_LEN..CHANNEL_DATA_HEADER_LEN + len)?;
    Some((number, payload))
}

fn write_channel_data(out: &mut Vec<u8>, number: u16, payload: &[u8], transport: Transport) {
    out.clear();
    out.extend_from_slice(&number.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    // Streams need the padding to find the next frame; datagrams do not.
    if transport == Transport::Stream {
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
}
