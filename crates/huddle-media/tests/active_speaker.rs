//! The SFU names the active speaker of a room from the audio-level header extension.

mod common;

use std::time::Duration;

use common::{Bench, AV};
use huddle_media::SfuEvent;

fn speakers(b: &Bench, from: usize) -> Vec<u64> {
    b.events_since(from)
        .iter()
        .filter_map(|e| match e {
            SfuEvent::ActiveSpeaker { participant, .. } => Some(participant.0),
            _ => None,
        })
        .collect()
}

#[test]
fn loudest_participant_becomes_active_speaker_and_hands_over() {
    let mut b = Bench::new();
    let alice = b.join(AV);
    let bob = b.join(AV);
    b.connect_all();

    b.clients[alice].audio_level = -20;
    b.clients[bob].audio_level = -110;
    let mark = b.sfu_events.len();
    b.send_media(Duration::from_secs(2));
    assert_eq!(speakers(&b, mark), vec![b.clients[alice].id.0]);

    b.clients[alice].audio_level = -110;
    b.clients[bob].audio_level = -25;
    let mark = b.sfu_events.len();
    b.send_media(Duration::from_secs(2));
    assert_eq!(speakers(&b, mark), vec![b.clients[bob].id.0]);
}

#[test]
fn silence_names_nobody() {
    let mut b = Bench::new();
    let alice = b.join(AV);
    let bob = b.join(AV);
    b.connect_all();
    b.clients[alice].audio_level = -120;
    b.clients[bob].audio_level = -120;
    b.send_media(Duration::from_secs(2));
    assert!(speakers(&b, 0).is_empty());
}
