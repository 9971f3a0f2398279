//! One client's signaling session: from `join` to leaving, with keepalive and rate limiting.

use std::future::pending;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{interval, MissedTickBehavior};

use super::transport::{SfuStep, Transport};
use super::{close_code, RateLimit, Signaling, Verdict};
use crate::protocol::{
    decode_client, encode_server, ClientMessage, ErrorCode, LeaveReason, MediaMode, MediaState,
    ParticipantId, ServerMessage, Signal, Tile, PROTOCOL_VERSION,
};
use crate::rooms::{clean_display_name, JoinError, Profile, RoomName};
use crate::sfu::{SfuBridge, SfuFailure};

/// Messages queued for one participant before it counts as too slow and is dropped.
const OUTBOX_CAPACITY: usize = 256;

/// Where the session is once joined.
struct Membership {
    room: RoomName,
    id: ParticipantId,
    transport: Transport,
    inbox: mpsc::Receiver<ServerMessage>,
    /// Where the SFU writes when the participant joins it later (a switch). Weak, as the SFU
    /// router's own: the room must still be able to close the inbox of a participant too slow.
    outbox: mpsc::WeakSender<ServerMessage>,
}

/// How a session ends.
enum End {
    /// The socket closed or failed, or went silent.
    Gone,
    /// The server closes with this code and reason.
    Close(u16, &'static str),
}

/// What handling one client message asks of the connection.
enum Step {
    Reply(ServerMessage),
    Quiet,
    End(End),
}

impl Signaling {
    /// Runs one connection until it ends, then takes its participant out of the room.
    /// `host` is how the browser reached us (the `Host` header), for the ICE server URLs.
    pub async fn run_session<S, E>(&self, mut socket: S, host: &str)
    where
        S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
    {
        let mut session = Session {
            signaling: self,
            host,
            membership: None,
            rate: RateLimit::new(self.settings.rate, Instant::now()),
        };
        let mut keepalive = interval(self.settings.keepalive_interval);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let end = loop {
            let step = tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(frame)) => {
                        last_heard = Instant::now();
                        session.on_frame(frame).await
                    }
                    _ => Step::End(End::Gone),
                },
                delivery = session.next_delivery() => match delivery {
                    Some(message) => session.on_delivery(message).await,
                    None => Step::End(End::Close(close_code::TRY_AGAIN_LATER, "too slow to follow the room")),
                },
                _ = keepalive.tick() => {
                    let silent = last_heard.elapsed() > self.settings.keepalive_timeout;
                    if silent || socket.send(Message::Ping(Default::default())).await.is_err() {
                        Step::End(End::Gone)
                    } else {
                        Step::Quiet
                    }
                }
                _ = self.shutdown.cancelled() => Step::End(End::Close(close_code::GOING_AWAY, "server shutting down")),
            };
            match step {
                Step::Reply(message) => {
                    let text = encode_server(&message);
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break End::Gone;
                    }
                }
                Step::Quiet => {}
                Step::End(end) => break end,
            }
        };
        session.leave(LeaveReason::Disconnected).await;
        if let End::Close(code, reason) = end {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            // The client may already be gone; there is nobody left to tell then.
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
    }
}

struct Session<'a> {
    signaling: &'a Signaling,
    host: &'a str,
    membership: Option<Membership>,
    rate: RateLimit,
}

impl Session<'_> {
    async fn next_delivery(&mut self) -> Option<ServerMessage> {
        match &mut self.membership {
            Some(membership) => membership.inbox.recv().await,
            None => pending().await,
        }
    }

    async fn on_frame(&mut self, frame: Message) -> Step {
        match frame {
            Message::Text(text) => self.on_text(text.as_str()).await,
            Message::Binary(_) => self.error(
                ErrorCode::MalformedMessage,
                "binary frames are not part of the protocol",
            ),
            Message::Close(_) => Step::End(End::Gone),
            Message::Ping(_) | Message::Pong(_) => Step::Quiet,
        }
    }

    async fn on_text(&mut self, text: &str) -> Step {
        match self.rate.check(Instant::now()) {
            Verdict::Allow => {}
            Verdict::Refuse => {
                return self.error(ErrorCode::RateLimited, "too many messages, slow down")
            }
            Verdict::Disconnect => {
                self.signaling.metrics.count_error(ErrorCode::RateLimited);
                return Step::End(End::Close(close_code::POLICY, "rate limit exceeded"));
            }
        }
        let message = match decode_client(text) {
            Ok(message) => message,
            Err(err) => return self.error(err.code(), err.to_string()),
        };
        self.signaling.metrics.count_message(message.kind());
        match message {
            ClientMessage::Join {
                room,
                name,
                version,
                media,
            } => self.join(&room, &name, version, media).await,
            ClientMessage::Update { media, name } => self.update(media, name).await,
            ClientMessage::Signal { to, signal } => self.relay(to, signal).await,
            ClientMessage::SfuSignal { signal } => self.sfu_signal(signal).await,
            ClientMessage::View { tiles } => self.view(tiles).await,
            ClientMessage::Ping => Step::Reply(ServerMessage::Pong),
            ClientMessage::Leave => {
                self.leave(LeaveReason::Left).await;
                Step::End(End::Close(close_code::NORMAL, "left"))
            }
        }
    }

    async fn join(&mut self, room: &str, name: &str, version: u32, media: MediaState) -> Step {
        if self.membership.is_some() {
            return self.error(
                ErrorCode::AlreadyJoined,
                "this connection has already joined a room",
            );
        }
        if version != PROTOCOL_VERSION {
            return self.error(
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}, not {version}"),
            );
        }
        let room = match RoomName::parse(room) {
            Ok(room) => room,
            Err(err) => return self.error(ErrorCode::InvalidRoom, err.to_string()),
        };
        let name = match clean_display_name(name) {
            Ok(name) => name,
            Err(err) => return self.error(ErrorCode::InvalidName, err.to_string()),
        };
        let (outbox, inbox) = mpsc::channel(OUTBOX_CAPACITY);
        let registry = &self.signaling.registry;
        let sfu_outbox = outbox.clone();
        match registry.join(&room, Profile { name, media }, outbox).await {
            Ok(admission) => {
                let transport = Transport::joined(admission.settings.media_mode);
                if transport.uses_sfu() {
                    if let Err(failure) = self.join_sfu(&room, &admission.id, &sfu_outbox).await {
                        registry
                            .leave(&room, &admission.id, LeaveReason::Disconnected)
                            .await;
                        return self.error(failure.code(), failure.to_string());
                    }
                }
                tracing::info!(room = %room, participant = %admission.id, "joined");
                let joined = ServerMessage::Joined {
                    version: PROTOCOL_VERSION,
                    you: admission.id.clone(),
                    room: room.to_string(),
                    participants: admission.others,
                    ice_servers: self
                        .signaling
                        .settings
                        .ice
                        .for_participant(self.host, &admission.id),
                    settings: admission.settings,
                };
                self.membership = Some(Membership {
                    room,
                    id: admission.id,
                    transport,
                    inbox,
                    outbox: sfu_outbox.downgrade(),
                });
                Step::Reply(joined)
            }
            Err(JoinError::Full(full)) => self.error(ErrorCode::RoomFull, full.to_string()),
        }
    }

    async fn update(&mut self, media: MediaState, name: Option<String>) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        let name = match name.as_deref().map(clean_display_name).transpose() {
            Ok(name) => name,
            Err(err) => return self.error(ErrorCode::InvalidName, err.to_string()),
        };
        let registry = &self.signaling.registry;
        registry
            .update(&membership.room, &membership.id, media, name)
            .await;
        Step::Quiet
    }

    async fn join_sfu(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        outbox: &mpsc::Sender<ServerMessage>,
    ) -> Result<(), SfuFailure> {
        let sfu = self.sfu().ok_or(SfuFailure::Unavailable)?;
        sfu.join(room, id, outbox.clone()).await
    }

    /// A message from the room on its way to the client. A media mode switch first changes this
    /// participant's transport, so that the SFU has its place before the browser offers to it.
    async fn on_delivery(&mut self, message: ServerMessage) -> Step {
        if let ServerMessage::MediaMode { mode } = message {
            if let Err(failure) = self.switch(mode).await {
                return self.sfu_failure(failure);
            }
        }
        Step::Reply(message)
    }

    async fn switch(&mut self, mode: MediaMode) -> Result<(), SfuFailure> {
        let Some(membership) = &self.membership else {
            return Ok(());
        };
        let (transport, step) = membership.transport.switch(mode);
        let (room, id) = (&membership.room, &membership.id);
        if step == SfuStep::Rejoin {
            if let Some(sfu) = self.sfu() {
                sfu.leave(room, id).await;
            }
        }
        if step != SfuStep::Nothing {
            // No outbox left: the room dropped this session, whose loop ends with the inbox.
            let Some(outbox) = membership.outbox.upgrade() else {
                return Ok(());
            };
            self.join_sfu(room, id, &outbox).await?;
        }
        tracing::info!(room = %room, participant = %id, ?transport, "media mode switch");
        if let Some(membership) = &mut self.membership {
            membership.transport = transport;
        }
        Ok(())
    }

    async fn relay(&mut self, to: ParticipantId, signal: Signal) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        if !membership.transport.uses_mesh() {
            return self.wrong_media_mode("signal", MediaMode::Sfu);
        }
        let registry = &self.signaling.registry;
        match registry
            .relay(&membership.room, &membership.id, &to, signal)
            .await
        {
            Ok(()) => Step::Quiet,
            Err(err) => self.error(ErrorCode::UnknownParticipant, err.to_string()),
        }
    }

    async fn sfu_signal(&mut self, signal: Signal) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        if !membership.transport.uses_sfu() {
            return self.wrong_media_mode("sfu_signal", MediaMode::Mesh);
        }
        let Some(sfu) = self.sfu() else {
            return self.sfu_failure(SfuFailure::Unavailable);
        };
        match sfu.signal(&membership.room, &membership.id, signal).await {
            Ok(Some(signal)) => Step::Reply(ServerMessage::SfuSignal { signal }),
            Ok(None) => Step::Quiet,
            Err(failure) => self.sfu_failure(failure),
        }
    }

    async fn view(&mut self, tiles: Vec<Tile>) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        if !membership.transport.uses_sfu() {
            return self.wrong_media_mode("view", MediaMode::Mesh);
        }
        let Some(sfu) = self.sfu() else {
            return self.sfu_failure(SfuFailure::Unavailable);
        };
        match sfu.view(&membership.room, &membership.id, tiles).await {
            Ok(()) => Step::Quiet,
            Err(failure) => self.sfu_failure(failure),
        }
    }

    async fn leave(&mut self, reason: LeaveReason) {
        if let Some(membership) = self.membership.take() {
            if membership.transport.uses_sfu() {
                if let Some(sfu) = self.sfu() {
                    sfu.leave(&membership.room, &membership.id).await;
                }
            }
            let registry = &self.signaling.registry;
            registry
                .leave(&membership.room, &membership.id, reason)
                .await;
            tracing::info!(room = %membership.room, participant = %membership.id, ?reason, "left");
        }
    }

    fn sfu(&self) -> Option<&SfuBridge> {
        self.signaling.sfu.as_ref()
    }

    fn wrong_media_mode(&self, kind: &str, mode: MediaMode) -> Step {
        let message = format!("{kind} is not used in a {} room", mode.as_str());
        self.error(ErrorCode::WrongMediaMode, message)
    }

    fn sfu_failure(&self, failure: SfuFailure) -> Step {
        self.error(failure.code(), failure.to_string())
    }

    fn not_joined(&self) -> Step {
        self.error(ErrorCode::NotJoined, "join a room first")
    }

    fn error(&self, code: ErrorCode, message: impl Into<String>) -> Step {
        let message = message.into();
        tracing::info!(code = code.as_str(), %message, "signaling error");
        self.signaling.metrics.count_error(code);
        Step::Reply(ServerMessage::error(code, message))
    }
}
