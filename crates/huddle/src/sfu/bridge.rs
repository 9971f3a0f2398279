//! The sessions' end of the SFU: requests as values to the switchboard, replies on the SFU's oneshots.

use huddle_media::driver::{self, Command};
use huddle_media::ParticipantId as MediaParticipant;
use huddle_media::{Arrival, RoomId, SfuError, SfuMetrics, Strain, SubscriptionSpec};
use std::net::SocketAddr;
use tokio::sync::{mpsc, oneshot};

use super::{media_participant, room_id, tile_subscription, Gate, SfuFailure};
use crate::protocol::{
    ParticipantId, Role, SdpKind, SessionDescription, Signal, Tile, TrackSource,
};
use crate::rooms::{Outbox, RoomName};

/// What sessions ask of the switchboard.
pub(super) enum Request {
    Join {
        room: RoomId,
        participant: MediaParticipant,
        arrival: Arrival,
        outbox: Outbox,
        reply: driver::Reply<()>,
    },
    Leave {
        room: RoomId,
        participant: MediaParticipant,
    },
    /// A subscriber's `view`, one request for all its tiles.
    View {
        room: RoomId,
        subscriber: MediaParticipant,
        tiles: Vec<ViewTile>,
    },
    Forward(Command),
}

/// One tile of a `view`: the switchboard knows which of the publisher's tracks carries `source`.
pub(super) struct ViewTile {
    pub publisher: MediaParticipant,
    pub source: TrackSource,
    pub spec: SubscriptionSpec,
}

/// The sessions' end of the SFU; cheap to clone.
#[derive(Clone)]
pub struct SfuBridge {
    pub(super) requests: mpsc::Sender<Request>,
    /// The UDP address clients reach the SFU at (its ICE candidate).
    pub local_addr: SocketAddr,
    pub(super) metrics: SfuMetrics,
}

impl SfuBridge {
    /// How hard the SFU's workers are pushed now.
    pub fn strain(&self) -> Strain {
        self.metrics.strain()
    }

    /// Adds a newcomer to an sfu room, unless the room's worker sheds load.
    pub async fn admit(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        outbox: Outbox,
    ) -> Result<(), SfuFailure> {
        self.place(room, id, Arrival::Newcomer, outbox).await
    }

    /// Gives a member of the call a place in the SFU (the room moved to it).
    pub async fn join(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        outbox: Outbox,
    ) -> Result<(), SfuFailure> {
        self.place(room, id, Arrival::Member, outbox).await
    }

    /// Adds a participant of an sfu room; its outbox receives what the SFU has to say to it.
    async fn place(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        arrival: Arrival,
        outbox: Outbox,
    ) -> Result<(), SfuFailure> {
        let participant = media_id(id)?;
        let room_id = room_id(room);
        let joined = self
            .call(|reply| Request::Join {
                room: room_id,
                participant,
                arrival,
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

    /// Gives a participant a fresh place: the SFU forgets its old connection, and the offer that
    /// follows opens a new one.
    pub async fn rejoin(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        outbox: Outbox,
    ) -> Result<(), SfuFailure> {
        self.leave(room, id).await;
        self.join(room, id, outbox).await
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

    /// The subscriber's tiles: each publisher's camera and screen follow their tile's size and
    /// visibility.
    pub async fn view(
        &self,
        room: &RoomName,
        subscriber: &ParticipantId,
        tiles: Vec<Tile>,
    ) -> Result<(), SfuFailure> {
        let subscriber = media_id(subscriber)?;
        let room = room_id(room);
        let tiles = tiles
            .iter()
            .map(|tile| {
                let publisher = media_id(&tile.participant)?;
                let (source, spec) = tile_subscription(tile);
                Ok(ViewTile {
                    publisher,
                    source,
                    spec,
                })
            })
            .collect::<Result<_, SfuFailure>>()?;
        self.requests
            .send(Request::View {
                room,
                subscriber,
                tiles,
            })
            .await
            .map_err(|_| SfuFailure::Unavailable)
    }

    /// Which of the participant's media the SFU passes on to the others: what its `gate` lets
    /// through, nothing of a viewer.
    pub async fn set_gate(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        role: Role,
        gate: Gate,
    ) -> Result<(), SfuFailure> {
        let participant = media_id(id)?;
        self.forward(Command::SetForwarding {
            room: room_id(room),
            participant,
            forwarding: gate.forwarding(role),
        })
        .await
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

/// SFUs that fail, for the sessions' tests.
#[cfg(test)]
impl SfuBridge {
    /// A bridge to an SFU that has stopped: every request fails.
    pub fn stopped() -> Self {
        let (requests, _) = mpsc::channel(1);
        Self {
            requests,
            local_addr: SocketAddr::from(([127, 0, 0, 1], 9)),
            metrics: SfuMetrics::default(),
        }
    }

    /// A bridge to an SFU whose worker sheds load: it refuses newcomers, and takes members.
    pub fn overloaded() -> Self {
        let (requests, mut switchboard) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Some(request) = switchboard.recv().await {
                if let Request::Join {
                    room,
                    arrival,
                    reply,
                    ..
                } = request
                {
                    let placed = match arrival {
                        Arrival::Newcomer => Err(SfuError::Overloaded(room)),
                        Arrival::Member => Ok(()),
                    };
                    let _ = reply.send(placed);
                }
            }
        });
        Self {
            requests,
            local_addr: SocketAddr::from(([127, 0, 0, 1], 9)),
            metrics: SfuMetrics::default(),
        }
    }

    /// A bridge to an SFU that takes one participant, then stops before anything else.
    pub fn stopping_after_one_join() -> Self {
        let (requests, mut switchboard) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Some(request) = switchboard.recv().await {
                if let Request::Join { reply, .. } = request {
                    drop(switchboard);
                    let _ = reply.send(Ok(()));
                    return;
                }
            }
        });
        Self {
            requests,
            local_addr: SocketAddr::from(([127, 0, 0, 1], 9)),
            metrics: SfuMetrics::default(),
        }
    }
}
