//! SDP offer/answer with one participant.
//!
//! The browser offers first (its own tracks and a data channel) and the SFU answers.
//! When tracks of others must be added to or removed from its session, the SFU makes
//! the offer. Glare (both offering at once) is resolved in the browser's favour:
//! accepting its offer rolls our pending one back, and ours is redone afterwards.
//! The browser must therefore be the "polite" peer only for its *own* pending offer,
//! which it never has while it waits for our answer.

use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::Direction;

use super::{Participant, RtcRecipe};
use crate::error::SfuError;
use crate::event::SfuEvent;
use crate::outbox::{Outbox, Propagated};
use crate::subscription::Negotiation;

/// The RTX cache of what we send a subscriber: a second of packets, as libwebrtc keeps for
/// round trips under a third of a second (str0m keeps 3 s: a copy of every packet of three
/// seconds per subscriber, most of a subscriber's memory), with a higher cap on the share of
/// retransmitted bytes. Past the cap str0m drops every queued retransmission; at its default
/// (15%) a subscriber behind 10% random loss (whose retransmissions get lost too) hit it often,
/// and each time its picture froze ~500 ms while it asked again and again for the same packets.
const RTX_CACHE_PACKETS: usize = 1024;
const RTX_CACHE_AGE: Duration = Duration::from_secs(1);
const RTX_RATIO_CAP: f32 = 0.3;

/// Offer/answer state of one participant's session.
#[derive(Debug)]
pub enum SignalingState {
    /// Joined; the browser's first offer has not come yet. Nothing can be negotiated.
    AwaitingOffer,
    /// Nothing in flight.
    Stable,
    /// The SFU sent an offer and waits for the answer.
    OfferSent(SdpPendingOffer),
}

impl Participant {
    /// Answers an offer from the browser; the first one builds the `Rtc` at `now`.
    pub fn accept_offer(
        &mut self,
        offer_sdp: &str,
        recipe: &RtcRecipe,
        now: Instant,
    ) -> Result<String, SfuError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let rtc = match &mut self.rtc {
            Some(rtc) => rtc,
            None => self
                .rtc
                .insert(Box::new(recipe.build(&self.ice_credentials, now)?)),
        };
        if matches!(self.signaling, SignalingState::OfferSent(_)) {
            // str0m invalidates our pending offer when it accepts theirs.
            for s in &mut self.subscriptions {
                s.on_offer_rolled_back();
            }
        }
        self.signaling = SignalingState::Stable;
        self.needs_poll = true;
        let answer = rtc.sdp_api().accept_offer(offer)?;
        // An offer that restarts ICE gives us new credentials: the ingress routes by them.
        self.ice_credentials = rtc.direct_api().local_ice_credentials();
        Ok(answer.to_sdp_string())
    }

    /// Applies the browser's answer to our last offer.
    pub fn accept_answer(&mut self, answer_sdp: &str, out: &mut Outbox) -> Result<(), SfuError> {
        if !matches!(self.signaling, SignalingState::OfferSent(_)) {
            return Err(SfuError::NoPendingOffer(self.id));
        }
        // A garbled answer leaves our offer pending: the client may send a good one.
        let answer =
            SdpAnswer::from_sdp_string(answer_sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let Some(rtc) = self.rtc.as_deref_mut() else {
            return Err(SfuError::NoPendingOffer(self.id));
        };
        let pending = match std::mem::replace(&mut self.signaling, SignalingState::Stable) {
            SignalingState::OfferSent(p) => p,
            other => {
                self.signaling = other;
                return Err(SfuError::NoPendingOffer(self.id));
            }
        };
        self.needs_poll = true;
        rtc.sdp_api().accept_answer(pending, answer)?;
        for s in &mut self.subscriptions {
            let was_opening = matches!(s.negotiation, Negotiation::Opening(_));
            s.on_answer();
            if let (true, Some(mid)) = (was_opening, s.open_mid()) {
                if let Some(stream) = rtc.direct_api().stream_tx_by_mid(mid, None) {
                    stream.set_rtx_cache(RTX_CACHE_PACKETS, RTX_CACHE_AGE, Some(RTX_RATIO_CAP));
                }
                out.events.push_back(SfuEvent::TrackSubscribed {
                    participant: self.id,
                    track: s.track,
                    mid: mid.to_string(),
                });
            }
        }
        // Stopped m-lines are done; str0m may recycle them for later tracks.
        self.subscriptions
            .retain(|s| !matches!(s.negotiation, Negotiation::Stopping(_)));
        // New subscribers need a keyframe to start decoding.
        for s in &self.subscriptions {
            if let Some(layer) = s.layers.target() {
                out.propagated.push_back(Propagated::KeyframeRequest {
                    track: s.track,
                    layer,
                    kind: str0m::media::KeyframeRequestKind::Pli,
                });
            }
        }
        Ok(())
    }

    /// Starts a renegotiation if subscriptions changed and none is in flight.
    /// Returns the offer to send to the browser.
    pub fn negotiate_if_needed(&mut self) -> Option<String> {
        if !matches!(self.signaling, SignalingState::Stable) {
            return None;
        }
        let needed = self
            .subscriptions
            .iter()
            .any(|s| matches!(s.negotiation, Negotiation::ToOpen | Negotiation::ToStop(_)));
        let rtc = self.rtc.as_deref_mut().filter(|_| needed)?;
        let mut change = rtc.sdp_api();
        for s in &mut self.subscriptions {
            match s.negotiation {
                Negotiation::ToOpen => {
                    // One stream per publisher so the browser groups a publisher's
                    // camera and microphone (for lip sync); the track id names the
                    // publisher's m-line so the client can map it to a tile.
                    let stream_id = s.track.publisher.to_string();
                    let track_id = s.track.to_string();
                    let mid = change.add_media(
                        s.kind,
                        Direction::SendOnly,
                        Some(stream_id),
                        Some(track_id),
                        None,
                    );
                    s.negotiation = Negotiation::Opening(mid);
                }
                Negotiation::ToStop(mid) => {
                    change.stop_media(mid);
                    s.negotiation = Negotiation::Stopping(mid);
                }
                _ => {}
            }
        }
        let (offer, pending) = change.apply()?;
        self.signaling = SignalingState::OfferSent(pending);
        self.needs_poll = true;
        Some(offer.to_sdp_string())
    }
}
