//! Data channel messages from one participant reach the others in the room, in envelopes that
//! say who sent them.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::str0m::Event;
use huddle_media::{envelope, ParticipantId};

/// What `client` received: (sender, binary, message), out of their envelopes.
fn channel_messages(b: &Bench, client: usize) -> Vec<(ParticipantId, bool, Vec<u8>)> {
    b.clients[client]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ChannelData(d) => {
                let (from, binary, data) = envelope::open(&d.data).expect("an envelope");
                Some((from, binary, data.to_vec()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn chat_message_is_relayed_to_everyone_else() {
    let mut b = Bench::new();
    let alice = b.join(AV);
    let bob = b.join(NOTHING);
    let carol = b.join(NOTHING);
    b.connect_all();
    // Data channels open after DTLS and SCTP.
    b.run_for(Duration::from_secs(1));

    let c = &mut b.clients[alice];
    let id = c
        .events
        .iter()
        .find_map(|e| match e {
            Event::ChannelOpen(id, _) => Some(*id),
            _ => None,
        })
        .expect("alice's channel opened");
    c.rtc
        .channel(id)
        .expect("channel")
        .write(false, b"hello room")
        .unwrap();
    b.run_for(Duration::from_millis(300));

    let from_alice = (b.clients[alice].id, false, b"hello room".to_vec());
    for who in [bob, carol] {
        assert_eq!(channel_messages(&b, who), vec![from_alice.clone()]);
    }
    assert!(
        channel_messages(&b, alice).is_empty(),
        "no echo to the sender"
    );
}
