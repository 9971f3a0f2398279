//! Checks of what clients send, pure so that they are tested without a server. Each refusal is a
//! [`Failure`] with the error code the client gets.

use super::Failure;
use crate::clock::UnixMillis;
use crate::protocol::{ErrorCode, Point, ShapeKind, WhiteboardItem, REACTIONS};
use crate::rooms::without_invisible;
use crate::store::PendingLimits;

pub const MAX_CHAT_CHARS: usize = 4000;
pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_ITEM_TEXT_CHARS: usize = 500;
pub const MAX_ITEM_ID_CHARS: usize = 64;
pub const HISTORY_PAGE: u32 = 50;
pub const MAX_HISTORY_PAGE: u32 = 100;
/// Pending scheduled messages a room, and one author in it, may have at once.
pub const PENDING_LIMITS: PendingLimits = PendingLimits {
    per_room: 50,
    per_author: 10,
};
/// How far ahead a message may be scheduled.
pub const MAX_SCHEDULE_AHEAD_MS: i64 = 30 * 24 * 3600 * 1000;
const WIDTHS: std::ops::RangeInclusive<f64> = 1.0..=64.0;

/// The text of a chat or scheduled message, trimmed.
pub fn chat_text(raw: &str) -> Result<&str, Failure> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Failure::new(
            ErrorCode::EmptyMessage,
            "the message is empty",
        ));
    }
    if text.chars().count() > MAX_CHAT_CHARS {
        let message = format!("a message is at most {MAX_CHAT_CHARS} characters");
        return Err(Failure::new(ErrorCode::ChatTooLong, message));
    }
    Ok(text)
}

/// The question of a `/prompt <question>` message, if it is one.
pub fn prompt(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("/prompt")?;
    rest.starts_with(char::is_whitespace).then(|| rest.trim())
}

/// A room title, cleaned; `None` clears it.
pub fn title(raw: &str) -> Result<Option<String>, Failure> {
    let title = without_invisible(raw).trim().to_owned();
    if title.chars().count() > MAX_TITLE_CHARS {
        let message = format!("a title is at most {MAX_TITLE_CHARS} characters");
        return Err(Failure::new(ErrorCode::TitleTooLong, message));
    }
    Ok((!title.is_empty()).then_some(title))
}

pub fn schedule_time(at: UnixMillis, now: UnixMillis) -> Result<(), Failure> {
    if at <= now || at - now > MAX_SCHEDULE_AHEAD_MS {
        let message = "a message is scheduled for a time in the next 30 days";
        return Err(Failure::new(ErrorCode::InvalidScheduleTime, message));
    }
    Ok(())
}

pub fn history_limit(limit: Option<u32>) -> Result<u32, Failure> {
    match limit.unwrap_or(HISTORY_PAGE) {
        limit @ 1..=MAX_HISTORY_PAGE => Ok(limit),
        _ => Err(Failure::new(
            ErrorCode::MalformedMessage,
            format!("limit is 1 to {MAX_HISTORY_PAGE}"),
        )),
    }
}

pub fn reaction(emoji: &str) -> Result<(), Failure> {
    if REACTIONS.contains(&emoji) {
        return Ok(());
    }
    let message = format!("a reaction is one of {}", REACTIONS.join(" "));
    Err(Failure::new(ErrorCode::InvalidReaction, message))
}

pub fn item(item: &WhiteboardItem) -> Result<(), Failure> {
    let id_chars = item.id.chars().count();
    if id_chars == 0 || id_chars > MAX_ITEM_ID_CHARS {
        return Err(bad_item("an item id is 1 to 64 characters"));
    }
    if !is_color(&item.color) {
        return Err(bad_item("color is #rrggbb"));
    }
    if !WIDTHS.contains(&item.width) {
        return Err(bad_item("width is 1 to 64"));
    }
    points(&item.points)?;
    let shape_points = match item.kind {
        ShapeKind::Pen | ShapeKind::Eraser => 1..=usize::MAX,
        ShapeKind::Line | ShapeKind::Rect | ShapeKind::Ellipse => 2..=2,
        ShapeKind::Text => 1..=1,
    };
    if !shape_points.contains(&item.points.len()) {
        return Err(bad_item("wrong number of points for this kind of item"));
    }
    match (&item.kind, &item.text) {
        (ShapeKind::Text, Some(text))
            if !text.trim().is_empty() && text.chars().count() <= MAX_ITEM_TEXT_CHARS =>
        {
            Ok(())
        }
        (ShapeKind::Text, _) => Err(bad_item("a text item has 1 to 500 characters of text")),
        (_, Some(_)) => Err(bad_item("only text items have text")),
        (_, None) => Ok(()),
    }
}

/// Board coordinates: finite, 0..1 on both axes.
pub fn points(points: &[Point]) -> Result<(), Failure> {
    if points.is_empty() {
        return Err(bad_item("no points"));
    }
    let on_board = |value: f64| (0.0..=1.0).contains(&value);
    if points.iter().all(|[x, y]| on_board(*x) && on_board(*y)) {
        Ok(())
    } else {
        Err(bad_item("points are within 0..1 on both axes"))
    }
}

fn is_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn bad_item(message: &str) -> Failure {
    Failure::new(ErrorCode::InvalidWhiteboardItem, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: std::fmt::Debug>(result: Result<T, Failure>) -> ErrorCode {
        result.unwrap_err().code
    }

    fn pen() -> WhiteboardItem {
        WhiteboardItem {
            id: "s1".into(),
            kind: ShapeKind::Pen,
            color: "#00ff7f".into(),
            width: 3.0,
            points: vec![[0.0, 0.5], [1.0, 1.0]],
            text: None,
            mine: false,
        }
    }

    #[test]
    fn chat_text_is_trimmed_and_bounded() {
        assert_eq!(chat_text("  hi \n").unwrap(), "hi");
        assert_eq!(code(chat_text(" \n ")), ErrorCode::EmptyMessage);
        assert!(chat_text(&"é".repeat(MAX_CHAT_CHARS)).is_ok());
        assert_eq!(
            code(chat_text(&"x".repeat(MAX_CHAT_CHARS + 1))),
            ErrorCode::ChatTooLong
        );
    }

    #[test]
    fn prompts_are_told_from_chat() {
        assert_eq!(prompt("/prompt what is 2+2?"), Some("what is 2+2?"));
        assert_eq!(prompt("/prompt   "), Some(""));
        assert_eq!(prompt("/prompter x"), None);
        assert_eq!(prompt("ask /prompt x"), None);
    }

    #[test]
    fn titles_are_cleaned_and_bounded() {
        assert_eq!(
            title("  Weekly\u{202E} sync ").unwrap().unwrap(),
            "Weekly sync"
        );
        assert_eq!(title("  ").unwrap(), None);
        assert_eq!(code(title(&"t".repeat(121))), ErrorCode::TitleTooLong);
    }

    #[test]
    fn schedule_times_are_in_the_next_30_days() {
        let now = 1_000_000;
        assert!(schedule_time(now + 1, now).is_ok());
        assert!(schedule_time(now + MAX_SCHEDULE_AHEAD_MS, now).is_ok());
        for at in [now, now - 1, now + MAX_SCHEDULE_AHEAD_MS + 1] {
            assert_eq!(code(schedule_time(at, now)), ErrorCode::InvalidScheduleTime);
        }
    }

    #[test]
    fn history_pages_are_bounded() {
        assert_eq!(history_limit(None).unwrap(), 50);
        assert_eq!(history_limit(Some(100)).unwrap(), 100);
        assert_eq!(code(history_limit(Some(0))), ErrorCode::MalformedMessage);
        assert_eq!(code(history_limit(Some(101))), ErrorCode::MalformedMessage);
    }

    #[test]
    fn whiteboard_items_are_checked() {
        assert!(item(&pen()).is_ok());
        let bad = [
            WhiteboardItem {
                id: String::new(),
                ..pen()
            },
            WhiteboardItem {
                color: "red".into(),
                ..pen()
            },
            WhiteboardItem {
                width: 65.0,
                ..pen()
            },
            WhiteboardItem {
                points: vec![[1.5, 0.0]],
                ..pen()
            },
            WhiteboardItem {
                points: vec![[f64::NAN, 0.0]],
                ..pen()
            },
            WhiteboardItem {
                points: vec![],
                ..pen()
            },
            WhiteboardItem {
                kind: ShapeKind::Rect,
                points: vec![[0.0, 0.0]],
                ..pen()
            },
            WhiteboardItem {
                kind: ShapeKind::Text,
                points: vec![[0.0, 0.0]],
                ..pen()
            },
            WhiteboardItem {
                text: Some("x".into()),
                ..pen()
            },
        ];
        for bad in bad {
            assert_eq!(
                code(item(&bad)),
                ErrorCode::InvalidWhiteboardItem,
                "{bad:?}"
            );
        }
        let text = WhiteboardItem {
            kind: ShapeKind::Text,
            points: vec![[0.5, 0.5]],
            text: Some("hello".into()),
            ..pen()
        };
        assert!(item(&text).is_ok());
    }

    #[test]
    fn reactions_are_from_the_list() {
        assert!(reaction("🎉").is_ok());
        assert_eq!(code(reaction("<b>")), ErrorCode::InvalidReaction);
    }
}
