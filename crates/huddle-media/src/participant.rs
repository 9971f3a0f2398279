//! One browser connection: its str0m `Rtc`, what it publishes, what it subscribes to.
//!
//! A participant only talks to its own `Rtc`. Whatever concerns other participants
//! leaves as a [`Propagated`] value in the [`Outbox`], routed by the worker.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::channel::ChannelId;
use str0m::media::{KeyframeRequestKind, MediaAdded, MediaData, MediaKind, Mid};
use str0m::media::{MediaTime, Rid};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

use crate::channel_backlog::{ChannelBacklog, SCTP_REFILL_AT};
use crate::event::{SfuEvent, Transmit};
use crate::forward::{Decision, LayerKey};
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::negotiate::SignalingState;
use crate::outbox::{Outbox, Propagated};
use crate::publisher::PublishedTrack;
use crate::subscription::Subscription;

pub struct Participant {
    pub id: ParticipantId,
    pub room: RoomId,
    pub rtc: Rtc,
    pub signaling: SignalingState,
    pub published: Vec<PublishedTrack>,
    pub subscriptions: Vec<Subscription>,
    pub connected: bool,
    pub ice: IceLink,
    /// Latest egress bandwidth estimate towards this participant, bits per second.
    pub bwe_bps: Option<u64>,
    /// Last (minimum, desired) handed to str0m's estimator.
    bwe_goal: Option<(u64, u64)>,
    pub channels: HashMap<String, ChannelId>,
    /// Others' data channel messages waiting for room in this participant's SCTP buffer.
    pub backlog: ChannelBacklog,
    nacks_seen: HashMap<(Mid, Option<Rid>), u64>,
    /// The `Rtc` may have output: poll it before sleeping.
    pub needs_poll: bool,
    pub next_timeout: Instant,
    /// Assumed size of a publisher's top simulcast layer until a keyframe tells.
    top_layer: (u32, u32),
    pub forwarding: Forwarding,
}

/// Whether the participant's ICE path works. str0m reports `Disconnected` once consent
/// checks stop arriving; the client may then restart ICE with new credentials (an offer
/// through signaling) and keep its session, so the participant stays until a grace passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceLink {
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

/// Outcome of offering one frame to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarded {
    Nothing,
    Written {
        bytes: usize,
        packets: u64,
    },
    /// The subscription waits for a keyframe of this layer.
    NeedKeyframe(LayerKey),
    /// The queue towards the subscriber is over [`MAX_SEND_DELAY`] behind: frame dropped.
    Skipped,
}

/// How far behind the queue towards a subscriber may be (see `send_delay`) before new
/// frames are skipped until it caught up. Past it the subscriber's downlink cannot carry
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
        rtc: Rtc,
        now: Instant,
        top_layer: (u32, u32),
        backlog_cap: usize,
    ) -> Self {
        Participant {
            id,
            room,
            rtc,
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
            needs_poll: true,
            next_timeout: now,
            top_layer,
            forwarding: Forwarding::default(),
        }
    }

    pub fn accepts(&self, input: &Input) -> bool {
        self.rtc.accepts(input)
    }

    pub fn is_alive(&self) -> bool {
        self.rtc.is_alive()
    }

    /// ICE died more than `grace` ago and no restart brought it back.
    pub fn ice_lost_longer_than(&self, now: Instant, grace: Duration) -> bool {
        matches!(self.ice, IceLink::Lost { since } if now.saturating_duration_since(since) > grace)
    }

    /// Feeds input; a session that fails on input is closed, never panics.
    pub fn handle_input(&mut self, input: Input) {
        self.needs_poll = true;
        if let Err(e) = self.rtc.handle_input(input) {
            tracing::info!(participant = %self.id, "closing after rtc input error: {e}");
            self.rtc.disconnect();
        }
    }

    /// Drains the `Rtc` until it asks for a timeout.
    pub fn poll_to_timeout(&mut self, now: Instant, out: &mut Outbox) {
        self.needs_poll = false;
        while self.rtc.is_alive() {
            match self.rtc.poll_output() {
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
                    self.rtc.disconnect();
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
            Event::MediaData(data) => self.on_media_data(data, out),
            Event::KeyframeRequest(req) => {
                let Some(sub) = self
                    .subscriptions
                    .iter()
                    .find(|s| s.open_mid() == Some(req.mid))
                else {
                    return;
                };
                let Some(layer) = sub.layers.current().or(sub.layers.target()) else {
                    return;
                };
                out.propagated.push_back(Propagated::KeyframeRequest {
                    track: sub.track,
                    layer,
                    kind: req.kind,
                });
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                self.bwe_bps = Some(estimate.as_u64());
            }
            Event::EgressBitrateEstimate(BweKind::Remb { estimate, .. }) => {
                self.bwe_bps = Some(estimate.as_u64());
            }
            Event::ChannelOpen(id, label) => {
                if let Some(mut channel) = self.rtc.channel(id) {
                    channel.set_buffered_amount_low_threshold(SCTP_REFILL_AT);
                }
                self.channels.insert(label, id);
            }
            Event::ChannelClose(id) => {
                self.channels.retain(|_, c| *c != id);
                out.stats.data_channel_dropped += self.backlog.forget(id);
            }
            // Any channel's buffer going low frees room in the shared buffer: refill all.
            Event::ChannelBufferedAmountLow(_) => {
                out.stats.data_channel_dropped += self.backlog.drain(&mut self.rtc);
            }
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

    fn on_media_added(&mut self, added: MediaAdded, out: &mut Outbox) {
        // Our own send-only m-lines (subscriptions) never raise MediaAdded; a remote
        // m-line we cannot receive on is not a publication.
        if !added.direction.is_receiving() {
            return;
        }
        if self.published.iter().any(|t| t.mid == added.mid) {
            return;
        }
        let rids: Vec<Rid> = added
            .simulcast
            .map(|s| s.recv.iter().map(|l| l.rid).collect())
            .unwrap_or_default();
        let msid_track = self
            .rtc
            .media(added.mid)
            .map(|m| m.track_id().to_string())
            .unwrap_or_default();
        let top = self.top_layer;
        self.published
            .push(PublishedTrack::new(added.mid, added.kind, &rids, top));
        out.propagated.push_back(Propagated::TrackPublished {
            from: self.id,
            mid: added.mid,
            kind: added.kind,
            rids,
            msid_track,
        });
    }

    pub fn unpublish(&mut self, mid: Mid, out: &mut Outbox) {
        let before = self.published.len();
        self.published.retain(|t| t.mid != mid);
        if self.published.len() != before {
            out.propagated.push_back(Propagated::TrackUnpublished {
                room: self.room,
                track: TrackId {
                    publisher: self.id,
                    mid,
                },
            });
        }
    }

    fn on_media_data(&mut self, data: MediaData, out: &mut Outbox) {
        let Some(track) = self.published.iter_mut().find(|t| t.mid == data.mid) else {
            return;
        };
        if !self.forwarding.allows(track.kind) {
            return;
        }
        let now = data.network_time;
        let key = LayerKey(data.rid);
        let broken = track.on_frame(key, &data.data, data.is_keyframe(), data.contiguous, now);
        if track.kind == MediaKind::Audio {
            if let Some(level) = data.ext_vals.audio_level {
                out.propagated.push_back(Propagated::AudioLevel {
                    from: self.id,
                    level,
                });
            }
        } else if broken
            && track.request_keyframe(&mut self.rtc, key, KeyframeRequestKind::Pli, now)
        {
            // Lost packets the NACKs could not recover: decoders downstream are broken
            // until the next keyframe (retried on every tick until it comes).
            out.stats.keyframe_requests += 1;
        }
        out.propagated.push_back(Propagated::Media {
            from: self.id,
            data,
        });
    }

    /// Asks str0m's estimator to probe up to what the tiles would take, when that is
    /// above the current estimate. Never lowers it: with a desired rate below the
    /// estimate, str0m's estimate sinks towards it while the sender is app-limited,
    /// and a later raise did not probe it back up in our tests.
    /// Only on a >10% change: each call may start a probe.
    pub fn set_bwe_goal(&mut self, minimum_bps: u64, desired_bps: u64) {
        let desired_bps = desired_bps.max(minimum_bps);
        if desired_bps == 0 || self.bwe_bps.is_some_and(|e| desired_bps <= e) {
            return;
        }
        let changed = self
            .bwe_goal
            .is_none_or(|(_, d)| d.abs_diff(desired_bps) * 10 > d);
        if !changed {
            return;
        }
        self.bwe_goal = Some((minimum_bps, desired_bps));
        self.rtc
            .bwe()
            .set_bitrate(Bitrate::bps(minimum_bps), Bitrate::bps(desired_bps));
        self.needs_poll = true;
    }

    /// Offers one frame of `track` to this participant as a subscriber.
    pub fn forward(&mut self, track: TrackId, data: &MediaData) -> Forwarded {
        if !self.connected {
            return Forwarded::Nothing;
        }
        let Some(sub) = self.subscriptions.iter_mut().find(|s| s.track == track) else {
            return Forwarded::Nothing;
        };
        let Some(mid) = sub.open_mid() else {
            return Forwarded::Nothing;
        };
        let (switched, frame_ticks) = if sub.kind == MediaKind::Video {
            if send_delay(&mut self.rtc, mid, self.bwe_bps, data.network_time) > MAX_SEND_DELAY {
                // Behind: what is queued still goes out, and the subscription starts
                // again at a keyframe once it did (asked for when the next frame comes).
                sub.layers.restart();
                return Forwarded::Skipped;
            }
            match sub.layers.on_frame(LayerKey(data.rid), data.is_keyframe()) {
                Decision::Drop => {
                    return match sub.layers.target() {
                        Some(t) if sub.layers.awaiting_keyframe() => Forwarded::NeedKeyframe(t),
                        _ => Forwarded::Nothing,
                    };
                }
                Decision::Forward => (false, 0),
                // One frame at 30 fps on the 90 kHz video clock.
                Decision::ForwardSwitched => (true, 3000),
            }
        } else {
            (false, 0)
        };
        let time = sub.rebase.map(data.time.numer(), switched, frame_ticks);
        let time = MediaTime::new(time, data.time.frequency());
        let Some(writer) = self.rtc.writer(mid) else {
            return Forwarded::Nothing;
        };
        let from = data.params.pt();
        let pt = match sub.payload_type {
            Some((cached, pt)) if cached == from => pt,
            _ => {
                let Some(pt) = writer.match_params(data.params) else {
                    return Forwarded::Nothing;
                };
                sub.payload_type = Some((from, pt));
                pt
            }
        };
        let writer = match data.ext_vals.audio_level {
            Some(level) => writer.audio_level(level, data.ext_vals.voice_activity.unwrap_or(false)),
            None => writer,
        };
        self.needs_poll = true;
        match writer.write(pt, data.network_time, time, data.data.clone()) {
            Ok(()) => Forwarded::Written {
                bytes: data.data.len(),
                packets: packets_in(data),
            },
            Err(e) => {
                tracing::debug!(participant = %self.id, "write failed: {e}");

                Forwarded::Nothing
            }
        }
    }
}

/// How far behind the queue on `mid` towards this participant is: the longer of how long
/// its oldest packet waited and how long what it holds takes to send at the estimate
/// `bwe_bps` (what is written now waits that long).
fn send_delay(rtc: &mut Rtc, mid: Mid, bwe_bps: Option<u64>, now: Instant) -> Duration {
    let mut api = rtc.direct_api();
    let Some(queue) = api
        .stream_tx_by_mid(mid, None)
        .and_then(|stream| stream.queue_info())
    else {
        return Duration::ZERO;
    };
    let waited = queue
        .first_unsent()
        .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
    let to_send = bwe_bps
        .filter(|bps| *bps > 0)
        .map_or(Duration::ZERO, |bps| {
            Duration::from_secs_f64(queue.byte_size() as f64 * 8.0 / bps as f64)
        });
    waited.max(to_send)
}

fn packets_in(data: &MediaData) -> u64 {
    let start: u64 = **data.seq_range.start();
    let end: u64 = **data.seq_range.end();
    end.saturating_sub(start).saturating_add(1)
}
