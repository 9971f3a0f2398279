//! The SFU worker state machine: rooms of participants, each a str0m `Rtc`.
//!
//! Sans-IO: datagrams and time go in through [`Sfu::handle_receive`] and
//! [`Sfu::handle_timeout`], datagrams, events and the next timeout come out of
//! [`Sfu::poll_output`]. Poll until it returns [`Output::Timeout`] after every input.
//! One `Sfu` is one worker; nothing here is shared. A room spread over several workers has an
//! `Sfu` room on each, told of each other by [`Sfu::set_spread`] and talking through
//! [`crate::relay`] values ([`Output::Relay`] out, [`Sfu::handle_relay`] in).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input};

use crate::error::SfuError;
use crate::event::{Output, SfuEvent};
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::layer::SubscriptionSpec;
use crate::outbox::{Outbox, SfuStats};
use crate::overload::{Overload, Shedding};
use crate::participant::{Forwarding, Participant, RtcRecipe};
use crate::room::Room;
use crate::speaker::SpeakerConfig;

#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Addresses of the UDP socket(s) every client sends to (host candidates).
    pub local_addrs: Vec<SocketAddr>,
    /// A server with a public address needs no ICE checks of its own.
    pub ice_lite: bool,
    /// Bandwidth estimate each subscriber starts with.
    pub initial_bwe: Bitrate,
    /// Subscribe every member to every track in the room. Without it, the signaling
    /// layer calls [`Sfu::set_subscription`] for what each client shows.
    pub auto_subscribe: bool,
    /// How often layers are reselected and pending keyframe requests are retried.
    pub tick: Duration,
    pub speaker: SpeakerConfig,
    /// Assumed size of a publisher's top simulcast layer until its keyframes tell.
    pub top_layer: (u32, u32),
    /// Bytes of others' data channel messages that may wait for one participant whose
    /// link is slower than the sender's; beyond it messages are dropped and counted.
    pub data_channel_backlog: usize,
    /// How long a participant whose ICE died keeps its place (publications, subscriptions)
    /// waiting for the client to restart ICE, e.g. after a network change.
    pub ice_restart_grace: Duration,
    /// The longest media may wait in the worker's queue; past it the worker sheds load
    /// (see [`crate::overload`]).
    pub delay_bound: Duration,
}

impl SfuConfig {
    pub fn new(local_addr: SocketAddr) -> Self {
        SfuConfig {
            local_addrs: vec![local_addr],
            ice_lite: true,
            initial_bwe: Bitrate::kbps(1000),
            auto_subscribe: true,
            tick: Duration::from_millis(100),
            speaker: SpeakerConfig::default(),
            top_layer: (1280, 720),
            // A 5 MiB file and its control messages fit even if a receiver gets
            // nothing while it is uploaded; memory stays at most 8 MiB (plus str0m's
            // 1 MiB send buffer) per participant however slow its link.
            data_channel_backlog: 8 * 1024 * 1024,
            // Browsers notice the loss within seconds and restart at once; a network change
            // (Wi-Fi to cellular, a VPN going up) takes a few seconds more.
            ice_restart_grace: Duration::from_secs(20),
            // Well above the 10-20 ms a worker near its limit keeps datagrams waiting (measured
            // at 400 subscribers of one publisher); a delay people in a call begin to notice.
            delay_bound: Duration::from_millis(200),
        }
    }
}

/// What one SFU (one worker) carries and what it sheds, for the operator to see how work spreads
/// over workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    pub rooms: usize,
    pub participants: usize,
    pub shedding: Shedding,
    /// Video subscriptions sent keyframes only.
    pub keyframes_only: usize,
    /// Newcomers to its rooms are refused (`room_overloaded`).
    pub refuses_newcomers: bool,
}

/// Who asks [`Sfu::join`] for a place: a newcomer to the room can be refused when the worker
/// sheds load; a member already in the call (a media mode switch, a new connection) cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Newcomer,
    Member,
}

pub struct Sfu {
    pub(crate) config: SfuConfig,
    pub(crate) now: Instant,
    pub(crate) rooms: HashMap<RoomId, Room>,
    pub(crate) participants: HashMap<ParticipantId, Participant>,
    /// Which participant a remote address belongs to, learned from `Rtc::accepts`.
    by_addr: HashMap<SocketAddr, ParticipantId>,
    pub(crate) out: Outbox,
    pub(crate) next_tick: Instant,
    /// Subscriptions or signaling states may have changed since participants were
    /// last checked for a renegotiation: only then are they all visited.
    pub(crate) negotiation_due: bool,
    recipe: RtcRecipe,
    pub(crate) overload: Overload,
    /// How long the latest datagram waited in the worker's queue: the frames it completes, which
    /// come out when the SFU is next polled, are late past the delay bound.
    pub(crate) queue_delay: Duration,
}

impl Sfu {
    pub fn new(config: SfuConfig, now: Instant) -> Self {
        let overload = Overload::new(config.delay_bound);
        let recipe = RtcRecipe::new(
            config.local_addrs.clone(),
            config.ice_lite,
            config.initial_bwe,
        );
        Sfu {
            config,
            now,
            rooms: HashMap::new(),
            participants: HashMap::new(),
            by_addr: HashMap::new(),
            out: Outbox::default(),
            next_tick: now,
            negotiation_due: false,
            recipe,
            overload,
            queue_delay: Duration::ZERO,
        }
    }

    /// Counters since start, for the driver to publish.
    pub fn stats(&self) -> SfuStats {
        self.out.stats
    }

    /// The worker sheds load far enough to take no newcomers.
    pub fn refuses_newcomers(&self) -> bool {
        self.overload.refuses_newcomers()
    }

    /// How much this SFU carries now: rooms and participants.
    pub fn load(&self) -> Load {
        Load {
            rooms: self.rooms.len(),
            participants: self.participants.len(),
            shedding: self.overload.shedding(),
            keyframes_only: self
                .participants
                .values()
                .map(Participant::keyframes_only)
                .sum(),
            refuses_newcomers: self.refuses_newcomers(),
        }
    }

    pub fn participant_ids(&self, room: RoomId) -> Vec<ParticipantId> {
        self.rooms
            .get(&room)
            .map(|r| r.members.clone())
            .unwrap_or_default()
    }

    /// The local ICE ufrag of a participant: the STUN USERNAME prefix that tells a
    /// shared socket's reader which worker a client's packets belong to.
    pub fn ice_ufrag(&self, participant: ParticipantId) -> Option<String> {
        let p = self.participants.get(&participant)?;
        Some(p.ice_ufrag().to_owned())
    }

    /// Adds a participant to a room (creating the room). The browser's offer follows
    /// through [`Sfu::accept_offer`], which builds its `Rtc` at the time of the last input:
    /// call [`Sfu::handle_timeout`] first after a long idle spell.
    pub fn join(
        &mut self,
        room: RoomId,
        participant: ParticipantId,
        arrival: Arrival,
    ) -> Result<(), SfuError> {
        if let Some(p) = self.participants.get(&participant) {
            return Err(SfuError::ParticipantExists(participant, p.room()));
        }
        if arrival == Arrival::Newcomer && self.overload.refuses_newcomers() {
            self.out.stats.joins_refused += 1;
            return Err(SfuError::Overloaded(room));
        }
        let mut p = Participant::new(
            participant,
            room,
            self.now,
            self.config.top_layer,
            self.config.data_channel_backlog,
        );
        let speaker = self.config.speaker;
        let room = self
            .rooms
            .entry(room)
            .or_insert_with(|| Room::new(room, speaker));
        if self.config.auto_subscribe {
            for (track, kind) in &room.tracks {
                p.subscribe(*track, *kind);
            }
        }
        room.members.push(participant);
        self.participants.insert(participant, p);
        self.negotiation_due = true;
        Ok(())
    }

    pub fn accept_offer(
        &mut self,
        participant: ParticipantId,
        offer_sdp: &str,
    ) -> Result<String, SfuError> {
        self.negotiation_due = true;
        let now = self.now;
        let p = self
            .participants
            .get_mut(&participant)
            .ok_or(SfuError::UnknownParticipant(participant))?;
        p.accept_offer(offer_sdp, &self.recipe, now)
    }

    pub fn accept_answer(
        &mut self,
        participant: ParticipantId,
        answer_sdp: &str,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(&participant)
            .ok_or(SfuError::UnknownParticipant(participant))?;
        self.negotiation_due = true;
        p.accept_answer(answer_sdp, &mut self.out)
    }

    /// A trickled ICE candidate from the browser (`a=candidate:` line, prefix optional).
    pub fn add_remote_candidate(
        &mut self,
        participant: ParticipantId,
        candidate: &str,
    ) -> Result<(), SfuError> {
        let line = candidate.trim().trim_start_matches("a=");
        let c = Candidate::from_sdp_string(line).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        self.participant_mut(participant)?.add_remote_candidate(c);
        Ok(())
    }

    /// What `subscriber` wants of `track`: visibility and tile size. Subscribes if
    /// not yet subscribed (the m-line is added by renegotiation).
    pub fn set_subscription(
        &mut self,
        subscriber: ParticipantId,
        track: TrackId,
        spec: SubscriptionSpec,
    ) -> Result<(), SfuError> {
        let room_id = self.participant_mut(subscriber)?.room();
        let room = self.rooms.get_mut(&room_id);
        let kind = match room.as_ref().and_then(|r| r.track_kind(track)) {
            Some(kind) if track.publisher != subscriber => kind,
            _ => {
                // Published on another worker of the room, and not here yet: asked when it comes.
                let elsewhere = !self.participants.contains_key(&track.publisher);
                match room.filter(|r| elsewhere && !r.peers.is_empty()) {
                    Some(r) => r.ask_early(subscriber, track, spec),
                    None => return Err(SfuError::UnknownTrack(track)),
                }
                return Ok(());
            }
        };
        let p = self.participant_mut(subscriber)?;
        p.subscribe(track, kind);
        p.set_spec(track, spec);
        self.negotiation_due = true;
        // Apply the new spec now rather than at the next tick: a tile that became
        // visible should not wait.
        self.next_tick = self.now;
        Ok(())
    }

    /// Stops sending `track` to `subscriber` (the m-line is stopped by renegotiation).
    pub fn unsubscribe(
        &mut self,
        subscriber: ParticipantId,
        track: TrackId,
    ) -> Result<(), SfuError> {
        self.participant_mut(subscriber)?.unsubscribe(track);
        self.negotiation_due = true;
        Ok(())
    }

    /// Which of the participant's published media reach the others; what is not forwarded is
    /// dropped on arrival (and its audio level ignored, so it cannot become active speaker).
    pub fn set_forwarding(
        &mut self,
        participant: ParticipantId,
        forwarding: Forwarding,
    ) -> Result<(), SfuError> {
        self.participant_mut(participant)?
            .set_forwarding(forwarding);
        Ok(())
    }

    /// Removes a participant: its tracks are unpublished for the others.
    pub fn leave(&mut self, participant: ParticipantId) {
        self.remove_participant(participant, false);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        for p in self.participants.values_mut() {
            if p.next_timeout().is_some_and(|t| t <= now) {
                p.handle_input(Input::Timeout(now));
            }
        }
        if now >= self.next_tick {
            self.tick(now);
        }
    }

    /// A datagram arrived on `destination` from `source` at `arrived`. The SFU's time is the
    /// latest it was given: a datagram that arrived before it waited in a queue that long.
    pub fn handle_receive(
        &mut self,
        arrived: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> Result<(), SfuError> {
        self.queue_delay = self.now.saturating_duration_since(arrived);
        self.overload.waited(self.queue_delay);
        self.now = self.now.max(arrived);
        if self.overload.is_stale(self.queue_delay) {
            self.out.stats.datagrams_stale += 1;
            return Ok(());
        }
        let contents = contents
            .try_into()
            .map_err(|_| SfuError::UnrecognisedDatagram)?;
        let input = Input::Receive(
            self.now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        let cached = self
            .by_addr
            .get(&source)
            .filter(|id| self.participants.get(id).is_some_and(|p| p.accepts(&input)))
            .copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let id = self
                    .participants
                    .values()
                    .find(|p| p.accepts(&input))
                    .map(|p| p.id())
                    .ok_or(SfuError::NoParticipantForDatagram)?;
                self.by_addr.insert(source, id);
                id
            }
        };
        let p = self
            .participants
            .get_mut(&id)
            .expect("id was just found among participants");
        p.handle_input(input);
        // Drained at once, as str0m needs after every input, and what the datagram completes is
        // routed now, late or not by its own wait: a worker handling a batch of datagrams then
        // walks all its participants once per batch (in `poll_output`), not once per datagram.
        p.poll_to_timeout(self.now, &mut self.out);
        self.route_propagated();
        Ok(())
    }

    fn route_propagated(&mut self) {
        while let Some(prop) = self.out.propagated.pop_front() {
            self.route(prop);
        }
    }

    pub fn poll_output(&mut self) -> Output {
        loop {
            if let Some(t) = self.out.transmits.pop_front() {
                return Output::Transmit(t);
            }
            if let Some(e) = self.out.events.pop_front() {
                return Output::Event(e);
            }
            if let Some((to, relay)) = self.out.relays.pop_front() {
                return Output::Relay { to, relay };
            }
            if !self.drive() {
                return Output::Timeout(self.next_timeout());
            }
        }
    }

    fn next_timeout(&self) -> Instant {
        let rtc = self
            .participants
            .values()
            .filter_map(|p| p.next_timeout())
            .min();
        match rtc {
            Some(t) => t.min(self.next_tick),
            // An idle worker still wakes up now and then; nothing is due.
            None => self.now + Duration::from_secs(1),
        }
    }

    /// Polls participants that may have output, routes what they propagate, and starts
    /// renegotiations. Returns false when there was nothing to do.
    fn drive(&mut self) -> bool {
        let mut did_something = false;
        loop {
            for p in self.participants.values_mut().filter(|p| p.needs_poll()) {
                p.poll_to_timeout(self.now, &mut self.out);
                did_something = true;
            }
            self.reap_dead();
            if self.out.propagated.is_empty() {
                break;
            }
            self.route_propagated();
            did_something = true;
        }
        did_something |= self.negotiate();
        did_something
            || !self.out.transmits.is_empty()
            || !self.out.events.is_empty()
            || !self.out.relays.is_empty()
    }

    /// Sends an offer to each participant whose subscriptions need one; true if any did.
    fn negotiate(&mut self) -> bool {
        if !std::mem::take(&mut self.negotiation_due) {
            return false;
        }
        let mut offered = false;
        for p in self.participants.values_mut() {
            if let Some(sdp) = p.negotiate_if_needed() {
                self.out.events.push_back(SfuEvent::Offer {
                    participant: p.id(),
                    sdp,
                });
                offered = true;
            }
        }
        offered
    }

    /// Removes participants whose session closed, or whose ICE died and was not restarted
    /// within the grace.
    fn reap_dead(&mut self) {
        let grace = self.config.ice_restart_grace;
        let dead: Vec<ParticipantId> = self
            .participants
            .values()
            .filter(|p| !p.is_alive() || p.ice_lost_longer_than(self.now, grace))
            .map(|p| p.id())
            .collect();
        for id in dead {
            self.remove_participant(id, true);
        }
    }

    fn remove_participant(&mut self, id: ParticipantId, died: bool) {
        let Some(mut p) = self.participants.remove(&id) else {
            return;
        };
        p.leave(&mut self.out);
        self.by_addr.retain(|_, v| *v != id);
        let room_id = p.room();
        if let Some(room) = self.rooms.get_mut(&room_id) {
            room.forget_member(id);
        }
        if died {
            self.out.events.push_back(SfuEvent::Disconnected {
                room: room_id,
                participant: id,
            });
        }
        // Route the unpublications now so the others renegotiate.
        self.route_propagated();
        if self
            .rooms
            .get(&room_id)
            .is_some_and(|r| r.members.is_empty())
        {
            self.rooms.remove(&room_id);
        }
    }

    fn participant_mut(&mut self, id: ParticipantId) -> Result<&mut Participant, SfuError> {
        self.participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant(id))
    }
}
