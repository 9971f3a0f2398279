//! Validation of the names people type: room names go into URLs, display names onto everybody's screen.

use std::fmt;

pub const MAX_ROOM_NAME: usize = 64;
pub const MAX_DISPLAY_NAME: usize = 64;

/// A room name: 1 to 64 characters of `[A-Za-z0-9_-]`, so it is safe in a URL path as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a room name is 1 to {MAX_ROOM_NAME} letters, digits, '-' or '_'")]
pub struct InvalidRoomName;

impl RoomName {
    pub fn parse(raw: &str) -> Result<Self, InvalidRoomName> {
        let url_safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if raw.is_empty() || raw.len() > MAX_ROOM_NAME || !raw.chars().all(url_safe) {
            return Err(InvalidRoomName);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a display name needs at least one visible character")]
pub struct InvalidDisplayName;

/// Trims blank characters, drops control characters (they could fake line breaks or reorder text
/// on others' screens) and cuts to [`MAX_DISPLAY_NAME`] characters. A name must show something:
/// one made only of blank characters would be an empty tile under somebody's camera.
pub fn clean_display_name(raw: &str) -> Result<String, InvalidDisplayName> {
    let visible = without_invisible(raw);
    let name: String = visible
        .trim_matches(is_blank)
        .chars()
        .take(MAX_DISPLAY_NAME)
        .collect();
    let name = name.trim_end_matches(is_blank).to_owned();
    if name.is_empty() {
        return Err(InvalidDisplayName);
    }
    Ok(name)
}

/// Characters that draw nothing: white space, zero-width characters, fillers that fonts render
/// as blanks (Hangul, Braille), and modifiers that only change the character before them.
fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// `raw` without control characters and bidirectional overrides: text shown on others' screens as
/// one line, such as a name or a room title.
pub fn without_invisible(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect()
}

/// Bidirectional overrides are format characters, not controls, but they flip how a name renders.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_url_safe() {
        assert!(RoomName::parse("brave-otter_42").is_ok());
        assert!(RoomName::parse(&"a".repeat(64)).is_ok());
        for bad in ["", "a b", "a/b", "ünï", "a?b", "..", &"a".repeat(65)] {
            assert_eq!(RoomName::parse(bad), Err(InvalidRoomName), "{bad:?}");
        }
    }

    #[test]
    fn display_names_are_cleaned() {
        assert_eq!(clean_display_name("  Ada  ").unwrap(), "Ada");
        assert_eq!(clean_display_name("A\u{7}d\na").unwrap(), "Ada");
        assert_eq!(clean_display_name("\u{202E}evil").unwrap(), "evil");
        assert_eq!(
            clean_display_name(&"é".repeat(100))
                .unwrap()
                .chars()
                .count(),
            64
        );
        assert_eq!(clean_display_name(" \t\n"), Err(InvalidDisplayName));
    }

    #[test]
    fn names_of_blank_characters_only_are_refused() {
        for blank in [
            "\u{200B}",
            "\u{3164}\u{3164}",
            "\u{115F}",
            "\u{FFA0}",
            "\u{2800}",
            " \u{200D}\u{FEFF} ",
            "\u{E0020}",
        ] {
            assert_eq!(
                clean_display_name(blank),
                Err(InvalidDisplayName),
                "{blank:?}"
            );
        }
        assert_eq!(clean_display_name("\u{200B}Ada\u{3164}").unwrap(), "Ada");
        // A joiner inside an emoji sequence is part of a visible name.
        let family = "\u{1F468}\u{200D}\u{1F469}";
        assert_eq!(clean_display_name(family).unwrap(), family);
    }
}
