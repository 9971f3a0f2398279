//! One client's signaling session: from `join` to leaving, with keepalive and rate limiting.

use std::future::pending;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{interval, MissedTickBehavior};

use super::transport::Transport;
use super::{close_code, Peer, RateLimit, Signaling, Verdict};
use crate::access::{Identity, KindLimits};
use crate::collab::Caller;
use crate::identity::AuthorKey;
use crate::protocol::{
    decode_client, encode_server, ClientMessage, ErrorCode, Knock, LeaveReason, MediaMode,
    MediaState, ParticipantId, Removal, Role, ServerMessage, Signal, ViewerRule,
};
use crate::rooms::{clean_display_name, Moved, RelayError, RoomName};
use crate::sfu::{Gate, SfuFailure};
use crate::token_bucket::TokenBucket;

/// How long a closing session waits for the client to answer its close frame.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(1);

/// Where the session is once joined.
pub(super) struct Membership {
    pub room: RoomName,
    pub id: ParticipantId,
    /// Who the participant is for what they make (crate::identity).
    pub author: AuthorKey,
    /// Their display name now, which signs their chat messages.
    pub name: String,
    pub transport: Transport,
    pub role: Role,
    pub inbox: mpsc::Receiver<ServerMessage>,
    /// Where the SFU writes when the participant joins it later (a switch). Weak, as the SFU
    /// switchboard's own: the room must still be able to close the inbox of a participant too slow.
    pub outbox: mpsc::WeakSender<ServerMessage>,
    /// What the SFU forwards of this participant: closed by a host's mute until they unmute.
    pub gate: Gate,
}

/// A visitor in the lobby, waiting for a host's answer.
pub(super) struct Waiting {
    pub room: RoomName,
    pub knock: Knock,
    pub newcomer: Newcomer,
    pub decision: oneshot::Receiver<bool>,
}

/// Who is joining, once their credentials are checked.
pub(super) struct Newcomer {
    pub name: String,
    pub media: MediaState,
    pub role: Role,
    /// What a kick bans (crate::access::Visitor::identities).
    pub identities: Vec<Identity>,
    /// Who they are for what they make (chat, scheduled messages, whiteboard items).
    pub author: AuthorKey,
    /// A member of the room on its former home, coming with its pass.
    pub moved: Option<Moved>,
}

/// What arrives for the session from elsewhere than its socket.
enum News {
    /// `None`: the room dropped this participant as too slow.
    Delivery(Option<ServerMessage>),
    LobbyDecision(bool),
}

impl Membership {
    pub(super) fn caller(&self) -> Caller<'_> {
        Caller {
            room: &self.room,
            id: &self.id,
            author: &self.author,
            name: &self.name,
        }
    }
}

/// How a session ends.
pub(super) enum End {
    /// The client closed the connection (a tab closed, a page left): it left the room.
    Closed,
    /// The socket failed or went silent: the participant lost its connection.
    Gone,
    /// The server closes with this code and reason.
    Close(u16, &'static str),
}

/// What handling one client message asks of the connection.
pub(super) enum Step {
    Reply(ServerMessage),
    /// Several messages, in this order.
    Replies(Vec<ServerMessage>),
    /// Say this, then end.
    Last(ServerMessage, End),
    Quiet,
    End(End),
}

impl Signaling {
    /// Runs one connection until it ends, then takes its participant out of the room.
    /// `peer` is who connected and how they reached us (the `Host` header, for ICE server URLs).
    pub async fn run_session<S, E>(&self, mut socket: S, peer: &Peer)
    where
        S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
    {
        let now = Instant::now();
        let mut session = Session {
            signaling: self,
            peer,
            membership: None,
            waiting: None,
            rate: RateLimit::new(self.settings.rate, now),
            kind_limits: KindLimits::new(&self.access.kind_rates, now),
            history_allowance: super::collaboration::history_allowance(now),
        };
        // A socket that takes nothing for as long as a silent one may stay is as dead.
        let wait = self.settings.keepalive_timeout;
        let mut keepalive = interval(self.settings.keepalive_interval);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        // Frames written since the last flush: they go out together once no delivery waits, so
        // the arrivals a big room announces together (`rooms::ARRIVALS_BATCHED_FROM`) take one
        // write rather than one system call each.
        let mut unflushed = false;
        let end = 'session: loop {
            if unflushed && !session.has_news_waiting() {
                if flush(&mut socket, wait).await.is_err() {
                    break End::Gone;
                }
                unflushed = false;
            }
            let step = tokio::select! {
                // The client's frames first: after the session waited on the server (the SFU, the
                // database), what the client sent meanwhile is read before the keepalive asks
                // whether it has been silent. Its rate limit keeps it from starving the rest.
                biased;
                frame = socket.next() => match frame {
                    Some(Ok(frame)) => {
                        last_heard = Instant::now();
                        session.on_frame(frame).await
                    }
                    _ => Step::End(End::Gone),
                },
                news = session.next_news() => match news {
                    News::Delivery(Some(message)) => session.on_delivery(message).await,
                    News::Delivery(None) => Step::End(End::Close(close_code::TRY_AGAIN_LATER, "too slow to follow the room")),
                    News::LobbyDecision(admitted) => session.on_lobby_decision(admitted).await,
                },
                _ = keepalive.tick() => {
                    let silent = last_heard.elapsed() > self.settings.keepalive_timeout;
                    let ping = Message::Ping(Default::default());
                    if silent || send_frame(&mut socket, ping, wait).await.is_err() {
                        Step::End(End::Gone)
                    } else {
                        Step::Quiet
                    }
                }
                _ = self.shutdown.cancelled() => Step::End(End::Close(close_code::GOING_AWAY, "server shutting down")),
            };
            match step {
                Step::Reply(message) => {
                    if feed(&mut socket, &message, wait).await.is_err() {
                        break End::Gone;
                    }
                    unflushed = true;
                }
                Step::Replies(messages) => {
                    for message in &messages {
                        if feed(&mut socket, message, wait).await.is_err() {
                            break 'session End::Gone;
                        }
                    }
                    unflushed = true;
                }
                Step::Last(message, end) => {
                    if feed(&mut socket, &message, wait).await.is_ok() {
                        let _ = flush(&mut socket, wait).await;
                    }
                    break end;
                }
                Step::Quiet => {}
                Step::End(end) => break end,
            }
        };
        session.leave_lobby().await;
        let reason = match end {
            End::Closed => LeaveReason::Left,
            End::Gone | End::Close(..) => LeaveReason::Disconnected,
        };
        session.leave(reason).await;
        if let End::Close(code, reason) = end {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            // The client may already be gone; there is nobody left to tell then.
            let close = Message::Close(Some(frame));
            if send_frame(&mut socket, close, CLOSE_REPLY_WAIT)
                .await
                .is_ok()
            {
                // Wait for the client's close reply: closing the TCP connection before it
                // arrives makes the client's kernel reset it, which may discard what we said
                // last (the `removed` or `error` explaining why) before the page reads it.
                let reply = async {
                    while let Some(Ok(frame)) = socket.next().await {
                        if let Message::Close(_) = frame {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(CLOSE_REPLY_WAIT, reply).await;
            }
        }
    }
}

/// Gives up on a write to the socket after `wait`: a frozen client whose socket takes nothing
/// must not hold its session (and its connection) open while data keeps coming for it.
async fn within<E>(
    wait: Duration,
    write: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), Unsent> {
    match tokio::time::timeout(wait, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(Unsent),
    }
}

/// A frame the socket did not take in time, or at all.
struct Unsent;

/// Sends one frame at once.
async fn send_frame<S: Sink<Message> + Unpin>(
    socket: &mut S,
    frame: Message,
    wait: Duration,
) -> Result<(), Unsent> {
    within(wait, socket.send(frame)).await
}

/// Writes one message without sending it yet (see [`flush`]).
async fn feed<S: Sink<Message> + Unpin>(
    socket: &mut S,
    message: &ServerMessage,
    wait: Duration,
) -> Result<(), Unsent> {
    let frame = Message::Text(encode_server(message).into());
    within(wait, socket.feed(frame)).await
}

/// Sends what [`feed`] wrote.
async fn flush<S: Sink<Message> + Unpin>(socket: &mut S, wait: Duration) -> Result<(), Unsent> {
    within(wait, socket.flush()).await
}

pub(super) struct Session<'a> {
    pub signaling: &'a Signaling,
    pub peer: &'a Peer,
    pub membership: Option<Membership>,
    pub waiting: Option<Waiting>,
    rate: RateLimit,
    kind_limits: KindLimits,
    /// Chat history bytes this connection may still read (signaling::collaboration).
    pub history_allowance: TokenBucket,
}

impl Session<'_> {
    /// A delivery is already queued for this session.
    fn has_news_waiting(&self) -> bool {
        self.membership
            .as_ref()
            .is_some_and(|membership| !membership.inbox.is_empty())
    }

    /// What the room sends once joined, or a host's answer while waiting in the lobby.
    async fn next_news(&mut self) -> News {
        if let Some(membership) = &mut self.membership {
            return News::Delivery(membership.inbox.recv().await);
        }
        match self.waiting.as_mut() {
            Some(waiting) => News::LobbyDecision((&mut waiting.decision).await.unwrap_or(false)),
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
            Message::Close(_) => Step::End(End::Closed),
            Message::Ping(_) | Message::Pong(_) => Step::Quiet,
        }
    }

    async fn on_text(&mut self, text: &str) -> Step {
        match self.rate.check(text.len(), Instant::now()) {
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
        if let Some(refusal) = self.refused_to_viewer(&message).await {
            return refusal;
        }
        let limited = message.rate_class();
        if limited.is_some_and(|class| !self.kind_limits.allow(class, Instant::now())) {
            self.signaling.metrics.count_refusal("message_kind_rate");
            return self.error(
                ErrorCode::RateLimited,
                "too many of these messages, slow down",
            );
        }
        match message {
            ClientMessage::Join(request) => self.join(request).await,
            ClientMessage::Moderate { action } => self.moderate(action).await,
            ClientMessage::Update { media, name } => self.update(media, name).await,
            ClientMessage::Signal { to, signal } => self.relay(to, signal).await,
            ClientMessage::SfuSignal { signal } => self.sfu_signal(signal).await,
            ClientMessage::SfuConnect => self.sfu_connect().await,
            ClientMessage::View { tiles } => self.view(tiles).await,
            ClientMessage::Ping => Step::Reply(ServerMessage::Pong),
            ClientMessage::Leave => {
                self.leave(LeaveReason::Left).await;
                Step::End(End::Close(close_code::NORMAL, "left"))
            }
            collaboration => self.collaborate(collaboration).await,
        }
    }

    /// The `forbidden` answer to a viewer's message that viewers may not send here.
    async fn refused_to_viewer(&self, message: &ClientMessage) -> Option<Step> {
        let membership = self.membership.as_ref()?;
        if membership.role != Role::Viewer {
            return None;
        }
        let why = match message.viewer_rule() {
            ViewerRule::Allowed => return None,
            ViewerRule::IfViewersChat => {
                let entrances = &self.signaling.access.entrances;
                let access = entrances.access(&membership.room).await.unwrap_or_default();
                if access.viewers_chat {
                    return None;
                }
                "viewers read this room's chat but do not write in it"
            }
            ViewerRule::Forbidden => "viewers do not draw, title or schedule",
        };
        Some(self.error(ErrorCode::Forbidden, why))
    }

    async fn update(&mut self, media: MediaState, name: Option<String>) -> Step {
        let Some(membership) = &mut self.membership else {
            return self.not_joined();
        };
        let name = match name.as_deref().map(clean_display_name).transpose() {
            Ok(name) => name,
            Err(err) => return self.error(ErrorCode::InvalidName, err.to_string()),
        };
        let sends = media.audio || media.video || media.screen;
        if sends && !membership.role.may_publish() {
            return self.error(ErrorCode::Forbidden, "viewers receive only");
        }
        if let Err(failure) = self.reopen_forwarding(media).await {
            return self.sfu_failure(failure);
        }
        let Some(membership) = &mut self.membership else {
            return self.not_joined();
        };
        if let Some(name) = &name {
            membership.name.clone_from(name);
        }
        let registry = self.signaling.registry();
        registry
            .update(&membership.room, &membership.id, media, name)
            .await;
        Step::Quiet
    }

    async fn relay(&mut self, to: ParticipantId, signal: Signal) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        if !membership.transport.uses_mesh() {
            return self.wrong_media_mode("signal", MediaMode::Sfu);
        }
        if !membership.role.may_publish() && super::publishing::sends_media(&signal) {
            return self.error(
                ErrorCode::Forbidden,
                "viewers receive only: no sending in SDP",
            );
        }
        let registry = self.signaling.registry();
        match registry
            .relay(&membership.room, &membership.id, &to, signal)
            .await
        {
            Ok(()) => Step::Quiet,
            Err(err @ RelayError::UnknownParticipant(_)) => {
                self.error(ErrorCode::UnknownParticipant, err.to_string())
            }
            Err(err @ RelayError::RecipientBusy(_)) => {
                self.error(ErrorCode::RecipientBusy, err.to_string())
            }
        }
    }

    pub(super) async fn leave(&mut self, reason: LeaveReason) {
        if let Some(membership) = self.membership.take() {
            if membership.transport.uses_sfu() {
                if let Some(sfu) = self.sfu() {
                    sfu.leave(&membership.room, &membership.id).await;
                }
            }
            let registry = self.signaling.registry();
            registry
                .leave(&membership.room, &membership.id, reason)
                .await;
            let empty = registry.members(&membership.room).await.is_empty();
            let entrances = &self.signaling.access.entrances;
            entrances.left(&membership.room, &membership.id, empty);
            tracing::info!(room = %membership.room, participant = %membership.id, ?reason, "left");
        }
    }

    /// What the room sends this participant; some of it concerns the session itself. A media
    /// mode switch first changes this participant's transport, so that the SFU has its place
    /// before the browser offers to it.
    async fn on_delivery(&mut self, message: ServerMessage) -> Step {
        match &message {
            ServerMessage::MediaMode { mode } => {
                if let Err(failure) = self.switch(*mode).await {
                    return self.cannot_follow(failure);
                }
            }
            ServerMessage::ParticipantUpdated { participant } => {
                if let Some(membership) = self.membership.as_mut() {
                    if membership.id == participant.id {
                        membership.role = participant.role;
                    }
                }
            }
            ServerMessage::Moderated { action, .. } => {
                if let Some(membership) = self.membership.as_mut() {
                    membership.gate.close(*action);
                }
                if let Err(failure) = self.apply_forwarding().await {
                    tracing::debug!("forwarding not applied: {failure}");
                }
            }
            // The room moved to another node (its lease here was lost): join it there, or
            // again shortly when where is not known yet.
            ServerMessage::Redirect { .. } => {
                return Step::Last(message, End::Close(close_code::NORMAL, "the room moved"));
            }
            ServerMessage::Error {
                code: ErrorCode::RoomMoving,
                ..
            } => {
                let end = End::Close(close_code::TRY_AGAIN_LATER, "the room is moving");
                return Step::Last(message, end);
            }
            ServerMessage::Removed { reason, .. } => {
                let end = match reason {
                    Removal::MeetingEnded => End::Close(close_code::NORMAL, "meeting ended"),
                    Removal::Kicked | Removal::Denied => {
                        End::Close(close_code::POLICY, reason.describe())
                    }
                };
                return Step::Last(message, end);
            }
            _ => {}
        }
        Step::Reply(message)
    }

    pub(super) fn wrong_media_mode(&self, kind: &str, mode: MediaMode) -> Step {
        let message = format!("{kind} is not used in a {} room", mode.as_str());
        self.error(ErrorCode::WrongMediaMode, message)
    }

    /// The room moved its media where this participant cannot follow (the SFU failed): rather
    /// than stay on a path the room no longer uses, the session ends, and the client reconnects
    /// and joins again (docs/protocol.md, close code 1013).
    fn cannot_follow(&self, failure: SfuFailure) -> Step {
        tracing::warn!(%failure, "could not follow the room's media mode switch");
        let code = failure.code();
        self.signaling.metrics.count_error(code);
        let error = ServerMessage::error(code, failure.to_string());
        let end = End::Close(
            close_code::TRY_AGAIN_LATER,
            "could not follow the room's media",
        );
        Step::Last(error, end)
    }

    pub(super) fn sfu_failure(&self, failure: SfuFailure) -> Step {
        self.error(failure.code(), failure.to_string())
    }

    pub(super) fn not_joined(&self) -> Step {
        self.error(ErrorCode::NotJoined, "join a room first")
    }

    pub(super) fn error(&self, code: ErrorCode, message: impl Into<String>) -> Step {
        let message = message.into();
        tracing::info!(code = code.as_str(), %message, "signaling error");
        self.signaling.metrics.count_error(code);
        Step::Reply(ServerMessage::error(code, message))
    }
}
