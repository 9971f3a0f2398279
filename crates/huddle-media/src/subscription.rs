//! The receiving side of a participant: one entry per track it gets from others.
//!
//! Each needs its own m-line in the subscriber's session, added or stopped by a
//! renegotiation that the SFU starts. The negotiation state is an enum, as in str0m's
//! chat example, so "negotiating a stop while an add is pending" cannot be expressed.

use str0m::format::CodecConfig;
use str0m::media::{MediaKind, Mid, Pt};
use str0m::rtp::{ExtensionValues, RtpWrite};

use crate::forward::LayerSwitch;
use crate::ids::TrackId;
use crate::layer::SubscriptionSpec;
use crate::packet::Packet;
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

    /// The subscriber's payload type for the packet's codec (`codecs`: the subscriber's).
    pub fn payload_type(&mut self, packet: &Packet, codecs: &CodecConfig) -> Option<Pt> {
        let from = packet.params.pt();
        match self.payload_type {
            Some((cached, pt)) if cached == from => Some(pt),
            _ => {
                let pt = codecs.match_params(packet.params)?.pt();
                self.payload_type = Some((from, pt));
                Some(pt)
            }
        }
    }

    /// The packet as this subscriber gets it, renumbered to follow what it was sent (`new_run`:
    /// it opens a run); `None` for a late packet from before the current run.
    pub fn rewrite(&mut self, packet: &Packet, pt: Pt, new_run: bool) -> Option<RtpWrite> {
        let seq = self.seq.map(*packet.seq, new_run)?;
        // One frame: 30 fps on the 90 kHz video clock, 20 ms of 48 kHz audio.
        let frame_ticks = if self.kind == MediaKind::Video {
            3000
        } else {
            960
        };
        let time = self.time.map(packet.time.numer(), new_run, frame_ticks);
        let mut ext_vals = ExtensionValues::default();
        if let Some((level, voice)) = packet.audio_level {
            ext_vals.audio_level = Some(level);
            ext_vals.voice_activity = Some(voice);
        }
        // RTP time is 32 bits on the wire: the truncation is the wrap.
        let write = RtpWrite::new(
            pt,
            seq.into(),
            time as u32,
            packet.network_time,
            packet.payload.clone(),
        )
        .marker(packet.marker)
        .ext_vals(ext_vals)
        .nackable(self.kind == MediaKind::Video);
        Some(
            match packet.vp8.and_then(|d| self.picture_ids.patch(&d, new_run)) {
                Some(patch) => write.vp8_patch(patch),
                None => write,
            },
        )
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
