//! A session's collaboration messages (chat, scheduled messages, title, whiteboard, hands,
//! reactions), handed to [`crate::collab::Collab`] on behalf of the joined participant.

use std::time::Instant;

use super::session::{Session, Step};
use crate::protocol::{encode_server, ClientMessage, ErrorCode};
use crate::token_bucket::TokenBucket;

/// Bytes of chat history one connection may read per second, and at once: a request of a few
/// bytes answers with up to a page of long messages, so requests are counted by what they cost.
const HISTORY_BYTES_PER_SECOND: f64 = 128.0 * 1024.0;
const HISTORY_BURST_BYTES: f64 = 2.0 * 1024.0 * 1024.0;

/// A connection's allowance of chat history bytes.
pub(super) fn history_allowance(now: Instant) -> TokenBucket {
    TokenBucket::full(HISTORY_BURST_BYTES, HISTORY_BYTES_PER_SECOND, now)
}

impl Session<'_> {
    pub(super) async fn collaborate(&mut self, message: ClientMessage) -> Step {
        let Some(membership) = &self.membership else {
            return self.not_joined();
        };
        let caller = membership.caller();
        let collab = &self.signaling.collab;
        let answer = match message {
            ClientMessage::ChatSend { text } => collab.chat_send(caller, &text).await,
            ClientMessage::ChatHistory { before, limit } => {
                if !self.history_allowance.has_credit(Instant::now()) {
                    self.signaling.metrics.count_refusal("history_bytes");
                    return self.error(
                        ErrorCode::RateLimited,
                        "too much chat history at once, slow down",
                    );
                }
                let answer = collab.chat_history(caller, before, limit).await;
                if let Ok(Some(history)) = &answer {
                    let bytes = encode_server(history).len() as f64;
                    self.history_allowance.spend(bytes, Instant::now());
                }
                answer
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
            ClientMessage::Join(_)
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
