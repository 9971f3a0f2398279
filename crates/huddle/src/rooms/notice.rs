//! What the room tells its members about shared things, rendered for each reader: whether they
//! made it (`mine`), and the author's participant id while the author is in the room.

use std::collections::HashMap;

use crate::identity::AuthorKey;
use crate::protocol::{ChatMessage, ParticipantId, Scheduled, ServerMessage, WhiteboardItem};
use crate::store::{BoardRecord, ChatRecord, ScheduledRecord};

/// Which participant of the room is which author now (the first to join, if one person is there
/// twice).
pub type Authors = HashMap<AuthorKey, ParticipantId>;

/// One effect on a room, as a value the room delivers to each member.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The same message for everybody.
    Plain(ServerMessage),
    Chat(ChatRecord),
    ScheduledAdded(ScheduledRecord),
    WhiteboardAdded {
        record: BoardRecord,
        by: ParticipantId,
    },
}

/// Who a message is rendered for.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub key: &'a AuthorKey,
    pub authors: &'a Authors,
}

impl Notice {
    pub fn render(&self, reader: Reader<'_>) -> ServerMessage {
        match self {
            Self::Plain(message) => message.clone(),
            Self::Chat(record) => ServerMessage::ChatMessage {
                message: chat_message(record, reader),
            },
            Self::ScheduledAdded(record) => ServerMessage::ScheduledAdded {
                scheduled: scheduled(record, reader),
            },
            Self::WhiteboardAdded { record, by } => ServerMessage::WhiteboardAdded {
                item: whiteboard_item(record, reader),
                by: by.clone(),
            },
        }
    }
}

pub fn chat_message(record: &ChatRecord, reader: Reader<'_>) -> ChatMessage {
    let author = record.author_key.as_ref();
    ChatMessage {
        id: record.id,
        kind: record.kind,
        author_name: record.author_name.clone(),
        author: author.and_then(|key| reader.authors.get(key)).cloned(),
        text: record.text.clone(),
        sent_at: record.sent_at,
        late: record.late,
        mine: author == Some(reader.key),
    }
}

pub fn scheduled(record: &ScheduledRecord, reader: Reader<'_>) -> Scheduled {
    Scheduled {
        id: record.id,
        author_name: record.author_name.clone(),
        text: record.text.clone(),
        at: record.at,
        mine: &record.author_key == reader.key,
    }
}

pub fn whiteboard_item(record: &BoardRecord, reader: Reader<'_>) -> WhiteboardItem {
    WhiteboardItem {
        mine: &record.author_key == reader.key,
        ..record.item.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChatKind;

    #[test]
    fn chat_is_mine_only_for_its_author_and_names_the_present_author() {
        let ada = AuthorKey::from_identity("ada-identity-0000").unwrap();
        let bob = AuthorKey::from_identity("bob-identity-0000").unwrap();
        let record = ChatRecord {
            id: 1,
            kind: ChatKind::User,
            author_key: Some(ada.clone()),
            author_name: "Ada".into(),
            text: "hi".into(),
            sent_at: 10,
            late: false,
        };
        let mut authors = Authors::new();
        let notice = Notice::Chat(record);
        let for_bob = notice.render(Reader {
            key: &bob,
            authors: &authors,
        });
        let ServerMessage::ChatMessage { message } = for_bob else {
            panic!("expected a chat message");
        };
        assert!(!message.mine);
        assert_eq!(message.author, None);
        authors.insert(ada.clone(), ParticipantId("a1".into()));
        let ServerMessage::ChatMessage { message } = notice.render(Reader {
            key: &ada,
            authors: &authors,
        }) else {
            panic!("expected a chat message");
        };
        assert!(message.mine);
        assert_eq!(message.author, Some(ParticipantId("a1".into())));
    }
}
