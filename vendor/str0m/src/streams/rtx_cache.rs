use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use crate::io::DATAGRAM_MAX_PACKET_SIZE;
use crate::packet::Vp8Patch;
use crate::rtp_::{ExtensionValues, MediaTime, Pt, RtpHeader, SeqNo, Ssrc};

use super::RtpPacket;
use super::rtx_cache_buf::EvictingBuffer;

const RTX_CACHE_SIZE_QUANTIZER: usize = 25;
const RTX_CACHE_QUANTIZE_SLOTS: usize = DATAGRAM_MAX_PACKET_SIZE / RTX_CACHE_SIZE_QUANTIZER;

#[derive(Debug)]
pub(crate) struct RtxCache {
    // Data, new additions here probably need to be cleared in [`clear`].
    packet_by_seq_no: EvictingBuffer<CachedPacket>,

    // Technically we want [Option<SeqNo>; X] to indicate the absence of
    // a SeqNo. However We can half the storage space by using the sentinel
    // values SeqNo::MAX to indicate None
    seq_no_by_quantized_size: [SeqNo; RTX_CACHE_QUANTIZE_SLOTS],

    /// The packet last looked up, restored whole for the caller.
    restored: RtpPacket,
}

/// A sent packet as the cache keeps it (huddle patch "compact RTX cache"). Of an `RtpPacket`'s
/// 408 bytes, the header's CSRC list and extension values take 250 and are nearly always empty
/// by the time a packet is cached; they are kept boxed, and only when set. Each stream's cache
/// holds a second of packets (~200 slots for 1 Mbps of video), so this was most of a
/// subscriber's cache once the payload itself is shared.
#[derive(Debug)]
struct CachedPacket {
    seq_no: SeqNo,
    time: MediaTime,
    timestamp: Instant,
    payload: Arc<[u8]>,
    vp8_patch: Option<Vp8Patch>,
    header: CachedHeader,
}

#[derive(Debug)]
struct CachedHeader {
    version: u8,
    has_padding: bool,
    has_extension: bool,
    marker: bool,
    payload_type: Pt,
    sequence_number: u16,
    timestamp: u32,
    ssrc: Ssrc,
    header_len: usize,
    /// CSRCs and extension values, when the packet had any.
    extra: Option<Box<HeaderExtra>>,
}

#[derive(Debug)]
struct HeaderExtra {
    csrc_count: usize,
    csrc: [u32; 15],
    ext_vals: ExtensionValues,
}

impl CachedPacket {
    fn new(packet: RtpPacket) -> Self {
        debug_assert!(packet.last_sender_info.is_none(), "sent packets carry no SR");
        let h = packet.header;
        let mut ext_vals = h.ext_vals;
        // Set again on every send, resends included (`StreamTx::poll_packet`), until the remote
        // has acknowledged the SSRC: not part of what a resend repeats.
        ext_vals.mid = None;
        ext_vals.rid = None;
        ext_vals.rid_repair = None;
        let extra = (h.csrc_count > 0 || ext_vals != ExtensionValues::default()).then(|| {
            Box::new(HeaderExtra {
                csrc_count: h.csrc_count,
                csrc: h.csrc,
                ext_vals,
            })
        });
        CachedPacket {
            seq_no: packet.seq_no,
            time: packet.time,
            timestamp: packet.timestamp,
            payload: packet.payload,
            vp8_patch: packet.vp8_patch,
            header: CachedHeader {
                version: h.version,
                has_padding: h.has_padding,
                has_extension: h.has_extension,
                marker: h.marker,
                payload_type: h.payload_type,
                sequence_number: h.sequence_number,
                timestamp: h.timestamp,
                ssrc: h.ssrc,
                header_len: h.header_len,
                extra,
            },
        }
    }

    /// The packet as it was sent, into `packet`.
    fn restore(&self, packet: &mut RtpPacket) {
        let h = &self.header;
        let (csrc_count, csrc, ext_vals) = match &h.extra {
            Some(extra) => (extra.csrc_count, extra.csrc, extra.ext_vals.clone()),
            None => (0, [0; 15], ExtensionValues::default()),
        };
        *packet = RtpPacket {
            seq_no: self.seq_no,
            time: self.time,
            header: RtpHeader {
                version: h.version,
                has_padding: h.has_padding,
                has_extension: h.has_extension,
                csrc_count,
                marker: h.marker,
                payload_type: h.payload_type,
                sequence_number: h.sequence_number,
                timestamp: h.timestamp,
                ssrc: h.ssrc,
                csrc,
                ext_vals,
                header_len: h.header_len,
            },
            payload: self.payload.clone(),
            vp8_patch: self.vp8_patch,
            timestamp: self.timestamp,
            last_sender_info: None,
            nackable: true,
        };
    }
}

impl RtxCache {
    pub fn new(max_packet_count: usize, max_packet_age: Duration) -> Self {
        Self {
            packet_by_seq_no: EvictingBuffer::new(10, max_packet_age, max_packet_count),
            seq_no_by_quantized_size: [SeqNo::MAX; RTX_CACHE_QUANTIZE_SLOTS],
            restored: RtpPacket::blank(),
        }
    }

    pub fn cache_sent_packet(&mut self, packet: RtpPacket, now: Instant) {
        assert!(packet.nackable);
        let seq_no = packet.seq_no;
        let quantized_size = packet.payload.len() / RTX_CACHE_SIZE_QUANTIZER;
        self.packet_by_seq_no
            .push(*seq_no, now, CachedPacket::new(packet));
        self.seq_no_by_quantized_size[quantized_size] = seq_no;
        self.remove_old_packets(now);
    }

    pub fn last_cached_seq_no(&self) -> Option<SeqNo> {
        Some(self.packet_by_seq_no.last_position()?.into())
    }

    /// The payload size of a cached packet, without restoring it.
    pub fn cached_payload_len(&self, seq_no: SeqNo) -> Option<usize> {
        Some(self.packet_by_seq_no.get(*seq_no)?.payload.len())
    }

    /// The cached packet, restored whole. Changes to it are not kept.
    pub fn get_cached_packet_by_seq_no(&mut self, seq_no: SeqNo) -> Option<&mut RtpPacket> {
        self.packet_by_seq_no
            .get(*seq_no)?
            .restore(&mut self.restored);
        Some(&mut self.restored)
    }

    pub fn get_cached_packet_smaller_than(&mut self, max_size: usize) -> Option<&mut RtpPacket> {
        let quantized_size = max_size / RTX_CACHE_SIZE_QUANTIZER;

        let seq_no = self.seq_no_by_quantized_size[..quantized_size]
            .iter()
            .rev()
            .filter(|seq_no| !seq_no.is_max())
            .find(|seq_no| self.packet_by_seq_no.contains(***seq_no))?;

        self.get_cached_packet_by_seq_no(*seq_no)
    }

    fn remove_old_packets(&mut self, now: Instant) {
        self.packet_by_seq_no.maybe_evict(now);
    }

    pub(crate) fn last_packet(&self) -> Option<&[u8]> {
        let packet = self.packet_by_seq_no.last()?;
        Some(packet.payload.as_ref())
    }

    pub(crate) fn clear(&mut self) {
        self.packet_by_seq_no.clear();
        self.seq_no_by_quantized_size = [SeqNo::MAX; RTX_CACHE_QUANTIZE_SLOTS];
    }
}

#[cfg(test)]
mod test {
    use crate::rtp_::MediaTime;
    use crate::rtp_::RtpHeader;

    use super::*;

    fn after(now: Instant, millis: u64) -> Instant {
        now + Duration::from_millis(millis)
    }

    fn packet(now: Instant, seq_no: u64, millis: u64) -> RtpPacket {
        RtpPacket {
            header: RtpHeader::default(),
            seq_no: seq_no.into(),
            time: MediaTime::from_90khz(0),
            payload: millis.to_be_bytes().into(),
            vp8_patch: None,
            timestamp: after(now, millis),
            last_sender_info: None,
            nackable: true,
        }
    }

    #[test]
    fn rtx_cache_0_sized() {
        let now = Instant::now();
        let mut rtx_cache = RtxCache::new(0, Duration::from_secs(3));
        rtx_cache.cache_sent_packet(packet(now, 1, 10), after(now, 10));
        assert_eq!(
            Some(&mut packet(now, 1, 10)),
            rtx_cache.get_cached_packet_by_seq_no(1.into())
        );
        assert_eq!(
            Some(&mut packet(now, 1, 10)),
            rtx_cache.get_cached_packet_smaller_than(1000)
        );
    }

    #[test]
    fn rtx_cache_0_duration() {
        let now = Instant::now();
        let mut rtx_cache = RtxCache::new(10, Duration::from_secs(0));
        rtx_cache.cache_sent_packet(packet(now, 1, 10), after(now, 10));
        assert_eq!(None, rtx_cache.get_cached_packet_by_seq_no(1.into()));
        assert_eq!(None, rtx_cache.get_cached_packet_smaller_than(1000));
    }

    #[test]
    fn rtx_cache_1_sized() {
        let now = Instant::now();
        let mut rtx_cache = RtxCache::new(1, Duration::from_secs(3));
        rtx_cache.cache_sent_packet(packet(now, 1, 10), after(now, 10));
        assert_eq!(
            Some(&mut packet(now, 1, 10)),
            rtx_cache.get_cached_packet_by_seq_no(1.into())
        );
        assert_eq!(
            Some(&mut packet(now, 1, 10)),
            rtx_cache.get_cached_packet_smaller_than(1000)
        );
        assert_eq!(
            Some(&mut packet(now, 1, 10)),
            rtx_cache.get_cached_packet_smaller_than(25)
        );
        assert_eq!(None, rtx_cache.get_cached_packet_smaller_than(24));
        rtx_cache.cache_sent_packet(packet(now, 2, 20), after(now, 20));
        assert_eq!(
            Some(&mut packet(now, 2, 20)),
            rtx_cache.get_cached_packet_by_seq_no(2.into())
        );
    }

    #[test]
    fn rtx_cache_100_sized_backwards() {
        let now = Instant::now();
        let mut rtx_cache = RtxCache::new(100, Duration::from_secs(3));

        for i in 1..=200 {
            let seq_no = 201 - i;
            let pkt = packet(now, seq_no, (201 - i) * 10);
            let now = after(now, i * 10);
            rtx_cache.cache_sent_packet(pkt, now);
        }

        assert_eq!(
            Some(&mut packet(now, 200, 2000)),
            rtx_cache.get_cached_packet_by_seq_no(200.into())
        );
        assert_eq!(None, rtx_cache.get_cached_packet_by_seq_no(100.into()));
        assert_eq!(None, rtx_cache.get_cached_packet_by_seq_no(101.into()));
    }

    #[test]
    fn rtx_cache_eviction() {
        let now = Instant::now();
        // Cache can take all entries
        let mut rtx_cache = RtxCache::new(400, Duration::from_secs(1));
        for i in 1..=200 {
            let seq_no = i;
            let pkt = packet(now, seq_no, i * 10);
            let now = after(now, i * 10);
            rtx_cache.cache_sent_packet(pkt, now);
        }

        assert_eq!(None, rtx_cache.get_cached_packet_by_seq_no(99.into()));

        assert_eq!(
            Some(&mut packet(now, 100, 1000)),
            rtx_cache.get_cached_packet_by_seq_no(100.into())
        );
        assert_eq!(
            Some(&mut packet(now, 200, 2000)),
            rtx_cache.get_cached_packet_by_seq_no(200.into())
        );
    }
}
