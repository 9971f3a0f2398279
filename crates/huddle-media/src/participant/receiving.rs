//! The receiving side of a participant: what it gets of others' tracks, at which layer,
//! and others' data channel messages.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::media::{KeyframeRequest, KeyframeRequestKind, MediaKind};
use str0m::rtp::StreamTx;

use super::{Forwarded, Participant, TrackLayers};
use crate::channel_backlog::Delivery;
use crate::forward::Decision;
use crate::ids::TrackId;
use crate::layer::UP_HEADROOM_PERCENT;
use crate::layer::{damp_upswitch, select_layer, video_budget_per_track, SubscriptionSpec};
use crate::outbox::{Outbox, Propagated};
use crate::packet::Packet;
use crate::subscription::Subscription;

/// Rough bitrate of one Opus stream, reserved before video.
const AUDIO_BPS: u64 = 64_000;

impl Participant {
    /// Subscribes to `track` unless already subscribed (the m-line comes by renegotiation).
    pub fn subscribe(&mut self, track: TrackId, kind: MediaKind) {
        if !self.subscriptions.iter().any(|s| s.track == track) {
            self.subscriptions.push(Subscription::new(track, kind));
        }
    }

    /// What the participant wants of a track it subscribes to: visibility and tile size.
    pub fn set_spec(&mut self, track: TrackId, spec: SubscriptionSpec) {
        if let Some(s) = self.subscriptions.iter_mut().find(|s| s.track == track) {
            s.spec = spec;
        }
    }

    /// Stops getting `track` (its m-line is stopped by renegotiation).
    pub fn unsubscribe(&mut self, track: TrackId) {
        self.subscriptions
            .retain_mut(|s| s.track != track || s.stop());
    }

    /// The browser asks for a keyframe on one of our m-lines: its publisher is asked.
    pub(super) fn on_keyframe_request(&mut self, req: KeyframeRequest, out: &mut Outbox) {
        let Some(sub) = self
            .subscriptions
            .iter()
            .find(|s| s.open_mid() == Some(req.mid))
        else {
            return;
        };
        // Its decoder misses the frames it is not sent, and asks on every one of them: a keyframe
        // for it comes with the worker's refresh.
        if sub.keyframes_only {
            return;
        }
        let Some(layer) = sub.layers.current().or(sub.layers.target()) else {
            return;
        };
        out.propagated.push_back(Propagated::KeyframeRequest {
            track: sub.track,
            layer,
            kind: req.kind,
        });
    }

    /// Hands another participant's (sealed) data channel message to this one's channel of
    /// the same label, else its first channel; what cannot be written waits in the backlog.
    pub fn deliver_channel_data(&mut self, label: &str, sealed: &[u8], out: &mut Outbox) {
        let Some(rtc) = self.rtc.as_deref_mut() else {
            return;
        };
        let Some(id) = self.channels.get(label).or(self.channels.values().next()) else {
            return;
        };
        match self.backlog.send(rtc, *id, true, sealed) {
            Delivery::Written => self.needs_poll = true,
            Delivery::Queued => {}
            Delivery::Dropped => {
                tracing::debug!(participant = %self.id, "data channel message dropped");
                out.stats.data_channel_dropped += 1;
            }
        }
    }

    /// Writes what waits in the data channel backlog while str0m takes it.
    pub fn drain_channel_backlog(&mut self, out: &mut Outbox) {
        let Some(rtc) = self.rtc.as_deref_mut() else {
            return;
        };
        if self.backlog.is_empty() {
            return;
        }
        out.stats.data_channel_dropped += self.backlog.drain(rtc);
        self.needs_poll = true;
    }

    /// Chooses each video subscription's layer within this participant's bandwidth
    /// estimate (one lower when the worker sheds load), and asks the estimator to probe for
    /// what the tiles would want.
    pub fn select_layers(
        &mut self,
        published: &HashMap<TrackId, TrackLayers>,
        lower: bool,
        out: &mut Outbox,
    ) {
        let audio = self
            .subscriptions
            .iter()
            .filter(|s| s.kind == MediaKind::Audio)
            .count();
        // A tile whose publisher sends no video (camera off) costs nothing: it takes no share.
        let visible_video = self
            .subscriptions
            .iter()
            .filter(|s| s.kind == MediaKind::Video && s.spec.visible)
            .filter(|s| {
                published
                    .get(&s.track)
                    .is_some_and(|t| t.infos.iter().any(|l| l.active))
            })
            .count();
        let budget = video_budget_per_track(self.bwe_bps, audio, visible_video);
        // What the chosen layers cost now, and what the tiles would want with
        // unlimited bandwidth: the estimator keeps the first and probes for the second.
        let mut sending_bps = AUDIO_BPS * audio as u64;
        let mut wanted_bps = sending_bps;
        for s in self.subscriptions.iter_mut() {
            if s.kind != MediaKind::Video || s.open_mid().is_none() {
                continue;
            }
            let Some(TrackLayers { infos, keys }) = published.get(&s.track) else {
                continue;
            };
            let previous = s
                .layers
                .target()
                .and_then(|t| keys.iter().position(|k| *k == t));
            let next = select_layer(infos, &s.spec, budget);
            let chosen = damp_upswitch(previous, next, infos, budget);
            let chosen = if lower {
                chosen.map(|i| layer_below(infos, i))
            } else {
                chosen
            };
            let chosen_bps = chosen.map_or(0, |i| infos[i].bitrate_bps);
            sending_bps += chosen_bps;
            // Probe only where more bandwidth would buy a higher layer: probing
            // for a single-layer track gains nothing, and in our tests a probe
            // towards a never-measured layer's nominal rate made str0m's
            // estimate collapse instead of grow.
            wanted_bps += match select_layer(infos, &s.spec, None) {
                Some(w) if Some(w) > chosen => infos[w].bitrate_bps,
                _ => chosen_bps,
            };
            let target = chosen.map(|i| keys[i]);
            if target != s.layers.target() {
                s.layers.set_target(target);
            }
            if self.connected && s.layers.awaiting_keyframe() && !s.keyframes_only {
                if let Some(layer) = target {
                    out.propagated.push_back(Propagated::KeyframeRequest {
                        track: s.track,
                        layer,
                        kind: KeyframeRequestKind::Pli,
                    });
                }
            }
        }
        // Ask for the up-switch headroom too, or the damping would never let go.
        if wanted_bps > sending_bps {
            self.set_bwe_goal(
                sending_bps,
                wanted_bps.saturating_mul(UP_HEADROOM_PERCENT) / 100,
            );
        }
    }

    /// Asks str0m's estimator to probe up to what the tiles would take, when that is
    /// above the current estimate. Never lowers it: with a desired rate below the
    /// estimate, str0m's estimate sinks towards it while the sender is app-limited,
    /// and a later raise did not probe it back up in our tests.
    /// Only on a >10% change: each call may start a probe.
    fn set_bwe_goal(&mut self, minimum_bps: u64, desired_bps: u64) {
        let Some(rtc) = self.rtc.as_deref_mut() else {
            return;
        };
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
        rtc.bwe()
            .set_bitrate(Bitrate::bps(minimum_bps), Bitrate::bps(desired_bps));
        self.needs_poll = true;
    }

    /// Offers one packet of `track` to this participant as a subscriber; a video frame is skipped
    /// when the queue towards it is more than `max_send_delay` behind as the frame begins.
    pub fn forward(
        &mut self,
        track: TrackId,
        packet: &Packet,
        max_send_delay: Duration,
    ) -> Forwarded {
        let Some(rtc) = self.rtc.as_deref_mut().filter(|_| self.connected) else {
            return Forwarded::Nothing;
        };
        let Some(sub) = self.subscriptions.iter_mut().find(|s| s.track == track) else {
            return Forwarded::Nothing;
        };
        let (Some(mid), Some(pt)) = (sub.open_mid(), sub.payload_type(packet, rtc.codec_config()))
        else {
            return Forwarded::Nothing;
        };
        let mut api = rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return Forwarded::Nothing;
        };
        let (new_run, waited) = if sub.kind == MediaKind::Video {
            match admit_video(sub, stream, packet, self.bwe_bps, max_send_delay) {
                Ok(admitted) => admitted,
                Err(outcome) => return outcome,
            }
        } else {
            // A publisher's audio that started again is numbered anew from its next packet.
            (packet.restart, None)
        };
        let Some(write) = sub.rewrite(packet, pt, new_run) else {
            return Forwarded::Nothing;
        };
        stream.write_rtp(write);
        // str0m's pacer hands out what was written on its next timeout, not when polled: make
        // that timeout due rather than poll now, which would only say so (a full poll of the
        // session per packet and subscriber).
        self.next_timeout = self.next_timeout.min(packet.network_time);
        Forwarded::Written {
            bytes: packet.payload.len(),
            waited,
        }
    }
}

/// Whether a video packet goes to `sub`, and if so whether it opens a run and how long the queue
/// towards the subscriber had waited as its frame began; else what became of it.
fn admit_video(
    sub: &mut Subscription,
    stream: &StreamTx,
    packet: &Packet,
    bwe_bps: Option<u64>,
    max_send_delay: Duration,
) -> Result<(bool, Option<Duration>), Forwarded> {
    if packet.restart {
        // The publisher's stream started again, numbered anew: from its next keyframe.
        sub.layers.restart();
    }
    let mut waited = None;
    if packet.frame_start {
        let queue = send_queue(stream, bwe_bps, packet.network_time);
        if queue.behind() > max_send_delay {
            // Behind: what is queued still goes out, and the subscription starts
            // again at a keyframe once it did (asked for when the next frame comes).
            sub.layers.restart();
            return Err(Forwarded::Skipped {
                waited: queue.waited,
            });
        }
        waited = Some(queue.waited);
        if sub.keyframes_only && !packet.keyframe {
            // The run ends before this delta frame; the next keyframe opens another.
            sub.layers.restart();
        }
    }
    match sub.layers.on_packet(packet.layer, packet.keyframe) {
        Decision::Forward => Ok((false, waited)),
        Decision::ForwardSwitched => Ok((true, waited)),
        // Asked once a frame; keyframes-only subscriptions get theirs with the worker's refresh.
        Decision::Drop => Err(match sub.layers.target() {
            Some(t)
                if packet.frame_start && sub.layers.awaiting_keyframe() && !sub.keyframes_only =>
            {
                Forwarded::NeedKeyframe(t)
            }
            _ => Forwarded::Nothing,
        }),
    }
}

/// The active layer below `index`, or `index` itself when it is the lowest.
fn layer_below(infos: &[crate::layer::LayerInfo], index: usize) -> usize {
    (0..index).rev().find(|&i| infos[i].active).unwrap_or(index)
}

/// The queue on one of a subscriber's m-lines.
#[derive(Debug, Clone, Copy, Default)]
struct SendQueue {
    /// How long its oldest packet waited: a worker short of CPU to send makes this grow.
    waited: Duration,
    /// How long what it holds takes to send at the bandwidth estimate: a slow link makes this grow.
    to_send: Duration,
}

impl SendQueue {
    /// How far behind it is: what is written now waits at least this long.
    fn behind(&self) -> Duration {
        self.waited.max(self.to_send)
    }
}

fn send_queue(stream: &StreamTx, bwe_bps: Option<u64>, now: Instant) -> SendQueue {
    let Some(queue) = stream.queue_info() else {
        return SendQueue::default();
    };
    let waited = queue
        .first_unsent()
        .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
    let to_send = bwe_bps
        .filter(|bps| *bps > 0)
        .map_or(Duration::ZERO, |bps| {
            Duration::from_secs_f64(queue.byte_size() as f64 * 8.0 / bps as f64)
        });
    SendQueue { waited, to_send }
}
