//! Any text as a join token: verification answers with claims or a typed refusal, never a
//! panic, and only for the room it was asked about. Short texts also become the display name
//! of a freshly minted token, which must verify to exactly what was minted.
#![no_main]

use std::time::Duration;

use huddle::access::{JoinTokens, TokenError};
use huddle::protocol::Role;
use huddle::rooms::RoomName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let tokens = JoinTokens::new(b"fuzzing secret");
    let room = RoomName::parse("fuzz-room").expect("a valid room name");
    match tokens.verify(text, &room) {
        Ok(claims) => assert_eq!(claims.room, "fuzz-room"),
        Err(TokenError::Expired | TokenError::Invalid | TokenError::WrongRoom) => {}
    }
    if text.len() <= 256 {
        let name = Some(text.to_owned());
        let token = tokens.mint(&room, Role::Viewer, name.clone(), Duration::from_secs(60));
        let claims = tokens.verify(&token, &room).expect("a fresh token verifies");
        assert_eq!((claims.role, claims.name), (Role::Viewer, name));
        let other = RoomName::parse("other-room").expect("a valid room name");
        assert_eq!(tokens.verify(&token, &other), Err(TokenError::WrongRoom));
    }
});
