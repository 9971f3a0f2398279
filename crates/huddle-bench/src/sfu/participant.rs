//! One synthetic participant: its signaling (join, `sfu_signal` offer and
//! answer, `view`), its str0m peer, what it publishes, and what it counts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use huddle_media::str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use huddle_media::str0m::media::{Direction, MediaKind, Mid, Simulcast, SimulcastLayer};
use serde_json::Value;

use super::peer::{Heard, Peer};
use super::publishing::{Publishing, Sends};
use super::signaling::{self, Signaling};
use super::stamp::Epoch;
use super::tally::{Sequence, Tally};

pub struct Participant {
    signaling: Signaling,
    pub peer: Peer,
    sends: Sends,
    publishing: Option<Publishing>,
    pending: Option<SdpPendingOffer>,
    /// The tile size this participant views others' video at, if it says.
    tile: Option<(u32, u32)>,
    pub join_sent: Instant,
    pub first_media: Option<Instant>,
    sequences: HashMap<Mid, Sequence>,
    inbox: Vec<Value>,
    heard: Vec<Heard>,
    /// Protocol errors the server sent this participant.
    pub errors: Vec<Value>,
}

/// Where a participant's counts go: nowhere outside the measurement window.
pub struct Counting<'a> {
    pub epoch: Epoch,
    pub tally: Option<&'a mut Tally>,
}

impl Participant {
    /// Connects, sends `join` and returns; the rest happens as messages come.
    pub fn join(
        web: SocketAddr,
        sfu: SocketAddr,
        room: &str,
        name: &str,
        sends: Sends,
        tile: Option<(u32, u32)>,
    ) -> anyhow::Result<Self> {
        let mut signaling = Signaling::connect(web)?;
        let now = Instant::now();
        let peer = Peer::new(sfu, now)?;
        let publishes = (!sends.video.is_empty(), sends.audio);
        signaling.send(&signaling::join(room, name, publishes.1, publishes.0))?;
        Ok(Participant {
            signaling,
            peer,
            sends,
            publishing: None,
            pending: None,
            tile,
            join_sent: now,
            first_media: None,
            sequences: HashMap::new(),
            inbox: Vec::new(),
            heard: Vec::new(),
            errors: Vec::new(),
        })
    }

    pub fn peer_fd(&self) -> std::os::fd::RawFd {
        self.peer.fd()
    }

    pub fn signaling_fd(&self) -> std::os::fd::RawFd {
        self.signaling.fd()
    }

    /// Handles what arrived on the WebSocket.
    pub fn on_signaling(&mut self) -> anyhow::Result<()> {
        self.signaling.receive(&mut self.inbox)?;
        for message in std::mem::take(&mut self.inbox) {
            match message["type"].as_str() {
                Some("joined") => self.offer()?,
                Some("sfu_signal") => self.on_sfu_signal(&message)?,
                Some("sfu_track") if message["source"] == "video" => {
                    if let Some((w, h)) = self.tile {
                        let view = signaling::view(&message["participant"], w, h);
                        self.signaling.send(&view)?;
                    }
                }
                Some("error") => self.errors.push(message),
                _ => {}
            }
        }
        Ok(())
    }

    /// The first offer: microphone (mid 0) and camera (mid 1) if it
    /// publishes them, and a data channel, as a browser's.
    fn offer(&mut self) -> anyhow::Result<()> {
        let mut change = self.peer.rtc.sdp_api();
        let audio = self
            .sends
            .audio
            .then(|| change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        let layers = self.sends.video;
        let video = (!layers.is_empty()).then(|| {
            let simulcast = (layers.len() > 1).then(|| {
                let mut s = Simulcast::new();
                for rid in layers.iter().filter_map(|l| l.rid) {
                    s.add_send_layer(SimulcastLayer::new(rid));
                }
                s
            });
            change.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast)
        });
        change.add_channel("chat".into());
        let (offer, pending) = change
            .apply()
            .expect("a data channel always makes an offer");
        self.pending = Some(pending);
        if audio.is_some() || video.is_some() {
            let video = video.map(|mid| (mid, layers));
            self.publishing = Some(Publishing::new(video, audio, Instant::now()));
        }
        self.signaling
            .send(&signaling::description("offer", &offer.to_sdp_string()))
    }

    fn on_sfu_signal(&mut self, message: &Value) -> anyhow::Result<()> {
        let description = &message["signal"]["description"];
        let sdp = description["sdp"].as_str().unwrap_or_default();
        match description["type"].as_str() {
            Some("answer") => {
                if let Some(pending) = self.pending.take() {
                    let answer = SdpAnswer::from_sdp_string(sdp)?;
                    self.peer.rtc.sdp_api().accept_answer(pending, answer)?;
                }
            }
            // While our offer is out ours wins; the SFU offers again after.
            Some("offer") if self.pending.is_none() => {
                let offer = SdpOffer::from_sdp_string(sdp)?;
                let answer = self.peer.rtc.sdp_api().accept_offer(offer)?;
                self.signaling
                    .send(&signaling::description("answer", &answer.to_sdp_string()))?;
            }
            _ => {}
        }
        let mut heard = std::mem::take(&mut self.heard);
        self.peer.poll(&mut heard);
        self.heard = heard;
        Ok(())
    }

    /// Handles the datagrams queued on the peer's socket.
    pub fn on_media(
        &mut self,
        batch: &mut crate::batch::RecvBatch,
        counting: &mut Counting,
    ) -> anyhow::Result<()> {
        self.peer.receive(batch, &mut self.heard)?;
        self.take_heard(counting);
        Ok(())
    }

    /// Sends what is due and handles the `Rtc`'s timeout if it has come.
    pub fn tick(&mut self, now: Instant, counting: &mut Counting) {
        if let Some(publishing) = &mut self.publishing {
            publishing.send_due(&mut self.peer.rtc, counting.epoch, now);
            self.peer.poll(&mut self.heard);
        }
        if self.peer.due(now) {
            self.peer.timeout(now, &mut self.heard);
        }
        self.take_heard(counting);
    }

    pub fn next_publish(&self) -> Option<Instant> {
        self.publishing.as_ref().and_then(Publishing::next_due)
    }

    fn take_heard(&mut self, counting: &mut Counting) {
        for heard in self.heard.drain(..) {
            match heard {
                Heard::KeyframeRequest(r) => {
                    if let Some(p) = &mut self.publishing {
                        p.keyframe_requested(r.mid, r.rid);
                    }
                }
                Heard::Media(frame) => {
                    let now = Instant::now();
                    self.first_media.get_or_insert(now);
                    let Some(stamp) = frame.stamp else {
                        continue;
                    };
                    let gap = self.sequences.entry(frame.mid).or_default().observe(&stamp);
                    if let Some(tally) = counting.tally.as_deref_mut() {
                        let latency = counting.epoch.since(stamp.sent_us, now);
                        tally.record(frame.packets, latency, gap);
                    }
                }
            }
        }
    }
}
