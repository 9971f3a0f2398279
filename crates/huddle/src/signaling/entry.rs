//! `join`: credentials (token, password), the room's entrance (lock, lobby, bans), then the
//! registry and, in sfu rooms, the SFU.

use std::time::Instant;

use tokio::sync::mpsc;

use super::close_code;
use super::session::{End, Newcomer, Session, Step, Waiting};
use super::transport::Transport;
use crate::access::{Entry, JoinClaims, Refusal, Visitor};
use crate::identity::AuthorKey;
use crate::protocol::{
    Credentials, ErrorCode, JoinRequest, LeaveReason, MediaState, Removal, Role, ServerMessage,
    PROTOCOL_VERSION,
};
use crate::rooms::{clean_display_name, Audience, Away, JoinError, Pass, Profile, RoomName};
use crate::sfu::Gate;

/// Messages queued for one participant before it counts as too slow and is dropped.
const OUTBOX_CAPACITY: usize = 256;

impl Session<'_> {
    pub(super) async fn join(&mut self, request: JoinRequest) -> Step {
        let JoinRequest {
            room,
            name,
            version,
            media,
            identity,
            credentials,
            home,
            pass,
        } = request;
        if self.membership.is_some() || self.waiting.is_some() {
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
        let room = match RoomName::parse(&room) {
            Ok(room) => room,
            Err(err) => return self.error(ErrorCode::InvalidRoom, err.to_string()),
        };
        let access = &self.signaling.access;
        if let Err(retry) = access.joins.take(self.peer.ip, Instant::now()) {
            self.signaling.metrics.count_refusal("joins_per_ip");
            let retry = retry.as_secs().max(1);
            let message = format!("too many attempts, retry in {retry} s");
            return self.error(ErrorCode::TooManyAttempts, message);
        }
        let author = match identity.as_deref().map(AuthorKey::from_identity) {
            None => AuthorKey::random(),
            Some(Ok(author)) => author,
            Some(Err(err)) => return self.error(ErrorCode::MalformedMessage, err.to_string()),
        };
        if let Err(away) = self.signaling.registry().home(&room, home.as_deref()).await {
            return self.away(away);
        }
        if let Some(pass) = pass {
            let registry = self.signaling.registry();
            match registry.redeem(&room, &pass).await {
                Some(pass) => return self.move_in(room, pass, media, author, &credentials).await,
                None => tracing::info!(room = %room, "a pass used or expired: an ordinary join"),
            }
        }
        let claims = match self.check_token(&room, credentials.token.as_deref()) {
            Ok(claims) => claims,
            Err((code, message)) => return self.error(code, message),
        };
        let name = claims
            .as_ref()
            .and_then(|claims| claims.name.as_deref())
            .unwrap_or(&name);
        let name = match clean_display_name(name) {
            Ok(name) => name,
            Err(err) => return self.error(ErrorCode::InvalidName, err.to_string()),
        };
        let visitor = Visitor {
            ip: self.peer.ip,
            token: claims.as_ref(),
            password: credentials.password.as_deref(),
        };
        let arrival = self.signaling.registry().arrival(&room, &author).await;
        let entry = access.entrances.check(&room, &visitor, arrival).await;
        let newcomer = Newcomer {
            name,
            media,
            role: claims
                .as_ref()
                .map_or(Role::Participant, |claims| claims.role),
            identities: visitor.identities(),
            author,
            moved: None,
        };
        match entry {
            Ok(Entry::Enter) => self.enter(room, newcomer).await,
            Ok(Entry::Wait) => self.wait_in_lobby(room, newcomer).await,
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// A member of the room on its former home takes its place here with the pass it was given
    /// there: the entrance let it in already (a lock or a lobby since must not shut it out, nor
    /// an invitation that expired during the meeting).
    async fn move_in(
        &mut self,
        room: RoomName,
        pass: Pass,
        media: MediaState,
        author: AuthorKey,
        credentials: &Credentials,
    ) -> Step {
        if pass.locked {
            let entrances = &self.signaling.access.entrances;
            if let Err(err) = entrances.set_locked(&room, true).await {
                tracing::warn!(room = %room, %err, "cannot keep the moving room locked");
            }
        }
        let token = self
            .check_token(&room, credentials.token.as_deref())
            .ok()
            .flatten();
        let visitor = Visitor {
            ip: self.peer.ip,
            token: token.as_ref(),
            password: None,
        };
        let newcomer = Newcomer {
            name: pass.name,
            media,
            role: pass.role,
            identities: visitor.identities(),
            author,
            moved: Some(pass.moved),
        };
        self.enter(room, newcomer).await
    }

    /// The token's claims, `None` without a token, or the error to answer.
    fn check_token(
        &self,
        room: &RoomName,
        token: Option<&str>,
    ) -> Result<Option<JoinClaims>, (ErrorCode, String)> {
        let access = &self.signaling.access;
        match token {
            Some(token) => access
                .tokens
                .verify(token, room)
                .map(Some)
                .map_err(|err| (err.code(), err.to_string())),
            None if access.require_token => Err((
                ErrorCode::TokenRequired,
                "this server lets people in with an invitation link only".to_owned(),
            )),
            None => Ok(None),
        }
    }

    /// The room is not homed here: the client joins again on its home, or a little later.
    fn away(&self, away: Away) -> Step {
        match away {
            Away::Elsewhere { url, node } => {
                tracing::debug!(%node, "redirected to the room's home");
                let redirect = ServerMessage::Redirect { url, node };
                Step::Last(redirect, End::Close(close_code::NORMAL, "redirected"))
            }
            Away::Moving => self.error(ErrorCode::RoomMoving, away.to_string()),
        }
    }

    fn refuse(&self, refusal: Refusal) -> Step {
        if let Refusal::TooManyAttempts(_) = refusal {
            self.signaling.metrics.count_refusal("password_attempts");
        }
        self.error(refusal.code(), refusal.to_string())
    }

    async fn wait_in_lobby(&mut self, room: RoomName, newcomer: Newcomer) -> Step {
        let entrances = &self.signaling.access.entrances;
        let (knock, decision) = entrances.knock(&room, newcomer.name.clone());
        let knocking = ServerMessage::Knocking {
            participant: knock.clone(),
        };
        let _ = self.tell(&room, Audience::Hosts, knocking).await;
        tracing::info!(room = %room, knock = %knock.id, "waiting in the lobby");
        self.waiting = Some(Waiting {
            room: room.clone(),
            knock,
            newcomer,
            decision,
        });
        Step::Reply(ServerMessage::Waiting {
            room: room.to_string(),
        })
    }

    pub(super) async fn on_lobby_decision(&mut self, admitted: bool) -> Step {
        let Some(waiting) = self.waiting.take() else {
            return Step::Quiet;
        };
        if admitted {
            self.enter(waiting.room, waiting.newcomer).await
        } else {
            let reason = Removal::Denied;
            let message = ServerMessage::Removed {
                reason,
                message: reason.describe().to_owned(),
            };
            Step::Last(message, End::Close(close_code::POLICY, reason.describe()))
        }
    }

    /// A visitor who goes away while waiting no longer needs an answer.
    pub(super) async fn leave_lobby(&mut self) {
        if let Some(waiting) = self.waiting.take() {
            let entrances = &self.signaling.access.entrances;
            entrances.withdraw(&waiting.room, &waiting.knock.id);
            let ended = ServerMessage::KnockEnded {
                id: waiting.knock.id,
            };
            let _ = self.tell(&waiting.room, Audience::Hosts, ended).await;
        }
    }

    async fn enter(&mut self, room: RoomName, newcomer: Newcomer) -> Step {
        let (outbox, inbox) = mpsc::channel(OUTBOX_CAPACITY);
        let registry = self.signaling.registry();
        let sfu_outbox = outbox.clone();
        let profile = Profile {
            name: newcomer.name.clone(),
            media: newcomer.media,
            role: newcomer.role,
            author: newcomer.author.clone(),
            moved: newcomer.moved,
        };
        let welcome = match self.signaling.collab.join(&room, profile, outbox).await {
            Ok(welcome) => welcome,
            Err(JoinError::Full(full)) => return self.error(ErrorCode::RoomFull, full.to_string()),
            Err(JoinError::Away(away)) => return self.away(away),
            Err(taken @ JoinError::Taken(_)) => {
                return self.error(ErrorCode::AlreadyJoined, taken.to_string())
            }
        };
        let admission = welcome.admission;
        let transport = Transport::joined(admission.settings.media_mode);
        if transport.uses_sfu() {
            if let Err(failure) = self.join_sfu(&room, &admission.id, &sfu_outbox).await {
                registry
                    .leave(&room, &admission.id, LeaveReason::Disconnected)
                    .await;
                return self.sfu_failure(failure);
            }
        }
        let entrances = &self.signaling.access.entrances;
        entrances
            .entered(&room, &admission.id, newcomer.identities)
            .await;
        let access = entrances.access(&room).await.unwrap_or_default();
        tracing::info!(room = %room, participant = %admission.id, role = admission.role.as_str(), "joined");
        let joined = ServerMessage::Joined {
            version: PROTOCOL_VERSION,
            you: admission.id.clone(),
            room: room.to_string(),
            participants: admission.others,
            ice_servers: self
                .signaling
                .settings
                .ice
                .for_participant(&self.peer.host, &admission.id),
            settings: admission.settings,
            role: admission.role,
            access,
            title: welcome.title,
            hands: admission.hands,
        };
        self.membership = Some(super::session::Membership {
            room,
            id: admission.id,
            author: newcomer.author,
            name: newcomer.name,
            transport,
            role: admission.role,
            inbox,
            outbox: sfu_outbox.downgrade(),
            gate: Gate::default(),
        });
        // A join is all or nothing: whoever is not told `joined` is not in the room either.
        if let Err(failure) = self.apply_forwarding().await {
            self.leave(LeaveReason::Disconnected).await;
            return self.sfu_failure(failure);
        }
        if admission.role.may_moderate() {
            self.show_knocks().await;
        }
        Step::Replies([joined].into_iter().chain(welcome.then).collect())
    }
}
