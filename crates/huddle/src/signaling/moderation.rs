//! `moderate`: what hosts do to others and to the room, enforced here (only hosts may), and the
//! notices that go with it.

use super::session::{Session, Step};
use crate::access::PasswordChangeError;
use crate::protocol::{
    ErrorCode, ModeratedAction, Moderation, ParticipantId, Removal, Role, ServerMessage,
};
use crate::rooms::{Audience, MemberChange, Notice, RelayError, RoomName};

impl Session<'_> {
    pub(super) async fn moderate(&mut self, action: Moderation) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        if !membership.role.may_moderate() {
            return self.error(ErrorCode::Forbidden, "only hosts moderate");
        }
        let (room, me) = (membership.room.clone(), membership.id.clone());
        tracing::info!(room = %room, host = %me, ?action, "moderation");
        match action {
            Moderation::Mute { participant } => {
                self.turn_off(&room, &me, &participant, ModeratedAction::Mute)
                    .await
            }
            Moderation::StopVideo { participant } => {
                self.turn_off(&room, &me, &participant, ModeratedAction::StopVideo)
                    .await
            }
            Moderation::Kick { participant } if participant == me => {
                self.error(ErrorCode::Forbidden, "leave instead of removing yourself")
            }
            Moderation::Kick { participant } => self.kick(&room, &participant).await,
            Moderation::Admit { participant } => self.answer_knock(&room, &participant, true).await,
            Moderation::Deny { participant } => self.answer_knock(&room, &participant, false).await,
            Moderation::HandOverHost { participant } => {
                self.hand_over_host(&room, &me, &participant).await
            }
            Moderation::Lock { locked } => {
                let access = self
                    .signaling
                    .access
                    .entrances
                    .set_locked(&room, locked)
                    .await;
                self.announce_access(&room, access).await
            }
            Moderation::Lobby { enabled } => {
                let access = self
                    .signaling
                    .access
                    .entrances
                    .set_lobby(&room, enabled)
                    .await;
                if !enabled {
                    self.admit_everyone_waiting(&room).await;
                }
                self.announce_access(&room, access).await
            }
            Moderation::ViewersChat { enabled } => {
                let entrances = &self.signaling.access.entrances;
                let access = entrances.set_viewers_chat(&room, enabled).await;
                self.announce_access(&room, access).await
            }
            Moderation::SetPassword { password } => {
                let entrances = &self.signaling.access.entrances;
                match entrances.set_password(&room, password, self.peer.ip).await {
                    Ok(access) => self.announce_access(&room, Ok(access)).await,
                    Err(err @ PasswordChangeError::TooManyAttempts(_)) => {
                        self.signaling.metrics.count_refusal("password_attempts");
                        self.error(ErrorCode::TooManyAttempts, err.to_string())
                    }
                    Err(PasswordChangeError::Storage(err)) => {
                        self.error(ErrorCode::StorageFailed, err.to_string())
                    }
                    Err(PasswordChangeError::Password(err)) => {
                        self.error(ErrorCode::MalformedMessage, err.to_string())
                    }
                }
            }
            Moderation::EndMeeting => self.end_meeting(&room).await,
        }
    }

    async fn turn_off(
        &self,
        room: &RoomName,
        me: &ParticipantId,
        target: &ParticipantId,
        action: ModeratedAction,
    ) -> Step {
        let change = match action {
            ModeratedAction::Mute => MemberChange::Mute,
            ModeratedAction::StopVideo => MemberChange::StopVideo,
        };
        let registry = self.signaling.registry();
        if let Err(err) = registry.change_member(room, target, change).await {
            return self.error(ErrorCode::UnknownParticipant, err.to_string());
        }
        let notice = ServerMessage::Moderated {
            action,
            by: me.clone(),
        };
        let _ = self
            .tell(room, Audience::Member(target.clone()), notice)
            .await;
        Step::Quiet
    }

    async fn kick(&self, room: &RoomName, target: &ParticipantId) -> Step {
        self.signaling.access.entrances.ban(room, target);
        match self.remove(room, target, Removal::Kicked).await {
            Ok(()) => Step::Quiet,
            Err(step) => step,
        }
    }

    async fn remove(
        &self,
        room: &RoomName,
        target: &ParticipantId,
        reason: Removal,
    ) -> Result<(), Step> {
        let removed = ServerMessage::Removed {
            reason,
            message: reason.describe().to_owned(),
        };
        self.tell(room, Audience::Member(target.clone()), removed)
            .await
            .map_err(|err| self.error(ErrorCode::UnknownParticipant, err.to_string()))
    }

    async fn answer_knock(&self, room: &RoomName, knock: &ParticipantId, admit: bool) -> Step {
        if !self.signaling.access.entrances.decide(room, knock, admit) {
            return self.error(
                ErrorCode::UnknownParticipant,
                format!("nobody {knock} waits"),
            );
        }
        let ended = ServerMessage::KnockEnded { id: knock.clone() };
        let _ = self.tell(room, Audience::Hosts, ended).await;
        Step::Quiet
    }

    async fn admit_everyone_waiting(&self, room: &RoomName) {
        for knock in self.signaling.access.entrances.knocks(room) {
            self.answer_knock(room, &knock.id, true).await;
        }
    }

    async fn hand_over_host(
        &self,
        room: &RoomName,
        me: &ParticipantId,
        heir: &ParticipantId,
    ) -> Step {
        let registry = self.signaling.registry();
        let members = registry.members(room).await;
        let Some(heir_now) = members.iter().find(|member| &member.id == heir) else {
            return self.error(
                ErrorCode::UnknownParticipant,
                format!("no participant {heir} in this room"),
            );
        };
        if !heir_now.role.may_publish() {
            return self.error(ErrorCode::Forbidden, "a viewer cannot become host");
        }
        let _ = registry
            .change_member(room, heir, MemberChange::Role(Role::Host))
            .await;
        if heir != me {
            let _ = registry
                .change_member(room, me, MemberChange::Role(Role::Participant))
                .await;
        }
        Step::Quiet
    }

    async fn end_meeting(&self, room: &RoomName) -> Step {
        for knock in self.signaling.access.entrances.knocks(room) {
            self.signaling
                .access
                .entrances
                .decide(room, &knock.id, false);
        }
        for member in self.signaling.registry().members(room).await {
            // Everybody, this host included, gets `removed` through their own session.
            let _ = self.remove(room, &member.id, Removal::MeetingEnded).await;
        }
        Step::Quiet
    }

    async fn announce_access(
        &self,
        room: &RoomName,
        access: Result<crate::protocol::AccessState, crate::access::SettingsError>,
    ) -> Step {
        match access {
            Ok(access) => {
                let changed = ServerMessage::AccessChanged { access };
                let _ = self.tell(room, Audience::Everyone, changed).await;
                Step::Quiet
            }
            Err(err) => self.error(ErrorCode::StorageFailed, err.to_string()),
        }
    }

    /// Tells `audience` of the room; fails only when it is one member who is not there.
    pub(super) async fn tell(
        &self,
        room: &RoomName,
        audience: Audience,
        message: ServerMessage,
    ) -> Result<(), RelayError> {
        let notice = Notice::Plain(message);
        self.signaling
            .registry()
            .announce(room, notice, audience)
            .await
    }

    /// A host who joins sees who already waits.
    pub(super) async fn show_knocks(&self) {
        let Some(membership) = &self.membership else {
            return;
        };
        for knock in self.signaling.access.entrances.knocks(&membership.room) {
            let knocking = ServerMessage::Knocking { participant: knock };
            let me = Audience::Member(membership.id.clone());
            let _ = self.tell(&membership.room, me, knocking).await;
        }
    }
}
