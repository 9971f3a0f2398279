//! Any text through the signaling decoder: it answers every frame with a
//! message or a typed error, never a panic, and what it accepts survives a
//! serde_json round trip unchanged.
#![no_main]

use huddle::protocol::{decode_client, DecodeError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match decode_client(text) {
        Ok(message) => {
            let _ = message.kind();
            let json = serde_json::to_string(&message).expect("a decoded message re-encodes");
            let again = decode_client(&json)
                .unwrap_or_else(|e| panic!("re-encoded {json} does not decode: {e}"));
            assert_eq!(again, message, "round trip through {json} changed the message");
        }
        Err(error) => {
            // The error's wire code and text are built from the input too.
            let _ = error.code().as_str();
            let _ = error.to_string();
            if let DecodeError::TooLarge(n) = error {
                assert_eq!(n, text.len());
            }
        }
    }
});
