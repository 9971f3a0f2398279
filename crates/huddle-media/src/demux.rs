//! Which worker a datagram on the shared UDP port belongs to.
//!
//! All clients send to one port, but each participant lives on one worker. The first
//! packets of a client are STUN binding requests whose USERNAME starts with the
//! ICE ufrag the SFU gave that participant: that names the worker, and the source
//! address is remembered so that DTLS, RTP and RTCP from it follow. Pure state.

use std::collections::HashMap;
use std::net::SocketAddr;

use str0m::ice::StunMessage;

/// Index of a worker thread.
pub type WorkerId = usize;

#[derive(Debug, Default)]
pub struct Demux {
    by_ufrag: HashMap<String, WorkerId>,
    /// Source address -> (worker, ufrag that taught us), so `remove` can forget it.
    by_addr: HashMap<SocketAddr, (WorkerId, String)>,
}

impl Demux {
    /// A participant with this local ICE ufrag lives on `worker`.
    pub fn add(&mut self, ufrag: String, worker: WorkerId) {
        self.by_ufrag.insert(ufrag, worker);
    }

    /// The participant is gone: forget its ufrag and the addresses it used.
    pub fn remove(&mut self, ufrag: &str) {
        self.by_ufrag.remove(ufrag);
        self.by_addr.retain(|_, (_, u)| u != ufrag);
    }

    /// The worker for a datagram, or `None` to drop it.
    pub fn route(&mut self, source: SocketAddr, datagram: &[u8]) -> Option<WorkerId> {
        if let Some(ufrag) = stun_local_ufrag(datagram) {
            if let Some(&worker) = self.by_ufrag.get(&ufrag) {
                // Learn (or move, after an ICE restart or NAT rebinding) the address.
                self.by_addr.insert(source, (worker, ufrag));
                return Some(worker);
            }
        }
        self.by_addr.get(&source).map(|(w, _)| *w)
    }
}

/// For a STUN message to us, USERNAME is "<our ufrag>:<their ufrag>" (RFC 8445 7.2.2).
fn stun_local_ufrag(datagram: &[u8]) -> Option<String> {
    // STUN starts with two zero bits; cheap check before parsing.
    if datagram.first()? & 0xc0 != 0 {
        return None;
    }
    let msg = StunMessage::parse(datagram).ok()?;
    msg.split_username().map(|(local, _)| local.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A binding request with USERNAME, PRIORITY and a dummy MESSAGE-INTEGRITY (the
    /// parser wants it present; checking it is the worker's `Rtc`'s job).
    pub(crate) fn binding_request(username: &str) -> Vec<u8> {
        let mut attr = vec![0x00, 0x06];
        attr.extend((username.len() as u16).to_be_bytes());
        attr.extend(username.as_bytes());
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        attr.extend([0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff]);
        attr.extend([0x00, 0x08, 0x00, 0x14]);
        attr.extend([0u8; 20]);
        let mut m = vec![0x00, 0x01];
        m.extend((attr.len() as u16).to_be_bytes());
        m.extend([0x21, 0x12, 0xa4, 0x42]);
        m.extend([7u8; 12]);
        m.extend(attr);
        m
    }

    fn addr(port: u16) -> SocketAddr {
        (std::net::Ipv4Addr::new(1, 2, 3, 4), port).into()
    }

    #[test]
    fn stun_names_the_worker_and_the_address_follows() {
        let mut d = Demux::default();
        d.add("abcd".into(), 3);
        let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(d.route(addr(1), &rtp), None, "unknown address before STUN");
        assert_eq!(d.route(addr(1), &binding_request("abcd:wxyz")), Some(3));
        assert_eq!(d.route(addr(1), &rtp), Some(3));
        assert_eq!(d.route(addr(2), &rtp), None);
    }

    #[test]
    fn unknown_ufrag_and_garbage_are_dropped() {
        let mut d = Demux::default();
        d.add("abcd".into(), 0);
        assert_eq!(d.route(addr(1), &binding_request("nope:wxyz")), None);
        assert_eq!(d.route(addr(1), &[]), None);
        assert_eq!(d.route(addr(1), &[0x00, 0x01, 0xff]), None);
    }

    #[test]
    fn remove_forgets_ufrag_and_addresses() {
        let mut d = Demux::default();
        d.add("abcd".into(), 1);
        d.route(addr(1), &binding_request("abcd:wxyz"));
        d.remove("abcd");
        let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(d.route(addr(1), &rtp), None);
        assert_eq!(d.route(addr(1), &binding_request("abcd:wxyz")), None);
    }
}
