//! In-memory test bench: one `Sfu` and several str0m client `Rtc`s with fake IPs and
//! a fake clock. No socket is opened. Packets are delivered on the next step.
#![allow(dead_code)]

mod client;
// Not every test file uses every helper.
#[allow(unused_imports)]
pub use client::{h264_frame, layer_frame_size, vp8_frame, Client};

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use huddle_media::str0m::change::{SdpAnswer, SdpOffer};
use huddle_media::str0m::media::{Direction, MediaKind};
use huddle_media::str0m::media::{Simulcast, SimulcastLayer};
use huddle_media::str0m::net::{Protocol, Receive};
use huddle_media::str0m::{Candidate, Event, Input, Output as RtcOutput, Rtc};
use huddle_media::{
    Arrival, Output, ParticipantId, Relay, RoomId, Sfu, SfuConfig, SfuEvent, TrackId,
};

/// Fake clock step. Keep it small: with coarse steps every packet of a step is sent
/// and received at the same instant, and str0m's delay-based bandwidth estimator
/// reads the bunching as congestion (5 ms steps collapsed a 3 Mbit/s estimate to 300k).
pub const STEP: Duration = Duration::from_millis(1);
/// The largest datagram a slow downlink must still be able to deliver.
const MTU: usize = 1500;
pub const ROOM: RoomId = RoomId(1);

pub fn sfu_addr() -> SocketAddr {
    (Ipv4Addr::new(3, 3, 3, 3), 7882).into()
}

pub(super) struct Datagram {
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    pub(super) contents: Vec<u8>,
}

pub struct Bench {
    pub now: Instant,
    pub start: Instant,
    /// Worker 0 of the room; `more_workers` are workers 1.. of a room spread over several.
    pub sfu: Sfu,
    pub more_workers: Vec<Sfu>,
    /// Values between workers, delivered within the step: (to, from, relay).
    relays: VecDeque<(usize, usize, Relay)>,
    /// Packets that crossed from one worker to another.
    pub packets_relayed: usize,
    pub clients: Vec<Client>,
    pub sfu_events: Vec<SfuEvent>,
    sfu_inbox: VecDeque<Datagram>,
    /// Drop every n-th RTP datagram from clients to the SFU (0 = no loss).
    pub uplink_loss_every: usize,
    uplink_count: usize,
    /// Drop RTP datagrams from the SFU to clients at random, one in n on average (0 = no
    /// loss). Random rather than every n-th: a fixed period can hit a retransmission each time.
    pub downlink_loss_one_in: u64,
    /// The xorshift state of the downlink's losses: each seed is another loss pattern.
    pub downlink_random: u64,
    /// How long every datagram to the SFU waited in its worker's queue: a saturated worker.
    pub uplink_queue_delay: Duration,
}

/// What a client publishes in its first offer.
#[derive(Debug, Clone, Copy)]
pub struct Publish {
    pub video: bool,
    pub audio: bool,
    /// Send the video as three simulcast layers "q", "h", "f".
    pub simulcast: bool,
}

pub const AV: Publish = Publish {
    video: true,
    audio: true,
    simulcast: false,
};
pub const NOTHING: Publish = Publish {
    video: false,
    audio: false,
    simulcast: false,
};
pub const SIMULCAST: Publish = Publish {
    video: true,
    audio: false,
    simulcast: true,
};

impl Bench {
    pub fn new() -> Self {
        Self::with_config(|c| c)
    }

    pub fn with_config(f: impl FnOnce(SfuConfig) -> SfuConfig) -> Self {
        Self::with_workers(1, f)
    }

    /// A room on `workers` SFU workers joined by [`Bench::join_on`], told of each other by
    /// [`Bench::spread`] as the driver does.
    pub fn with_workers(workers: usize, f: impl FnOnce(SfuConfig) -> SfuConfig) -> Self {
        init_log();
        let now = Instant::now();
        let config = f(SfuConfig::new(sfu_addr()));
        Bench {
            now,
            start: now,
            more_workers: (1..workers)
                .map(|_| Sfu::new(config.clone(), now))
                .collect(),
            relays: VecDeque::new(),
            packets_relayed: 0,
            sfu: Sfu::new(config, now),
            clients: vec![],
            sfu_events: vec![],
            sfu_inbox: VecDeque::new(),
            uplink_loss_every: 0,
            uplink_count: 0,
            downlink_loss_one_in: 0,
            downlink_random: 0x9e37_79b9_7f4a_7c15,
            uplink_queue_delay: Duration::ZERO,
        }
    }

    pub fn worker(&mut self, worker: usize) -> &mut Sfu {
        match worker {
            0 => &mut self.sfu,
            w => &mut self.more_workers[w - 1],
        }
    }

    /// A client joins ROOM and negotiates what it publishes. Returns its index.
    pub fn join(&mut self, publish: Publish) -> usize {
        self.join_on(0, publish)
    }

    /// A client joins ROOM on one worker of the room.
    pub fn join_on(&mut self, worker: usize, publish: Publish) -> usize {
        let n = self.clients.len() as u8 + 1;
        let addr: SocketAddr = (Ipv4Addr::new(1, 1, 1, n), 1000 + n as u16).into();
        let client = self.session(
            worker,
            ParticipantId(n as u64),
            addr,
            publish,
            Arrival::Newcomer,
        );
        self.clients.push(client);
        self.clients.len() - 1
    }

    /// A client's session moves to another worker of the room: it leaves its worker and
    /// connects anew (another port, a fresh `Rtc`) as the same participant on `worker`, as a
    /// reconnecting member placed elsewhere does.
    pub fn move_to(&mut self, client: usize, worker: usize) {
        let old = &self.clients[client];
        let (id, from) = (old.id, old.worker);
        let addr = SocketAddr::new(old.addr.ip(), old.addr.port() + 100);
        let publish = Publish {
            video: old.video_mid.is_some(),
            audio: old.audio_mid.is_some(),
            simulcast: old.simulcast,
        };
        self.worker(from).leave(id);
        self.clients[client] = self.session(worker, id, addr, publish, Arrival::Member);
    }

    /// A client's session on `worker`: joined, offered and answered, not connected yet.
    fn session(
        &mut self,
        worker: usize,
        id: ParticipantId,
        addr: SocketAddr,
        publish: Publish,
        arrival: Arrival,
    ) -> Client {
        let mut rtc = Rtc::builder().build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        self.worker(worker).join(ROOM, id, arrival).expect("join");

        let mut change = rtc.sdp_api();
        let video_mid = publish.video.then(|| {
            let simulcast = publish.simulcast.then(|| {
                let mut s = Simulcast::new();
                for rid in ["q", "h", "f"] {
                    s.add_send_layer(SimulcastLayer::new(rid));
                }
                s
            });
            change.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast)
        });
        let audio_mid = publish
            .audio
            .then(|| change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        change.add_channel("chat".into());
        let (offer, pending) = change.apply().expect("an offer");
        let answer = self
            .worker(worker)
            .accept_offer(id, &offer.to_sdp_string())
            .expect("sfu answers");
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .expect("client accepts answer");

        Client {
            id,
            worker,
            rtc,
            addr,
            events: vec![],
            inbox: VecDeque::new(),
            auto_answer: true,
            downlink: None,
            downlink_credit: 0,
            offline: false,
            video_mid,
            audio_mid,
            screen_mid: None,
            simulcast: publish.simulcast,
            codec: huddle_media::str0m::format::Codec::Vp8,
            keyframe_requests: 0,
            audio_level: -30,
            frame: 0,
            audio_packets: 0,
        }
    }

    /// One step of the fake clock: every party handles what arrived and its timeouts.
    /// Each party is polled after every datagram, as the driver and browsers do:
    /// str0m's DTLS holds received records until polled and refuses more than 30.
    pub fn progress(&mut self) {
        self.now += STEP;
        let now = self.now;
        for c in &mut self.clients {
            let span = tracing::info_span!("client", id = c.id.0);
            let _entered = span.enter();
            let mut budget = match c.downlink {
                None => usize::MAX,
                Some(0) => 0,
                Some(rate) => (c.downlink_credit + rate).min(rate.max(MTU)),
            };
            while let Some(d) = c.inbox.pop_front() {
                if d.contents.len() > budget {
                    c.inbox.push_front(d);
                    break;
                }
                budget -= d.contents.len();
                let input = Input::Receive(
                    now,
                    Receive {
                        proto: Protocol::Udp,
                        source: d.source,
                        destination: d.destination,
                        contents: d.contents.as_slice().try_into().unwrap(),
                    },
                );
                c.rtc.handle_input(input).expect("client input");
                poll_client(&mut c.rtc, &mut c.events, &mut self.sfu_inbox);
            }
            if c.downlink.is_some() {
                c.downlink_credit = budget;
            }
            c.rtc
                .handle_input(Input::Timeout(now))
                .expect("client timeout");
            poll_client(&mut c.rtc, &mut c.events, &mut self.sfu_inbox);
        }
        let mut offers = vec![];
        while let Some(d) = self.sfu_inbox.pop_front() {
            if is_rtp(&d.contents) && nth_dropped(self.uplink_loss_every, &mut self.uplink_count) {
                continue;
            }
            if self.is_offline(d.source) {
                continue;
            }
            // A datagram for a participant that left is an error, not a panic.
            let arrived = now - self.uplink_queue_delay;
            let worker = self.worker_of(d.source);
            let sfu = self.worker(worker);
            let _ = in_sfu(|| sfu.handle_receive(arrived, d.source, d.destination, &d.contents));
            self.poll_worker(worker, &mut offers);
        }
        for worker in 0..=self.more_workers.len() {
            let sfu = self.worker(worker);
            in_sfu(|| sfu.handle_timeout(now));
            self.poll_worker(worker, &mut offers);
        }
        for (participant, sdp) in offers {
            self.answer_offer(participant, &sdp);
        }
    }

    /// The worker a client's datagrams go to.
    fn worker_of(&self, addr: SocketAddr) -> usize {
        let client = self.clients.iter().find(|c| c.addr == addr);
        client.map_or(0, |c| c.worker)
    }

    /// Tells each worker with members of the room which others have some, as the driver does.
    pub fn spread(&mut self) {
        let mut workers: Vec<usize> = self.clients.iter().map(|c| c.worker).collect();
        workers.sort_unstable();
        workers.dedup();
        for w in &workers {
            let peers = workers.iter().copied().filter(|p| p != w).collect();
            let lead = *w == workers[0];
            self.worker(*w).set_spread(ROOM, peers, lead);
        }
    }

    /// Polls a worker, then delivers what workers relay to each other until none has more.
    fn poll_worker(&mut self, worker: usize, offers: &mut Vec<(ParticipantId, String)>) {
        self.poll_one(worker, offers);
        while let Some((to, from, relay)) = self.relays.pop_front() {
            self.packets_relayed += usize::from(matches!(relay, Relay::Packet { .. }));
            let now = self.now;
            let sfu = self.worker(to);
            in_sfu(|| sfu.handle_relay(now, from, relay));
            self.poll_one(to, offers);
        }
    }

    /// Delivers a worker's output: datagrams to client inboxes (next step), events
    /// to `sfu_events`, offers to `offers` for answering at the end of the step, relays
    /// to `relays`.
    fn poll_one(&mut self, worker: usize, offers: &mut Vec<(ParticipantId, String)>) {
        loop {
            let sfu = match worker {
                0 => &mut self.sfu,
                w => &mut self.more_workers[w - 1],
            };
            match in_sfu(|| sfu.poll_output()) {
                Output::Relay { to, relay } => self.relays.push_back((to, worker, relay)),
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    if is_rtp(&t.contents)
                        && randomly_dropped(self.downlink_loss_one_in, &mut self.downlink_random)
                    {
                        continue;
                    }
                    let client = self.clients.iter_mut().find(|c| c.addr == t.destination);
                    if let Some(c) = client.filter(|c| !c.offline && !c.downlink_full()) {
                        c.inbox.push_back(Datagram {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents,
                        });
                    }
                }
                Output::Event(e) => {
                    if let SfuEvent::Offer { participant, sdp } = &e {
                        offers.push((*participant, sdp.clone()));
                    }
                    self.sfu_events.push(e);
                }
            }
        }
    }

    fn is_offline(&self, addr: SocketAddr) -> bool {
        self.clients.iter().any(|c| c.addr == addr && c.offline)
    }

    fn answer_offer(&mut self, participant: ParticipantId, sdp: &str) {
        let Some(c) = self.clients.iter_mut().find(|c| c.id == participant) else {
            return;
        };
        if !c.auto_answer {
            return;
        }
        let offer = SdpOffer::from_sdp_string(sdp).expect("sfu offer parses");
        let answer = c.rtc.sdp_api().accept_offer(offer).expect("client answers");
        let worker = c.worker;
        self.worker(worker)
            .accept_answer(participant, &answer.to_sdp_string())
            .expect("sfu accepts answer");
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.now < until {
            self.progress();
        }
    }

    /// Runs until every client is connected to the SFU.
    pub fn connect_all(&mut self) {
        let until = self.now + Duration::from_secs(10);
        while !self.clients.iter().all(|c| c.rtc.is_connected()) {
            assert!(self.now < until, "clients failed to connect");
            self.progress();
        }
    }

    /// Runs `d` of media: each publishing client sends 30 fps video (a keyframe
    /// every `keyframe_every` frames, or only when asked by PLI) and 50 pps audio.
    pub fn send_media(&mut self, d: Duration) {
        let until = self.now + d;
        self.send_media_while(|b| b.now < until);
    }

    /// Sends media as [`Bench::send_media`] does, for as long as `go_on` says.
    pub fn send_media_while(&mut self, mut go_on: impl FnMut(&Self) -> bool) {
        let mut next_video = self.now;
        let mut next_audio = self.now;
        while go_on(self) {
            if self.now >= next_video {
                for c in &mut self.clients {
                    c.send_video_frame(self.now);
                }
                next_video += Duration::from_millis(33);
            }
            if self.now >= next_audio {
                for c in &mut self.clients {
                    let level = c.audio_level;
                    c.send_audio(self.now, level);
                }
                next_audio += Duration::from_millis(20);
            }
            self.progress();
        }
    }

    pub fn events_since(&self, from: usize) -> &[SfuEvent] {
        &self.sfu_events[from..]
    }

    /// The SFU's current m-line on `client` for `track`, from TrackSubscribed events.
    pub fn subscribed_mid(&self, client: usize, track: TrackId) -> Option<String> {
        let id = self.clients[client].id;
        self.sfu_events.iter().rev().find_map(|e| match e {
            SfuEvent::TrackSubscribed {
                participant,
                track: t,
                mid,
            } if *participant == id && *t == track => Some(mid.clone()),
            _ => None,
        })
    }

    /// `client` adds a screen share (a second, single-layer video m-line) by renegotiation.
    pub fn share_screen(&mut self, client: usize) -> TrackId {
        let Bench { clients, sfu, .. } = self;
        let mid = clients[client].renegotiate(sfu, |c| {
            c.add_media(MediaKind::Video, Direction::SendOnly, None, None, None)
        });
        clients[client].screen_mid = Some(mid);
        TrackId {
            publisher: clients[client].id,
            mid,
        }
    }

    pub fn track(&self, client: usize, kind: MediaKind) -> TrackId {
        let c = &self.clients[client];
        let mid = match kind {
            MediaKind::Video => c.video_mid,
            MediaKind::Audio => c.audio_mid,
        };
        TrackId {
            publisher: c.id,
            mid: mid.expect("client publishes this kind"),
        }
    }
}

fn poll_client(rtc: &mut Rtc, events: &mut Vec<Event>, sfu_inbox: &mut VecDeque<Datagram>) {
    loop {
        match rtc.poll_output().expect("client poll") {
            RtcOutput::Timeout(_) => break,
            RtcOutput::Transmit(t) => sfu_inbox.push_back(Datagram {
                source: t.source,
                destination: t.destination,
                contents: t.contents.into(),
            }),
            RtcOutput::Event(e) => events.push(e),
        }
    }
}

/// Logs for debugging a test: `HUDDLE_MEDIA_LOG=str0m=trace cargo test ...`.
/// Client-side str0m lines are inside a `client{id=N}` span.
fn init_log() {
    use std::sync::Once;
    static START: Once = Once::new();
    START.call_once(|| {
        if let Ok(filter) = std::env::var("HUDDLE_MEDIA_LOG") {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .init();
        }
    });
}

/// SRTP packets start with version 2 and a payload type past RTCP's range.
fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() > 12 && datagram[0] >> 6 == 2 && !(192..=223).contains(&datagram[1])
}

/// Runs `f`, a call into an SFU, out of line, so that a profile of the bench counts what the
/// SFUs do as what runs under this function (`scripts/forward-cost`).
#[inline(never)]
fn in_sfu<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// True for one packet in `one_in` on average (never with 0); `state` is a xorshift64 seed,
/// so a run is reproducible.
fn randomly_dropped(one_in: u64, state: &mut u64) -> bool {
    if one_in == 0 {
        return false;
    }
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % one_in == 0
}

/// Counts a packet; true for every `every`-th one (never with `every` 0).
fn nth_dropped(every: usize, count: &mut usize) -> bool {
    if every == 0 {
        return false;
    }
    *count += 1;
    *count % every == 0
}
