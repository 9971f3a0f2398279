//! The one task between the SFU and the sessions: it owns the driver handle, the event receiver
//! and the table of outboxes, and turns `SfuEvent`s into protocol messages.

use std::collections::HashMap;

use huddle_media::driver::{Command, SfuHandle};
use huddle_media::ParticipantId as MediaParticipant;
use huddle_media::{MediaKind, RoomId, SfuEvent, SubscriptionSpec, TrackId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::bridge::{Request, ViewTile};
use super::{protocol_participant, source_of};
use crate::protocol::{SdpKind, ServerMessage, SessionDescription, Signal, TrackSource};

/// Where one participant's SFU messages go.
struct Route {
    room: RoomId,
    /// Weak, so that a session the room drops as too slow still sees its inbox close.
    outbox: mpsc::WeakSender<ServerMessage>,
}

/// The switchboard's state, apart from its channels: who is where, and what each track is.
#[derive(Default)]
struct Routes {
    participants: HashMap<MediaParticipant, Route>,
    /// Each publisher's tracks and their kinds (a few each), so that a `view` tile is found
    /// without looking at every track of every room.
    tracks: HashMap<MediaParticipant, Vec<(TrackId, MediaKind)>>,
    /// Each room's active speaker, for those who connect after it was chosen.
    speakers: HashMap<RoomId, MediaParticipant>,
    /// Hidden `view` tiles whose track is not published yet (a page lays out a newcomer's tile,
    /// off its page, before that browser has offered), by subscriber, publisher and source:
    /// paused as soon as the track comes. A visible tile needs no waiting: a new track is
    /// forwarded whole, and the page reports the tile's real size once frames arrive (a tile
    /// without frames yet has no size worth applying).
    waiting: HashMap<(MediaParticipant, MediaParticipant, TrackSource), RoomId>,
}

impl Routes {
    /// The `active_speaker` of `participant`'s room, if it has one yet.
    fn speaker_of_room(&self, participant: MediaParticipant) -> Option<ServerMessage> {
        let room = self.participants.get(&participant)?.room;
        let speaker = self.speakers.get(&room)?;
        Some(ServerMessage::ActiveSpeaker {
            participant: protocol_participant(*speaker),
        })
    }

    /// The publisher's track that carries `source`, named as in `sfu_track`.
    fn track_of(&self, publisher: MediaParticipant, source: TrackSource) -> Option<TrackId> {
        self.tracks
            .get(&publisher)?
            .iter()
            .find(|(track, kind)| source_of(track.mid.as_ref(), Some(*kind)) == source)
            .map(|(track, _)| *track)
    }

    fn kind_of(&self, track: &TrackId) -> Option<MediaKind> {
        self.tracks
            .get(&track.publisher)?
            .iter()
            .find(|(published, _)| published == track)
            .map(|(_, kind)| *kind)
    }

    /// `participant` left the SFU; an empty room forgets its speaker.
    fn leave(&mut self, participant: MediaParticipant) {
        let Some(route) = self.participants.remove(&participant) else {
            return;
        };
        self.waiting.retain(|(subscriber, publisher, _), _| {
            *subscriber != participant && *publisher != participant
        });
        if !self.participants.values().any(|r| r.room == route.room) {
            self.speakers.remove(&route.room);
        }
    }

    /// The subscription a tile asks for, or `None` when its track is not published yet; a hidden
    /// tile then waits for it, if its publisher is in the subscriber's room (so what waits is
    /// bounded by the room).
    fn resolve(
        &mut self,
        room: RoomId,
        subscriber: MediaParticipant,
        tile: ViewTile,
    ) -> Option<Command> {
        let ViewTile {
            publisher,
            source,
            spec,
        } = tile;
        let key = (subscriber, publisher, source);
        match self.track_of(publisher, source) {
            Some(track) => {
                self.waiting.remove(&key);
                Some(Command::SetSubscription {
                    room,
                    subscriber,
                    track,
                    spec,
                })
            }
            None => {
                let in_room = self.participants.get(&publisher).map(|r| r.room);
                if in_room == Some(room) && !spec.visible {
                    self.waiting.insert(key, room);
                } else {
                    self.waiting.remove(&key);
                }
                None
            }
        }
    }

    /// The pauses that waited for `track`.
    fn published(&mut self, track: TrackId, kind: MediaKind) -> Vec<Command> {
        let source = source_of(track.mid.as_ref(), Some(kind));
        let due: Vec<_> = self
            .waiting
            .keys()
            .filter(|(_, publisher, waits_for)| {
                *publisher == track.publisher && *waits_for == source
            })
            .copied()
            .collect();
        due.into_iter()
            .filter_map(|key| {
                let room = self.waiting.remove(&key)?;
                Some(Command::SetSubscription {
                    room,
                    subscriber: key.0,
                    track,
                    spec: SubscriptionSpec::hidden(),
                })
            })
            .collect()
    }

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
                let source = source_of(&track.mid.to_string(), self.kind_of(&track));
                let message = ServerMessage::SfuTrack {
                    participant: protocol_participant(track.publisher),
                    source,
                    mid,
                };
                vec![(participant, message)]
            }
            SfuEvent::ActiveSpeaker { room, participant } => {
                self.speakers.insert(room, participant);
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
                let published = self.tracks.entry(track.publisher).or_default();
                published.retain(|(known, _)| *known != track);
                published.push((track, kind));
                vec![]
            }
            SfuEvent::TrackUnpublished { track, .. } => {
                if let Some(published) = self.tracks.get_mut(&track.publisher) {
                    published.retain(|(known, _)| *known != track);
                    if published.is_empty() {
                        self.tracks.remove(&track.publisher);
                    }
                }
                vec![]
            }
            SfuEvent::Disconnected { participant, .. } => {
                tracing::info!(participant = %protocol_participant(participant), "SFU connection lost");
                vec![(participant, ServerMessage::SfuEnded)]
            }
            SfuEvent::Connected { participant, .. } => {
                tracing::debug!(participant = %protocol_participant(participant), "SFU connected");
                // The speaker was announced before this participant was there to hear it.
                self.speaker_of_room(participant)
                    .map(|message| (participant, message))
                    .into_iter()
                    .collect()
            }
            other => {
                tracing::debug!(event = ?other, "SFU event not routed");
                vec![]
            }
        }
    }
}

/// The one task between the SFU and the sessions; run it with [`SfuSwitchboard::run`].
pub struct SfuSwitchboard {
    handle: SfuHandle,
    events: mpsc::UnboundedReceiver<SfuEvent>,
    requests: mpsc::Receiver<Request>,
    routes: Routes,
}

impl SfuSwitchboard {
    pub(super) fn new(
        handle: SfuHandle,
        events: mpsc::UnboundedReceiver<SfuEvent>,
        requests: mpsc::Receiver<Request>,
    ) -> Self {
        Self {
            handle,
            events,
            requests,
            routes: Routes::default(),
        }
    }

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
                arrival,
                outbox,
                reply,
            } => {
                let route = Route {
                    room,
                    outbox: outbox.downgrade(),
                };
                self.routes.participants.insert(participant, route);
                self.send(Command::Join {
                    room,
                    participant,
                    arrival,
                    reply,
                });
            }
            Request::Leave { room, participant } => {
                self.routes.leave(participant);
                self.send(Command::Leave { room, participant });
            }
            Request::View {
                room,
                subscriber,
                tiles,
            } => {
                for tile in tiles {
                    if let Some(command) = self.routes.resolve(room, subscriber, tile) {
                        self.send(command);
                    }
                }
            }
            Request::Forward(command) => self.send(command),
        }
    }

    fn send(&self, command: Command) {
        // Fails only once the SFU stopped; a waiting session then sees its reply dropped.
        if let Err(err) = self.handle.send(command) {
            tracing::debug!("SFU command not sent: {err}");
        }
    }

    fn on_event(&mut self, event: SfuEvent) {
        if let SfuEvent::TrackPublished { track, kind, .. } = &event {
            for command in self.routes.published(*track, *kind) {
                self.send(command);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TrackSource;
    use crate::rooms::Outbox;
    use huddle_media::Mid;

    fn route(room: u64) -> (Route, (Outbox, mpsc::Receiver<ServerMessage>)) {
        let (outbox, inbox) = mpsc::channel(8);
        let keep = outbox.clone();
        let route = Route {
            room: RoomId(room),
            outbox: outbox.downgrade(),
        };
        (route, (keep, inbox))
    }

    /// Participant 1 of room 1 publishes a track on `mid`.
    fn publish(routes: &mut Routes, mid: &str, kind: MediaKind) -> TrackId {
        let track = TrackId {
            publisher: MediaParticipant(1),
            mid: Mid::from(mid),
        };
        routes.deliveries(SfuEvent::TrackPublished {
            room: RoomId(1),
            track,
            kind,
            rids: vec![],
            msid_track: String::new(),
        });
        track
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

        let track = publish(&mut routes, "abc", MediaKind::Audio);
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
    fn a_tile_names_the_publishers_track_of_its_source_whatever_its_mid() {
        let mut routes = Routes::default();
        // A client with its own mids (aiortc, str0m): audio and camera by kind.
        let audio = publish(&mut routes, "a0", MediaKind::Audio);
        let camera = publish(&mut routes, "v7", MediaKind::Video);
        assert_eq!(
            routes.track_of(MediaParticipant(1), TrackSource::Video),
            Some(camera)
        );
        assert_eq!(
            routes.track_of(MediaParticipant(1), TrackSource::Audio),
            Some(audio)
        );
        assert_eq!(
            routes.track_of(MediaParticipant(1), TrackSource::Screen),
            None
        );
        assert_eq!(
            routes.track_of(MediaParticipant(2), TrackSource::Video),
            None
        );
        // huddle's browser client: the screen by its fixed mid.
        let screen = publish(&mut routes, "2", MediaKind::Video);
        assert_eq!(
            routes.track_of(MediaParticipant(1), TrackSource::Screen),
            Some(screen)
        );
    }

    #[test]
    fn a_hidden_tile_before_its_track_waits_for_it_in_the_room_only() {
        let mut routes = Routes::default();
        let (publisher, _p) = route(1);
        routes.participants.insert(MediaParticipant(1), publisher);
        let hidden = |publisher| ViewTile {
            publisher: MediaParticipant(publisher),
            source: TrackSource::Video,
            spec: SubscriptionSpec::hidden(),
        };
        assert!(routes
            .resolve(RoomId(1), MediaParticipant(2), hidden(1))
            .is_none());
        // Somebody of another room, or nobody: nothing waits for them.
        assert!(routes
            .resolve(RoomId(2), MediaParticipant(3), hidden(1))
            .is_none());
        assert!(routes
            .resolve(RoomId(1), MediaParticipant(2), hidden(9))
            .is_none());
        // A visible tile of a track not there yet waits for nothing: the track comes whole.
        let small = ViewTile {
            spec: SubscriptionSpec::visible(0, 0),
            ..hidden(1)
        };
        assert!(routes
            .resolve(RoomId(1), MediaParticipant(4), small)
            .is_none());
        assert_eq!(routes.waiting.len(), 1);

        let audio = TrackId {
            publisher: MediaParticipant(1),
            mid: Mid::from("0"),
        };
        assert!(routes.published(audio, MediaKind::Audio).is_empty());
        let camera = TrackId {
            publisher: MediaParticipant(1),
            mid: Mid::from("1"),
        };
        let applied = routes.published(camera, MediaKind::Video);
        assert!(matches!(
            &applied[..],
            [Command::SetSubscription { subscriber: MediaParticipant(2), track, spec, .. }]
                if *track == camera && *spec == SubscriptionSpec::hidden()
        ));
        assert!(routes.waiting.is_empty());
    }

    #[test]
    fn who_connects_later_is_told_the_rooms_speaker() {
        let mut routes = Routes::default();
        let (a, _a) = route(1);
        let (b, _b) = route(1);
        let (c, _c) = route(2);
        routes.participants.insert(MediaParticipant(1), a);
        let connected = |routes: &mut Routes, id| {
            routes.deliveries(SfuEvent::Connected {
                room: RoomId(1),
                participant: MediaParticipant(id),
            })
        };
        assert_eq!(connected(&mut routes, 1), vec![], "no speaker yet");
        routes.deliveries(SfuEvent::ActiveSpeaker {
            room: RoomId(1),
            participant: MediaParticipant(1),
        });
        routes.participants.insert(MediaParticipant(2), b);
        routes.participants.insert(MediaParticipant(3), c);
        let told = ServerMessage::ActiveSpeaker {
            participant: protocol_participant(MediaParticipant(1)),
        };
        assert_eq!(connected(&mut routes, 2), vec![(MediaParticipant(2), told)]);
        assert_eq!(connected(&mut routes, 3), vec![], "another room's speaker");

        // Once the room is empty, its speaker is forgotten.
        routes.leave(MediaParticipant(1));
        routes.leave(MediaParticipant(2));
        routes.participants.insert(MediaParticipant(4), route(1).0);
        assert_eq!(connected(&mut routes, 4), vec![]);
    }

    #[test]
    fn a_lost_connection_is_told() {
        let mut routes = Routes::default();
        let (a, _a) = route(1);
        routes.participants.insert(MediaParticipant(1), a);
        let told = routes.deliveries(SfuEvent::Disconnected {
            room: RoomId(1),
            participant: MediaParticipant(1),
        });
        assert_eq!(told, vec![(MediaParticipant(1), ServerMessage::SfuEnded)]);
    }
}
