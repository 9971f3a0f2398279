//! The bridge between signaling and the SFU (crate `huddle-media`, which knows nothing of this
//! server): room names become [`RoomId`]s, participant ids (16 hex digits) become the SFU's
//! `ParticipantId(u64)`, and [`SfuEvent`]s become protocol messages in participants' outboxes.
//!
//! One task, [`SfuRouter`], owns the SFU handle, the event receiver and the table of outboxes.
//! Sessions talk to it through [`SfuBridge`] with [`Request`] values; answers that sessions wait
//! for travel on the SFU's own oneshots. Media never passes here: it stays on the SFU's threads.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use anyhow::Context;
use huddle_media::driver::{self, Command, SfuHandle};
use huddle_media::{MediaKind, Mid, RoomId, SfuConfig, SfuError, SfuEvent, SfuMetrics};
use huddle_media::{SubscriptionSpec, TrackId};
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::protocol::{
    ErrorCode, ParticipantId, SdpKind, ServerMessage, SessionDescription, Signal, Tile, TrackSource,
};
use crate::rooms::{Outbox, RoomName};

use huddle_media::ParticipantId as MediaParticipant;

/// Requests queued for the router before sessions wait.
const REQUEST_QUEUE: usize = 1024;

/// Why the SFU did not do what a session asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfuFailure {
    #[error("the SFU is not running")]
    Unavailable,
    #[error("the SFU refused: {0}")]
    Rejected(String),
    #[error("no participant {0} in this room")]
    UnknownParticipant(ParticipantId),
}

impl SfuFailure {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unavailable => ErrorCode::SfuUnavailable,
            Self::Rejected(_) => ErrorCode::SfuRejected,
            Self::UnknownParticipant(_) => ErrorCode::UnknownParticipant,
        }
    }

    fn from_sfu(err: SfuError) -> Self {
        match err {
            SfuError::Stopped => Self::Unavailable,
            other => Self::Rejected(other.to_string()),
        }
    }
}

/// The SFU's number for a room name; the same name gives the same number in this process.
pub fn room_id(room: &RoomName) -> RoomId {
    let mut hasher = DefaultHasher::new();
    room.as_str().hash(&mut hasher);
    RoomId(hasher.finish())
}

/// Server participant ids are a u64 in hex, so they map 1:1 onto the SFU's.
pub fn media_participant(id: &ParticipantId) -> Option<MediaParticipant> {
    u64::from_str_radix(&id.0, 16).ok().map(MediaParticipant)
}

pub fn protocol_participant(id: MediaParticipant) -> ParticipantId {
    ParticipantId(format!("{:016x}", id.0))
}

/// What sessions ask of the router.
enum Request {
    Join {
        room: RoomId,
        participant: MediaParticipant,
        outbox: Outbox,
        reply: driver::Reply<()>,
    },
    Leave {
        room: RoomId,
        participant: MediaParticipant,
    },
    Forward(Command),
}

/// The sessions' end of the SFU; cheap to clone.
#[derive(Clone)]
pub struct SfuBridge {
    requests: mpsc::Sender<Request>,
    /// The UDP address clients reach the SFU at (its ICE candidate).
    pub local_addr: SocketAddr,
}

impl SfuBridge {
    /// Adds a participant of an sfu room; its outbox receives what the SFU has to say to it.
    pub async fn join(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        outbox: Outbox,
    ) -> Result<(), SfuFailure> {
        let participant = media_id(id)?;
        let room_id = room_id(room);
        let joined = self
            .call(|reply| Request::Join {
                room: room_id,
                participant,
                outbox,
                reply,
            })
            .await;
        if joined.is_err() {
            // Drops the route the request put in place.
            self.leave(room, id).await;
        }
        joined
    }

    pub async fn leave(&self, room: &RoomName, id: &ParticipantId) {
        let Ok(participant) = media_id(id) else {
            return;
        };
        let room = room_id(room);
        // After shutdown there is nothing left to leave.
        let _ = self
            .requests
            .send(Request::Leave { room, participant })
            .await;
    }

    /// Hands the client's `sfu_signal` to the SFU; an offer gets the SFU's answer back.
    pub async fn signal(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        signal: Signal,
    ) -> Result<Option<Signal>, SfuFailure> {
        let participant = media_id(id)?;
        let room = room_id(room);
        match signal {
            Signal::Description { description } => match description.kind {
                SdpKind::Offer => {
                    let sdp = description.sdp;
                    let answer = self
                        .call(|reply| {
                            Request::Forward(Command::AcceptOffer {
                                room,
                                participant,
                                sdp,
                                reply,
                            })
                        })
                        .await?;
                    Ok(Some(Signal::Description {
                        description: SessionDescription {
                            kind: SdpKind::Answer,
                            sdp: answer,
                        },
                    }))
                }
                SdpKind::Answer => {
                    let sdp = description.sdp;
                    let accepted = self
                        .ask(|reply| {
                            Request::Forward(Command::AcceptAnswer {
                                room,
                                participant,
                                sdp,
                                reply,
                            })
                        })
                        .await?;
                    match accepted {
                        // An answer to an offer the SFU rolled back in glare: nothing to do.
                        Err(SfuError::NoPendingOffer(_)) => {
                            tracing::debug!(participant = %id, "answer to a rolled-back offer");
                            Ok(None)
                        }
                        other => other.map(|()| None).map_err(SfuFailure::from_sfu),
                    }
                }
                SdpKind::Pranswer | SdpKind::Rollback => Err(SfuFailure::Rejected(
                    "the SFU takes offers and answers only".into(),
                )),
            },
            Signal::Candidate {
                candidate: Some(candidate),
            } if !candidate.candidate.is_empty() => {
                let command = Command::AddRemoteCandidate {
                    room,
                    participant,
                    candidate: candidate.candidate,
                };
                self.forward(command).await?;
                Ok(None)
            }
            // End of candidates: the SFU is ICE-lite and needs no such mark.
            Signal::Candidate { .. } => Ok(None),
        }
    }

    /// The subscriber's tiles: each publisher's video tracks follow its tile's size and visibility.
    pub async fn view(
        &self,
        room: &RoomName,
        subscriber: &ParticipantId,
        tiles: Vec<Tile>,
    ) -> Result<(), SfuFailure> {
        let subscriber = media_id(subscriber)?;
        let room = room_id(room);
        for tile in tiles {
            let publisher = media_id(&tile.participant)?;
            let spec = if tile.visible {
                SubscriptionSpec::visible(tile.width, tile.height)
            } else {
                SubscriptionSpec::hidden()
            };
            for mid in [CAMERA_MID, SCREEN_MID] {
                let track = TrackId {
                    publisher,
                    mid: Mid::from(mid),
                };
                self.forward(Command::SetSubscription {
                    room,
                    subscriber,
                    track,
                    spec,
                })
                .await?;
            }
        }
        Ok(())
    }

    async fn forward(&self, command: Command) -> Result<(), SfuFailure> {
        self.requests
            .send(Request::Forward(command))
            .await
            .map_err(|_| SfuFailure::Unavailable)
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(driver::Reply<T>) -> Request,
    ) -> Result<T, SfuFailure> {
        self.ask(make).await?.map_err(SfuFailure::from_sfu)
    }

    /// Sends a request and waits for the SFU's own result.
    async fn ask<T>(
        &self,
        make: impl FnOnce(driver::Reply<T>) -> Request,
    ) -> Result<Result<T, SfuError>, SfuFailure> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(make(reply))
            .await
            .map_err(|_| SfuFailure::Unavailable)?;
        answer.await.map_err(|_| SfuFailure::Unavailable)
    }
}

fn media_id(id: &ParticipantId) -> Result<MediaParticipant, SfuFailure> {
    media_participant(id).ok_or_else(|| SfuFailure::UnknownParticipant(id.clone()))
}

/// Publisher mids of the fixed transceiver order (docs/protocol.md).
const AUDIO_MID: &str = "0";
const CAMERA_MID: &str = "1";
const SCREEN_MID: &str = "2";

/// What a publisher's track carries: by its mid in the fixed order, else by its kind.
pub fn source_of(publisher_mid: &str, kind: Option<MediaKind>) -> TrackSource {
    match (publisher_mid, kind) {
        (AUDIO_MID, _) => TrackSource::Audio,
        (CAMERA_MID, _) => TrackSource::Video,
        (SCREEN_MID, _) => TrackSource::Screen,
        (_, Some(MediaKind::Audio)) => TrackSource::Audio,
        _ => TrackSource::Video,
    }
}

/// Where one participant's SFU messages go.
struct Route {
    room: RoomId,
    /// Weak, so that a session the room drops as too slow still sees its inbox close.
    outbox: mpsc::WeakSender<ServerMessage>,
    /// False after the SFU dropped the participant (ICE died): its next offer joins again.
    in_sfu: bool,
}

/// The router's state, apart from its channels: who is where, and what each track is.
#[derive(Default)]
struct Routes {
    participants: HashMap<MediaParticipant, Route>,
    kinds: HashMap<TrackId, MediaKind>,
}

impl Routes {
    /// The messages an SFU event sends, to whom. Pure but for remembering track kinds.
    fn deliveries(&mut self, event: SfuEvent) -> Vec<(MediaParticipant, ServerMessage)> {
        match event {
            SfuEvent::Offer { participant, sdp } => {
                let signal = Signal::Description {
                    description: SessionDescription {
                        kind: SdpKind::Offer,
                        sdp,
                    },
                };
                vec![(participant, ServerMessage::SfuSignal { signal })]
            }
            SfuEvent::TrackSubscribed {
                participant,
                track,
                mid,
            } => {
                let source = source_of(&track.mid.to_string(), self.kinds.get(&track).copied());
                let message = ServerMessage::SfuTrack {
                    participant: protocol_participant(track.publisher),
                    source,
                    mid,
                };
                vec![(participant, message)]
            }
            SfuEvent::ActiveSpeaker { room, participant } => {
                let speaker = protocol_participant(participant);
                self.participants
                    .iter()
                    .filter(|(_, route)| route.room == room)
                    .map(|(id, _)| {
                        let message = ServerMessage::ActiveSpeaker {
                            participant: speaker.clone(),
                        };
                        (*id, message)
                    })
                    .collect()
            }
            SfuEvent::TrackPublished { track, kind, .. } => {
                self.kinds.insert(track, kind);
                vec![]
            }
            SfuEvent::TrackUnpublished { track, .. } => {
                self.kinds.remove(&track);
                vec![]
            }
            SfuEvent::Disconnected { participant, .. } => {
                tracing::info!(participant = %protocol_participant(participant), "SFU connection lost");
                if let Some(route) = self.participants.get_mut(&participant) {
                    route.in_sfu = false;
                }
                vec![]
            }
            SfuEvent::Connected { participant, .. } => {
                tracing::debug!(participant = %protocol_participant(participant), "SFU connected");
                vec![]
            }
            other => {
                tracing::debug!(event = ?other, "SFU event not routed");
                vec![]
            }
        }
    }
}

/// The one task between the SFU and the sessions; run it with [`SfuRouter::run`].
pub struct SfuRouter {
    handle: SfuHandle,
    events: mpsc::UnboundedReceiver<SfuEvent>,
    requests: mpsc::Receiver<Request>,
    routes: Routes,
}

impl SfuRouter {
    /// Routes until shutdown (or until every bridge is gone), then stops the SFU's threads.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            // Requests first: a participant's route is in place before any event about it.
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                request = self.requests.recv() => match request {
                    Some(request) => self.on_request(request),
                    None => break,
                },
                event = self.events.recv() => match event {
                    Some(event) => self.on_event(event),
                    None => break,
                },
            }
        }
        let handle = self.handle;
        if tokio::task::spawn_blocking(move || handle.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("the SFU did not stop cleanly");
        }
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Join {
                room,
                participant,
                outbox,
                reply,
            } => {
                let route = Route {
                    room,
                    outbox: outbox.downgrade(),
                    in_sfu: true,
                };
                self.routes.participants.insert(participant, route);
                self.send(Command::Join {
                    room,
                    participant,
                    reply,
                });
            }
            Request::Leave { room, participant } => {
                self.routes.participants.remove(&participant);
                self.send(Command::Leave { room, participant });
            }
            Request::Forward(command) => {
                if let Command::AcceptOffer {
                    room, participant, ..
                } = &command
                {
                    self.rejoin_if_dropped(*room, *participant);
                }
                self.send(command);
            }
        }
    }

    /// A participant whose connection died offers again to reconnect: it joins the SFU anew first.
    /// Commands of one room go to one worker in order, so the join lands before the offer.
    fn rejoin_if_dropped(&mut self, room: RoomId, participant: MediaParticipant) {
        let Some(route) = self.routes.participants.get_mut(&participant) else {
            return;
        };
        if route.in_sfu {
            return;
        }
        route.in_sfu = true;
        let (reply, _) = oneshot::channel();
        self.send(Command::Join {
            room,
            participant,
            reply,
        });
    }

    fn send(&self, command: Command) {
        // Fails only once the SFU stopped; a waiting session then sees its reply dropped.
        if let Err(err) = self.handle.send(command) {
            tracing::debug!("SFU command not sent: {err}");
        }
    }

    fn on_event(&mut self, event: SfuEvent) {
        for (participant, message) in self.routes.deliveries(event) {
            let Some(route) = self.routes.participants.get(&participant) else {
                continue;
            };
            // No outbox: the session is gone or was dropped by its room. A full outbox means a
            // session too slow to follow, which the room drops on its next broadcast.
            let delivered = route
                .outbox
                .upgrade()
                .is_some_and(|outbox| outbox.try_send(message).is_ok());
            if !delivered {
                tracing::debug!(participant = %protocol_participant(participant), "SFU message not delivered");
            }
        }
    }
}

/// Binds the SFU's UDP port, starts its workers and registers its metrics.
pub fn bind(config: &Config, registry: &mut Registry) -> anyhow::Result<(SfuBridge, SfuRouter)> {
    let socket = UdpSocket::bind(config.sfu_listen)
        .with_context(|| format!("binding the SFU to UDP {}", config.sfu_listen))?;
    let port = socket.local_addr()?.port();
    let advertised = SocketAddr::new(advertised_ip(config), port);
    let metrics = SfuMetrics::default();
    metrics.register(registry);
    let (handle, events) = driver::spawn(
        socket,
        SfuConfig::new(advertised),
        config.sfu_workers(),
        Some(metrics),
    )
    .context("starting the SFU workers")?;
    let (requests_tx, requests) = mpsc::channel(REQUEST_QUEUE);
    tracing::info!(address = %advertised, workers = config.sfu_workers(), "SFU is serving");
    let bridge = SfuBridge {
        requests: requests_tx,
        local_addr: handle.local_addr,
    };
    let router = SfuRouter {
        handle,
        events,
        requests,
        routes: Routes::default(),
    };
    Ok((bridge, router))
}

/// The address in the SFU's candidate: the external IP behind a 1:1 NAT, else the listen IP if
/// specific, else the address this host reaches the outside with (as TURN relays do).
fn advertised_ip(config: &Config) -> IpAddr {
    if let Some(external) = config.external_ip.first() {
        return *external;
    }
    let listen = config.sfu_listen.ip();
    if !listen.is_unspecified() {
        return listen;
    }
    crate::turn::outbound_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(room: u64) -> (Route, (Outbox, mpsc::Receiver<ServerMessage>)) {
        let (outbox, inbox) = mpsc::channel(8);
        let keep = outbox.clone();
        let route = Route {
            room: RoomId(room),
            outbox: outbox.downgrade(),
            in_sfu: true,
        };
        (route, (keep, inbox))
    }

    #[test]
    fn participant_ids_map_both_ways() {
        let id = ParticipantId("00000000000000ff".into());
        assert_eq!(media_participant(&id), Some(MediaParticipant(255)));
        assert_eq!(protocol_participant(MediaParticipant(255)), id);
        assert_eq!(media_participant(&ParticipantId("zz".into())), None);
    }

    #[test]
    fn room_ids_are_stable_per_name() {
        let a = RoomName::parse("a").unwrap();
        let b = RoomName::parse("b").unwrap();
        assert_eq!(room_id(&a), room_id(&a.clone()));
        assert_ne!(room_id(&a), room_id(&b));
    }

    #[test]
    fn sources_follow_the_fixed_mid_order_then_the_kind() {
        assert_eq!(source_of("0", None), TrackSource::Audio);
        assert_eq!(source_of("1", Some(MediaKind::Audio)), TrackSource::Video);
        assert_eq!(source_of("2", None), TrackSource::Screen);
        assert_eq!(source_of("x", Some(MediaKind::Audio)), TrackSource::Audio);
        assert_eq!(source_of("x", Some(MediaKind::Video)), TrackSource::Video);
    }

    #[test]
    fn events_become_messages_for_the_right_participants() {
        let mut routes = Routes::default();
        let (a, _a) = route(1);
        let (b, _b) = route(1);
        let (c, _c) = route(2);
        routes.participants.insert(MediaParticipant(1), a);
        routes.participants.insert(MediaParticipant(2), b);
        routes.participants.insert(MediaParticipant(3), c);

        let offer = routes.deliveries(SfuEvent::Offer {
            participant: MediaParticipant(2),
            sdp: "v=0".into(),
        });
        assert!(matches!(
            &offer[..],
            [(MediaParticipant(2), ServerMessage::SfuSignal { signal: Signal::Description { description } })]
                if description.kind == SdpKind::Offer && description.sdp == "v=0"
        ));

        let track = TrackId {
            publisher: MediaParticipant(1),
            mid: Mid::from("abc"),
        };
        routes.deliveries(SfuEvent::TrackPublished {
            room: RoomId(1),
            track,
            kind: MediaKind::Audio,
            rids: vec![],
            msid_track: String::new(),
        });
        let subscribed = routes.deliveries(SfuEvent::TrackSubscribed {
            participant: MediaParticipant(2),
            track,
            mid: "5".into(),
        });
        assert_eq!(
            subscribed,
            vec![(
                MediaParticipant(2),
                ServerMessage::SfuTrack {
                    participant: protocol_participant(MediaParticipant(1)),
                    source: TrackSource::Audio,
                    mid: "5".into(),
                }
            )]
        );

        let mut speaker = routes.deliveries(SfuEvent::ActiveSpeaker {
            room: RoomId(1),
            participant: MediaParticipant(1),
        });
        speaker.sort_by_key(|(id, _)| *id);
        let to: Vec<_> = speaker.iter().map(|(id, _)| *id).collect();
        assert_eq!(to, vec![MediaParticipant(1), MediaParticipant(2)]);
    }

    #[test]
    fn a_lost_connection_is_remembered_for_the_next_offer() {
        let mut routes = Routes::default();
        let (a, _a) = route(1);
        routes.participants.insert(MediaParticipant(1), a);
        routes.deliveries(SfuEvent::Disconnected {
            room: RoomId(1),
            participant: MediaParticipant(1),
        });
        assert!(!routes.participants[&MediaParticipant(1)].in_sfu);
    }
}
