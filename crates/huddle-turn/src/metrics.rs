//! Prometheus metrics, all named `huddle_turn_*`.
//!
//! The core bumps these directly: prometheus-client metrics are plain atomics, so
//! counting costs no lock and no allocation. The per-reason drop counters are
//! fetched from their `Family` once, up front, because `Family::get_or_create`
//! takes a read lock we do not want on the hot path.

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Why a packet was dropped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Neither a STUN message nor ChannelData, or a STUN message that does not decode.
    Malformed,
    /// A STUN message of a class/method this server does not answer.
    Unexpected,
    /// Send indication or ChannelData from a client without an allocation.
    NoAllocation,
    /// ChannelData on a channel number that is not bound.
    UnknownChannel,
    /// Relaying to/from a peer without a permission.
    NoPermission,
    /// Send indication or ChannelData towards a peer the policy refuses.
    PeerDenied,
    /// Beyond the allocation's bandwidth cap.
    BandwidthExceeded,
    /// The driver could not hand the packet to a socket (full buffer, closed connection).
    SendFailed,
}

impl DropReason {
    const ALL: [DropReason; 8] = [
        DropReason::Malformed,
        DropReason::Unexpected,
        DropReason::NoAllocation,
        DropReason::UnknownChannel,
        DropReason::NoPermission,
        DropReason::PeerDenied,
        DropReason::BandwidthExceeded,
        DropReason::SendFailed,
    ];

    /// The `reason` label value (snake_case, as Prometheus labels usually are).
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::Unexpected => "unexpected",
            DropReason::NoAllocation => "no_allocation",
            DropReason::UnknownChannel => "unknown_channel",
            DropReason::NoPermission => "no_permission",
            DropReason::PeerDenied => "peer_denied",
            DropReason::BandwidthExceeded => "bandwidth_exceeded",
            DropReason::SendFailed => "send_failed",
        }
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|r| *r == self)
            .expect("every reason is listed in ALL")
    }
}

impl EncodeLabelValue for DropReason {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DropLabels {
    reason: DropReason,
}

/// Counters and gauges of one TURN server. Cloning shares the underlying values.
#[derive(Debug, Clone)]
pub struct TurnMetrics {
    pub binding_requests: Counter,
    pub allocations: Gauge,
    pub allocations_created: Counter,
    pub relayed_bytes: Counter,
    pub relayed_packets: Counter,
    pub auth_failures: Counter,
    dropped_family: Family<DropLabels, Counter>,
    dropped: [Counter; DropReason::ALL.len()],
}

impl Default for TurnMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl TurnMetrics {
    pub fn new() -> Self {
        let dropped_family = Family::<DropLabels, Counter>::default();
        let dropped = DropReason::ALL
            .map(|reason| dropped_family.get_or_create(&DropLabels { reason }).clone());
        TurnMetrics {
            binding_requests: Counter::default(),
            allocations: Gauge::default(),
            allocations_created: Counter::default(),
            relayed_bytes: Counter::default(),
            relayed_packets: Counter::default(),
            auth_failures: Counter::default(),
            dropped_family,
            dropped,
        }
    }

    pub fn register(&self, registry: &mut Registry) {
        let r = registry;
        r.register(
            "huddle_turn_binding_requests",
            "STUN Binding requests answered",
            self.binding_requests.clone(),
        );
        r.register(
            "huddle_turn_allocations",
            "TURN allocations alive now",
            self.allocations.clone(),
        );
        r.register(
            "huddle_turn_allocations_created",
            "TURN allocations created",
            self.allocations_created.clone(),
        );
        r.register(
            "huddle_turn_relayed_bytes",
            "Payload bytes relayed between clients and peers",
            self.relayed_bytes.clone(),
        );
        r.register(
            "huddle_turn_relayed_packets",
            "Packets relayed between clients and peers",
            self.relayed_packets.clone(),
        );
        r.register(
            "huddle_turn_auth_failures",
            "Requests refused for bad, expired or missing credentials",
            self.auth_failures.clone(),
        );
        r.register(
            "huddle_turn_dropped_packets",
            "Packets dropped without an answer, by reason",
            self.dropped_family.clone(),
        );
    }

    pub fn drop_packet(&self, reason: DropReason) {
        tracing::trace!(?reason, "packet dropped");
        self.dropped[reason.index()].inc();
    }

    /// How many packets were dropped for `reason` (for tests and logs).
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()].get()
    }

    pub(crate) fn relayed(&self, bytes: usize) {
        self.relayed_packets.inc();
        self.relayed_bytes.inc_by(bytes as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_with_prefix() {
        let metrics = TurnMetrics::new();
        metrics.drop_packet(DropReason::Malformed);
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("huddle_turn_dropped_packets_total{reason=\"malformed\"} 1"));
        assert!(text.contains("huddle_turn_allocations 0"));
    }
}
