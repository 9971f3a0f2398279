//! A session's collaboration messages (chat, scheduled messages, title, whiteboard, hands,
//! reactions), handed to [`crate::collab::Collab`] on behalf of the joined participant.

use super::session::{Session, Step};
use crate::protocol::{ClientMessage, ErrorCode};

impl Session<'_> {
    pub(super) async fn collaborate(&mut self, message: ClientMessage) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        if message.is_contribution() && !membership.role.may_publish() {
            return self.error(ErrorCode::Forbidden, "viewers receive only");
        }
        let caller = membership.caller();
        let collab = &self.signaling.collab;
        let answer = match message {
            ClientMessage::ChatSend { text } => collab.chat_send(caller, &text).await,
            ClientMessage::ChatHistory { before, limit } => {
                collab.chat_history(caller, before, limit).await
            }
            ClientMessage::ScheduleMessage { text, at } => collab.schedule(caller, &text, at).await,
            ClientMessage::CancelScheduled { id } => collab.cancel_scheduled(caller, id).await,
            ClientMessage::SetTitle { title } => collab.set_title(caller, &title).await,
            ClientMessage::WhiteboardAdd { item } => collab.whiteboard_add(caller, item).await,
            ClientMessage::WhiteboardExtend { id, points } => {
                collab.whiteboard_extend(caller, id, points).await
            }
            ClientMessage::WhiteboardUndo => collab.whiteboard_undo(caller).await,
            ClientMessage::WhiteboardClear => collab.whiteboard_clear(caller).await,
            ClientMessage::RaiseHand { raised } => collab.raise_hand(caller, raised).await,
            ClientMessage::React { emoji } => collab.react(caller, emoji).await,
            ClientMessage::Join { .. }
            | ClientMessage::Update { .. }
            | ClientMessage::Signal { .. }
            | ClientMessage::SfuSignal { .. }
            | ClientMessage::SfuConnect
            | ClientMessage::View { .. }
            | ClientMessage::Moderate { .. }
            | ClientMessage::Ping
            | ClientMessage::Leave => unreachable!("the session handles these itself"),
        };
        match answer {
            Ok(Some(message)) => Step::Reply(message),
            Ok(None) => Step::Quiet,
            Err(failure) => self.error(failure.code, failure.message),
        }
    }
}
