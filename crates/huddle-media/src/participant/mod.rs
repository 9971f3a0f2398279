//! One browser connection: its str0m `Rtc`, what it publishes, what it subscribes to.
//!
//! A participant only talks to its own `Rtc`, and keeps its own rules: every change goes
//! through a method here, which also marks the `Rtc` for polling when it may have output.
//! Whatever concerns other participants leaves as a [`Propagated`] value in the [`Outbox`],
//! routed by the worker.

mod connection;
mod negotiate;
mod publishing;
mod receiving;
mod shed;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::bwe::BweKind;
use str0m::channel::ChannelId;
use str0m::media::{MediaKind, Mid, Rid};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc};

use crate::channel_backlog::{ChannelBacklog, SCTP_REFILL_AT};
use crate::event::{SfuEvent, Transmit};
use crate::forward::LayerKey;
use crate::ids::{ParticipantId, RoomId};
use crate::outbox::{Outbox, Propagated};
use crate::publisher::PublishedTrack;
use crate::subscription::Subscription;

pub use connection::RtcRecipe;
use negotiate::SignalingState;
pub use publishing::TrackLayers;

pub struct Participant {
    id: ParticipantId,
    room: RoomId,
    /// Chosen at the join, so the ingress can route the client's first STUN request to
    /// this worker; the `Rtc` gets them when the first offer builds it, and new ones when
    /// an offer restarts ICE.
    ice_credentials: IceCreds,
    /// Built at the browser's first offer (see [`RtcRecipe`]).
    rtc: Option<Box<Rtc>>,
    signaling: SignalingState,
    published: Vec<PublishedTrack>,
    subscriptions: Vec<Subscription>,
    connected: bool,
    ice: IceLink,
    /// Latest egress bandwidth estimate towards this participant, bits per second.
    bwe_bps: Option<u64>,
    /// Last (minimum, desired) handed to str0m's estimator.
    bwe_goal: Option<(u64, u64)>,
    channels: HashMap<String, ChannelId>,
    /// Others' data channel messages waiting for room in this participant's SCTP buffer.
    backlog: ChannelBacklog,
    nacks_seen: HashMap<(Mid, Option<Rid>), u64>,
    /// The `Rtc` may have output: poll it before sleeping.
    needs_poll: bool,
    next_timeout: Instant,
    /// Assumed size of a publisher's top simulcast layer until a keyframe tells.
    top_layer: (u32, u32),
    forwarding: Forwarding,
}

/// Whether the participant's ICE path works. str0m reports `Disconnected` once consent
/// checks stop arriving; the client may then restart ICE with new credentials (an offer
/// through signaling) and keep its session, so the participant stays until a grace passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IceLink {
    Up,
    Lost { since: Instant },
}

/// Which kinds of a publisher's media the SFU forwards. Everything by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarding {
    pub audio: bool,
    /// Camera and screen share.
    pub video: bool,
}

impl Default for Forwarding {
    fn default() -> Self {
        Self {
            audio: true,
            video: true,
        }
    }
}

impl Forwarding {
    pub const NOTHING: Self = Self {
        audio: false,
        video: false,
    };

    pub fn allows(self, kind: MediaKind) -> bool {
        match kind {
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
        }
    }
}

/// Outcome of offering one packet to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarded {
    Nothing,
    /// One packet.
    Written {
        bytes: usize,
        /// How long the oldest packet of the video queue towards the subscriber had waited, when
        /// a video frame begins (none for audio and the rest of a frame).
        waited: Option<Duration>,
    },
    /// The subscription waits for a keyframe of this layer.
    NeedKeyframe(LayerKey),
    /// The queue towards the subscriber is over its bound behind ([`MAX_SEND_DELAY`], or the
    /// worker's delay bound while it sheds): the frame it begins is dropped.
    Skipped {
        waited: Duration,
    },
}

/// How far behind the queue towards a subscriber may be (see `SendQueue::behind`) before new
/// frames are skipped until it caught up (the worker's delay bound instead while it sheds load:
/// then the queues are behind because the worker is short of CPU to send, not the link). Past it the subscriber's downlink cannot carry
/// the layer (a track without simulcast, or one whose lowest layer is above the estimate):
/// fewer frames at a bounded delay beat a delay that only grows (tests/slow_subscriber.rs).
/// Well above the few hundred ms str0m's pacer takes to send a keyframe at the estimate;
/// at 500 ms a subscriber behind 20% loss (retransmissions on top of the layer) already
/// lost frames to it (tests/nack.rs).
pub const MAX_SEND_DELAY: Duration = Duration::from_millis(800);

impl Participant {
    pub fn new(
        id: ParticipantId,
        room: RoomId,
        now: Instant,
        top_layer: (u32, u32),
        backlog_cap: usize,
    ) -> Self {
        Participant {
            id,
            room,
            ice_credentials: IceCreds::new(),
            rtc: None,
            signaling: SignalingState::AwaitingOffer,
            published: vec![],
            subscriptions: vec![],
            connected: false,
            ice: IceLink::Up,
            bwe_bps: None,
            bwe_goal: None,
            channels: HashMap::new(),
            backlog: ChannelBacklog::new(backlog_cap),
            nacks_seen: HashMap::new(),
            needs_poll: false,
            next_timeout: now,
            top_layer,
            forwarding: Forwarding::default(),
        }
    }

    pub fn id(&self) -> ParticipantId {
        self.id
    }

    pub fn room(&self) -> RoomId {
        self.room
    }

    /// The STUN USERNAME prefix of this participant's ICE.
    pub fn ice_ufrag(&self) -> &str {
        &self.ice_credentials.ufrag
    }

    pub fn set_forwarding(&mut self, forwarding: Forwarding) {
        self.forwarding = forwarding;
    }

    pub fn accepts(&self, input: &Input) -> bool {
        self.rtc.as_ref().is_some_and(|rtc| rtc.accepts(input))
    }

    /// A participant without an `Rtc` yet is alive: it waits for its first offer.
    pub fn is_alive(&self) -> bool {
        self.rtc.as_ref().is_none_or(|rtc| rtc.is_alive())
    }

    /// ICE died more than `grace` ago and no restart brought it back.
    pub fn ice_lost_longer_than(&self, now: Instant, grace: Duration) -> bool {
        matches!(self.ice, IceLink::Lost { since } if now.saturating_duration_since(since) > grace)
    }

    pub fn needs_poll(&self) -> bool {
        self.needs_poll
    }

    /// When the `Rtc` next needs time; none before it exists.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.rtc.as_ref().map(|_| self.next_timeout)
    }

    /// Feeds input; a session that fails on input is closed, never panics.
    pub fn handle_input(&mut self, input: Input) {
        let Some(rtc) = self.rtc.as_mut() else {
            return;
        };
        self.needs_poll = true;
        if let Err(e) = rtc.handle_input(input) {
            tracing::info!(participant = %self.id, "closing after rtc input error: {e}");
            rtc.disconnect();
        }
    }

    /// A trickled ICE candidate from the browser; kept only once its offer made the `Rtc`.
    pub fn add_remote_candidate(&mut self, candidate: Candidate) {
        if let Some(rtc) = self.rtc.as_mut() {
            rtc.add_remote_candidate(candidate);
            self.needs_poll = true;
        }
    }

    /// Ends the session: its tracks are unpublished for the others.
    pub fn leave(&mut self, out: &mut Outbox) {
        if let Some(rtc) = self.rtc.as_mut() {
            rtc.disconnect();
        }
        let mids: Vec<_> = self.published.iter().map(|t| t.mid).collect();
        for mid in mids {
            self.unpublish(mid, out);
        }
    }

    /// Drains the `Rtc` until it asks for a timeout.
    pub fn poll_to_timeout(&mut self, now: Instant, out: &mut Outbox) {
        self.needs_poll = false;
        loop {
            let Some(rtc) = self.rtc.as_mut().filter(|rtc| rtc.is_alive()) else {
                return;
            };
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => out.transmits.push_back(Transmit {
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents.into(),
                }),
                Ok(Output::Event(e)) => self.on_event(e, now, out),
                Err(e) => {
                    tracing::info!(participant = %self.id, "closing after rtc error: {e}");
                    rtc.disconnect();
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, now: Instant, out: &mut Outbox) {
        match event {
            Event::Connected => {
                self.connected = true;
                // Anything "forwarded" before now never reached the decoder.
                for s in &mut self.subscriptions {
                    s.layers.restart();
                }
                out.events.push_back(SfuEvent::Connected {
                    room: self.room,
                    participant: self.id,
                });
            }
            Event::IceConnectionStateChange(state) => self.on_ice_state(state, now),
            Event::MediaAdded(added) => self.on_media_added(added, out),
            // The browser stopped sending (removeTrack, transceiver stopped). Our own
            // subscription m-lines have other mids, so they never match a publication.
            Event::MediaChanged(changed) if !changed.direction.is_receiving() => {
                self.unpublish(changed.mid, out);
            }
            Event::RtpPacket(rtp) => self.on_rtp_packet(rtp, out),
            Event::KeyframeRequest(req) => self.on_keyframe_request(req, out),
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                self.bwe_bps = Some(estimate.as_u64());
            }
            Event::EgressBitrateEstimate(BweKind::Remb { estimate, .. }) => {
                self.bwe_bps = Some(estimate.as_u64());
            }
            Event::ChannelOpen(id, label) => {
                if let Some(mut channel) = self.rtc.as_mut().and_then(|rtc| rtc.channel(id)) {
                    channel.set_buffered_amount_low_threshold(SCTP_REFILL_AT);
                }
                self.channels.insert(label, id);
            }
            Event::ChannelClose(id) => {
                self.channels.retain(|_, c| *c != id);
                out.stats.data_channel_dropped += self.backlog.forget(id);
            }
            // Any channel's buffer going low frees room in the shared buffer: refill all.
            Event::ChannelBufferedAmountLow(_) => self.drain_channel_backlog(out),
            Event::ChannelData(d) => {
                let Some(label) = self.channels.iter().find(|(_, c)| **c == d.id) else {
                    return;
                };
                out.propagated.push_back(Propagated::ChannelData {
                    from: self.id,
                    label: label.0.clone(),
                    binary: d.binary,
                    data: d.data,
                });
            }
            Event::MediaIngressStats(s) => {
                // str0m reports running totals per layer; the SFU counts deltas.
                let seen = self.nacks_seen.entry((s.mid, s.rid)).or_insert(0);
                out.stats.nacks += s.nacks.saturating_sub(*seen);
                *seen = s.nacks;
            }
            _ => {}
        }
    }

    fn on_ice_state(&mut self, state: IceConnectionState, now: Instant) {
        match (self.ice, state) {
            (IceLink::Up, IceConnectionState::Disconnected) => {
                tracing::info!(participant = %self.id, "ICE lost; waiting for an ICE restart");
                self.ice = IceLink::Lost { since: now };
            }
            (
                IceLink::Lost { .. },
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) => {
                tracing::info!(participant = %self.id, "ICE back");
                self.ice = IceLink::Up;
            }
            _ => {}
        }
    }
}
