//! Prometheus counters of the SFU.
//!
//! The core keeps plain integers ([`SfuStats`]); the driver adds their growth to
//! these counters about once a second, so the packet path touches no atomics.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

use crate::outbox::SfuStats;

#[derive(Debug, Clone, Default)]
pub struct SfuMetrics {
    packets_forwarded: Counter,
    bytes_forwarded: Counter,
    keyframe_requests: Counter,
    nacks: Counter,
    data_channel_dropped: Counter,
}

impl SfuMetrics {
    /// Registers the counters; prometheus-client appends `_total` to counter names.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "huddle_sfu_packets_forwarded",
            "RTP packets forwarded to subscribers",
            self.packets_forwarded.clone(),
        );
        registry.register(
            "huddle_sfu_bytes_forwarded",
            "Media payload bytes forwarded to subscribers",
            self.bytes_forwarded.clone(),
        );
        registry.register(
            "huddle_sfu_keyframe_requests",
            "Keyframe requests (PLI/FIR) sent to publishers after rate limiting",
            self.keyframe_requests.clone(),
        );
        registry.register(
            "huddle_sfu_nacks",
            "NACKs sent to publishers for lost packets",
            self.nacks.clone(),
        );
        registry.register(
            "huddle_sfu_data_channel_dropped",
            "Data channel messages not relayed: the receiver's backlog was full or its channel closed",
            self.data_channel_dropped.clone(),
        );
    }

    /// Adds counts that grew since the last call (see [`SfuStats::since`]).
    pub fn add(&self, delta: SfuStats) {
        self.packets_forwarded.inc_by(delta.packets_forwarded);
        self.bytes_forwarded.inc_by(delta.bytes_forwarded);
        self.keyframe_requests.inc_by(delta.keyframe_requests);
        self.nacks.inc_by(delta.nacks);
        self.data_channel_dropped.inc_by(delta.data_channel_dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn counters_are_exposed_with_total_suffix_and_count_growth() {
        let mut registry = Registry::default();
        let m = SfuMetrics::default();
        m.register(&mut registry);
        let mut s = SfuStats {
            packets_forwarded: 10,
            bytes_forwarded: 1000,
            keyframe_requests: 1,
            nacks: 2,
            data_channel_dropped: 3,
        };
        let first = s;
        m.add(first.since(&SfuStats::default()));
        s.packets_forwarded = 15;
        m.add(s.since(&first));
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("huddle_sfu_packets_forwarded_total 15"),
            "{text}"
        );
        assert!(
            text.contains("huddle_sfu_bytes_forwarded_total 1000"),
            "{text}"
        );
        assert!(
            text.contains("huddle_sfu_keyframe_requests_total 1"),
            "{text}"
        );
        assert!(text.contains("huddle_sfu_nacks_total 2"), "{text}");
        assert!(
            text.contains("huddle_sfu_data_channel_dropped_total 3"),
            "{text}"
        );
    }
}
