//! The receiving side of a participant: one entry per track it gets from others.
//!
//! Each needs its own m-line in the subscriber's session, added or stopped by a
//! renegotiation that the SFU starts. The negotiation state is an enum, as in str0m's
//! chat example, so "negotiating a stop while an add is pending" cannot be expressed.

use str0m::media::{MediaKind, Mid, Pt};

use crate::forward::LayerSwitch;
use crate::ids::TrackId;
use crate::layer::SubscriptionSpec;
use crate::rewrite::{PictureIds, SeqRebase, TimeRebase};

/// Where the subscriber's m-line for this track is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// Wanted, not yet in any offer.
    ToOpen,
    /// In an offer sent to the subscriber, awaiting its answer.
    Opening(Mid),
    /// Negotiated: media flows on this mid.
    Open(Mid),
    /// The track is gone or unsubscribed; its m-line must be stopped.
    ToStop(Mid),
    /// A stop is in an offer awaiting the answer.
    Stopping(Mid),
}

#[derive(Debug)]
pub struct Subscription {
    pub track: TrackId,
    pub kind: MediaKind,
    pub negotiation: Negotiation,
    pub spec: SubscriptionSpec,
    pub layers: LayerSwitch,
    pub seq: SeqRebase,
    pub time: TimeRebase,
    pub picture_ids: PictureIds,
    /// The publisher's payload type last forwarded and the subscriber's that matches it:
    /// matching codec parameters per packet was a measurable share of the forwarding cost.
    pub payload_type: Option<(Pt, Pt)>,
    /// The worker sheds load: only keyframes of this video track are sent.
    pub keyframes_only: bool,
}

impl Subscription {
    pub fn new(track: TrackId, kind: MediaKind) -> Self {
        Subscription {
            track,
            kind,
            negotiation: Negotiation::ToOpen,
            spec: SubscriptionSpec::default(),
            layers: LayerSwitch::default(),
            seq: SeqRebase::default(),
            time: TimeRebase::default(),
            picture_ids: PictureIds::default(),
            payload_type: None,
            keyframes_only: false,
        }
    }

    /// The mid media is written on, only once negotiated.
    pub fn open_mid(&self) -> Option<Mid> {
        match self.negotiation {
            Negotiation::Open(m) => Some(m),
            _ => None,
        }
    }

    /// Marks the subscription for removal; returns false if it can be dropped at once
    /// (it never reached the subscriber).
    pub fn stop(&mut self) -> bool {
        self.negotiation = match self.negotiation {
            Negotiation::ToOpen => return false,
            Negotiation::Opening(m) | Negotiation::Open(m) | Negotiation::ToStop(m) => {
                Negotiation::ToStop(m)
            }
            Negotiation::Stopping(m) => Negotiation::Stopping(m),
        };
        true
    }

    /// The subscriber's answer arrived: what was in flight is now in effect.
    pub fn on_answer(&mut self) {
        if let Negotiation::Opening(m) = self.negotiation {
            self.negotiation = Negotiation::Open(m);
        }
    }

    /// Our offer was dropped (the subscriber's own offer won the glare): redo later.
    pub fn on_offer_rolled_back(&mut self) {
        self.negotiation = match self.negotiation {
            Negotiation::Opening(_) => Negotiation::ToOpen,
            Negotiation::Stopping(m) => Negotiation::ToStop(m),
            other => other,
        };
    }
}
