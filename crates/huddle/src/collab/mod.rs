//! Collaboration in a room: chat with history, scheduled messages, the title, the whiteboard,
//! hands and reactions. Signaling sessions call [`Collab`]; what changes is stored (crate::store)
//! and announced to the room through the registry's outboxes, the same in mesh and sfu rooms.
//!
//! A session awaits the database for its own request (chat needs the stored id before anybody
//! sees it); the room never does: its lock is only taken to put messages in outboxes.

mod board;
mod boards;
mod bot;
mod scheduler;
mod validate;

pub use bot::{Bot, BotSettings};

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::identity::AuthorKey;
use crate::metrics::Metrics;
use crate::protocol::{ChatKind, ErrorCode, ParticipantId, Point, ServerMessage, WhiteboardItem};
use crate::rooms::{
    self, Admission, Audience, JoinError, Notice, Outbox, Profile, Reader, RoomName, RoomRegistry,
};
use crate::store::{NewChat, NewScheduled, PendingLimits, Store, StoreError};
use boards::Boards;

/// A refusal: the error the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Who asks: a participant of a room.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub room: &'a RoomName,
    pub id: &'a ParticipantId,
    pub author: &'a AuthorKey,
    pub name: &'a str,
}

/// What a newcomer gets: the registry's admission, the title for `joined`, and the messages that
/// follow it (history, scheduled list, board; a `storage_failed` error for a part that failed).
pub struct Welcome {
    pub admission: Admission,
    pub title: Option<String>,
    pub then: Vec<ServerMessage>,
}

/// What answers a request: nothing, or one message to the caller.
pub type Answer = Result<Option<ServerMessage>, Failure>;

#[derive(Clone)]
pub struct Collab {
    store: Store,
    registry: Arc<dyn RoomRegistry>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    boards: Boards,
    bot: Option<Arc<Bot>>,
    /// Wakes the scheduler when a message is scheduled.
    scheduler: Arc<Notify>,
}

impl Collab {
    pub fn new(
        store: Store,
        registry: Arc<dyn RoomRegistry>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        bot: Option<Bot>,
    ) -> Self {
        Self {
            boards: Boards::new(store.clone(), metrics.clone()),
            store,
            registry,
            clock,
            metrics,
            bot: bot.map(Arc::new),
            scheduler: Arc::default(),
        }
    }

    /// At shutdown, after the last session: stores what the whiteboards have not stored yet.
    pub async fn flush(&self) {
        self.boards.flush().await;
    }

    /// Returns once every change of the room's whiteboard accepted so far is stored.
    pub async fn board_stored(&self, room: &RoomName) {
        self.boards.stored(room).await;
    }

    pub fn registry(&self) -> &Arc<dyn RoomRegistry> {
        &self.registry
    }

    /// Tells a room what changed. Collab speaks to groups, never to one member, so nothing
    /// it says can miss its audience.
    async fn announce(&self, room: &RoomName, notice: Notice, audience: Audience) {
        let _ = self.registry.announce(room, notice, audience).await;
    }

    /// Admits a participant. The board stays locked while they join, so every whiteboard change
    /// is either in the state they get or in their outbox, never both nor neither.
    pub async fn join(
        &self,
        room: &RoomName,
        profile: Profile,
        outbox: Outbox,
    ) -> Result<Welcome, JoinError> {
        let reader_key = profile.author.clone();
        let (admission, board) = match self.boards.lock(room).await {
            Ok(live) => {
                let admission = self.registry.join(room, profile, outbox).await?;
                (admission, Ok(live.board.items().to_vec()))
            }
            Err(err) => (self.registry.join(room, profile, outbox).await?, Err(err)),
        };
        let authors = self.registry.authors(room).await;
        let reader = Reader {
            key: &reader_key,
            authors: &authors,
        };
        let mut then = Vec::with_capacity(3);
        let title = self.store.title(room.as_str()).await;
        let history = self
            .store
            .chat_before(room.as_str(), None, validate::HISTORY_PAGE)
            .await;
        then.push(self.or_failure(history.map(|(messages, has_more)| {
            ServerMessage::ChatHistory {
                messages: messages
                    .iter()
                    .map(|m| rooms::chat_message(m, reader))
                    .collect(),
                has_more,
            }
        })));
        let pending = self.store.pending_scheduled(room.as_str()).await;
        then.push(self.or_failure(pending.map(|pending| {
            ServerMessage::ScheduledList {
                scheduled: pending
                    .iter()
                    .map(|s| rooms::scheduled(s, reader))
                    .collect(),
            }
        })));
        then.push(self.or_failure(board.map(|items| {
            ServerMessage::WhiteboardState {
                items: items
                    .iter()
                    .map(|i| rooms::whiteboard_item(i, reader))
                    .collect(),
            }
        })));
        let title = match title {
            Ok(title) => title,
            Err(err) => {
                then.push(self.failure_message(self.storage(err)));
                None
            }
        };
        Ok(Welcome {
            admission,
            title,
            then,
        })
    }

    pub async fn chat_send(&self, caller: Caller<'_>, text: &str) -> Answer {
        let text = validate::chat_text(text)?;
        let question = validate::prompt(text);
        let bot = match question {
            Some("") => {
                return Err(Failure::new(
                    ErrorCode::EmptyMessage,
                    "ask /prompt a question",
                ))
            }
            Some(_) => Some(self.bot.clone().ok_or_else(|| {
                Failure::new(
                    ErrorCode::BotUnavailable,
                    "no chat bot is configured on this server",
                )
            })?),
            None => None,
        };
        let chat = NewChat {
            kind: ChatKind::User,
            author_key: Some(caller.author),
            author_name: caller.name,
            text,
            sent_at: self.clock.now(),
            late: false,
        };
        self.post(caller.room, &chat).await?;
        if let (Some(bot), Some(question)) = (bot, question) {
            self.ask_bot(bot, caller.room.clone(), question.to_owned());
        }
        Ok(None)
    }

    pub async fn chat_history(
        &self,
        caller: Caller<'_>,
        before: i64,
        limit: Option<u32>,
    ) -> Answer {
        let limit = validate::history_limit(limit)?;
        let (messages, has_more) = self
            .store
            .chat_before(caller.room.as_str(), Some(before), limit)
            .await
            .map_err(|err| self.storage(err))?;
        let authors = self.registry.authors(caller.room).await;
        let reader = Reader {
            key: caller.author,
            authors: &authors,
        };
        Ok(Some(ServerMessage::ChatHistory {
            messages: messages
                .iter()
                .map(|m| rooms::chat_message(m, reader))
                .collect(),
            has_more,
        }))
    }

    pub async fn schedule(&self, caller: Caller<'_>, text: &str, at: i64) -> Answer {
        let text = validate::chat_text(text)?;
        validate::schedule_time(at, self.clock.now())?;
        let new = NewScheduled {
            author_key: caller.author,
            author_name: caller.name,
            text,
            at,
        };
        let limits = validate::PENDING_LIMITS;
        let record = self
            .store
            .add_scheduled(caller.room.as_str(), &new, limits)
            .await
            .map_err(|err| self.storage(err))?
            .ok_or_else(|| {
                let PendingLimits {
                    per_room,
                    per_author,
                } = limits;
                Failure::new(
                    ErrorCode::TooManyScheduled,
                    format!(
                        "a room may have {per_room} messages waiting to be posted, \
                         each person {per_author}: cancel one first"
                    ),
                )
            })?;
        self.scheduler.notify_one();
        self.announce(
            caller.room,
            Notice::ScheduledAdded(record),
            Audience::Everyone,
        )
        .await;
        Ok(None)
    }

    pub async fn cancel_scheduled(&self, caller: Caller<'_>, id: i64) -> Answer {
        let unknown = || {
            Failure::new(
                ErrorCode::UnknownScheduled,
                format!("no pending message {id}"),
            )
        };
        let pending = self
            .store
            .find_pending(caller.room.as_str(), id)
            .await
            .map_err(|err| self.storage(err))?
            .ok_or_else(unknown)?;
        if &pending.author_key != caller.author {
            return Err(Failure::new(
                ErrorCode::NotAuthor,
                "only its author cancels a message",
            ));
        }
        let cancelled = self
            .store
            .cancel_scheduled(id)
            .await
            .map_err(|err| self.storage(err))?;
        if !cancelled {
            return Err(unknown());
        }
        let removed = ServerMessage::ScheduledRemoved {
            id,
            reason: crate::protocol::ScheduledRemoval::Cancelled,
        };
        self.announce(caller.room, Notice::Plain(removed), Audience::Everyone)
            .await;
        Ok(None)
    }

    pub async fn set_title(&self, caller: Caller<'_>, title: &str) -> Answer {
        let title = validate::title(title)?;
        self.store
            .set_title(caller.room.as_str(), title.as_deref())
            .await
            .map_err(|err| self.storage(err))?;
        let changed = ServerMessage::TitleChanged {
            title,
            by: caller.id.clone(),
        };
        self.announce(caller.room, Notice::Plain(changed), Audience::Everyone)
            .await;
        Ok(None)
    }

    pub async fn whiteboard_add(&self, caller: Caller<'_>, item: WhiteboardItem) -> Answer {
        validate::item(&item)?;
        let mut live = self
            .boards
            .lock(caller.room)
            .await
            .map_err(|err| self.storage(err))?;
        let record = live.board.add(caller.author, item)?.clone();
        // Announced only once stored: nobody sees an item that a crash could take back.
        if live.insert(record.clone()).await.is_err() {
            live.board.undo(caller.author);
            return Err(storage_failed());
        }
        self.metrics.count_whiteboard_item();
        let notice = Notice::WhiteboardAdded {
            record,
            by: caller.id.clone(),
        };
        self.announce(caller.room, notice, Audience::AllBut(caller.id.clone()))
            .await;
        Ok(None)
    }

    pub async fn whiteboard_extend(
        &self,
        caller: Caller<'_>,
        id: String,
        points: Vec<Point>,
    ) -> Answer {
        validate::points(&points)?;
        let mut live = self
            .boards
            .lock(caller.room)
            .await
            .map_err(|err| self.storage(err))?;
        live.board.extend(caller.author, &id, &points)?;
        live.append(id.clone(), points.clone());
        let extended = ServerMessage::WhiteboardExtended { id, points };
        self.announce(
            caller.room,
            Notice::Plain(extended),
            Audience::AllBut(caller.id.clone()),
        )
        .await;
        Ok(None)
    }

    /// Removes the caller's most recent item; nothing happens when they have none.
    pub async fn whiteboard_undo(&self, caller: Caller<'_>) -> Answer {
        let mut live = self
            .boards
            .lock(caller.room)
            .await
            .map_err(|err| self.storage(err))?;
        if let Some(record) = live.board.undo(caller.author) {
            live.delete(record.item.id.clone());
            let removed = ServerMessage::WhiteboardRemoved { id: record.item.id };
            self.announce(caller.room, Notice::Plain(removed), Audience::Everyone)
                .await;
        }
        Ok(None)
    }

    pub async fn whiteboard_clear(&self, caller: Caller<'_>) -> Answer {
        let mut live = self
            .boards
            .lock(caller.room)
            .await
            .map_err(|err| self.storage(err))?;
        live.clear();
        let cleared = ServerMessage::WhiteboardCleared {
            by: caller.id.clone(),
        };
        self.announce(caller.room, Notice::Plain(cleared), Audience::Everyone)
            .await;
        Ok(None)
    }

    pub async fn raise_hand(&self, caller: Caller<'_>, raised: bool) -> Answer {
        self.registry
            .raise_hand(caller.room, caller.id, raised)
            .await;
        Ok(None)
    }

    /// Reactions fly by: shown to everybody, kept nowhere.
    pub async fn react(&self, caller: Caller<'_>, emoji: String) -> Answer {
        validate::reaction(&emoji)?;
        let reaction = ServerMessage::Reaction {
            from: caller.id.clone(),
            emoji,
        };
        self.announce(caller.room, Notice::Plain(reaction), Audience::Everyone)
            .await;
        Ok(None)
    }

    /// Stores a chat message and shows it to the room.
    async fn post(&self, room: &RoomName, chat: &NewChat<'_>) -> Result<(), Failure> {
        let record = self
            .store
            .add_chat(room.as_str(), chat)
            .await
            .map_err(|err| self.storage(err))?;
        self.metrics.count_chat(chat.kind);
        self.announce(room, Notice::Chat(record), Audience::Everyone)
            .await;
        Ok(())
    }

    /// Asks the bot in a task of its own: a slow bot delays only its answer.
    fn ask_bot(&self, bot: Arc<Bot>, room: RoomName, question: String) {
        let collab = self.clone();
        tokio::spawn(async move {
            let answer = bot.ask(&question).await;
            collab.metrics.count_bot_request(answer.is_ok());
            let text = match answer {
                Ok(answer) => answer,
                Err(err) => {
                    tracing::warn!(room = %room, %err, "the bot could not answer");
                    format!("the bot could not answer: {err}")
                }
            };
            let text: String = text.chars().take(validate::MAX_CHAT_CHARS).collect();
            let chat = NewChat {
                kind: ChatKind::Bot,
                author_key: None,
                author_name: bot::BOT_NAME,
                text: &text,
                sent_at: collab.clock.now(),
                late: false,
            };
            // A failure was logged and counted; nobody is waiting for an answer to tell.
            let _ = collab.post(&room, &chat).await;
        });
    }

    /// Logs and counts a database failure; the client gets `storage_failed`.
    fn storage(&self, err: StoreError) -> Failure {
        tracing::error!(%err, "storage failed");
        self.metrics.count_storage_error();
        storage_failed()
    }

    fn or_failure(&self, message: Result<ServerMessage, StoreError>) -> ServerMessage {
        match message {
            Ok(message) => message,
            Err(err) => self.failure_message(self.storage(err)),
        }
    }

    fn failure_message(&self, failure: Failure) -> ServerMessage {
        self.metrics.count_error(failure.code);
        ServerMessage::error(failure.code, failure.message)
    }
}

/// What the client is told when the database failed (logged and counted where it failed).
fn storage_failed() -> Failure {
    Failure::new(
        ErrorCode::StorageFailed,
        "the server could not store or read this; try again",
    )
}
