//! Offer glare: the SFU has an offer out to a client when the client sends its own.
//! The client's offer wins, the SFU's is rolled back and made again afterwards.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::str0m::media::{Direction, MediaKind};
use huddle_media::{MediaKind as Kind, SfuError, SfuEvent};

#[test]
fn client_offer_during_sfu_offer_wins_and_sfu_offers_again() {
    let mut b = Bench::new();
    let viewer = b.join(NOTHING);
    b.clients[viewer].auto_answer = false;
    let publisher = b.join(AV);
    b.connect_all();
    b.run_for(Duration::from_millis(100));

    let viewer_id = b.clients[viewer].id;
    let offers_to_viewer = |b: &Bench| {
        b.sfu_events
            .iter()
            .filter(
                |e| matches!(e, SfuEvent::Offer { participant, .. } if *participant == viewer_id),
            )
            .count()
    };
    assert_eq!(
        offers_to_viewer(&b),
        1,
        "SFU offered the publisher's tracks"
    );

    // The viewer ignores that offer and starts publishing its camera instead.
    let Bench { clients, sfu, .. } = &mut b;
    let cam = clients[viewer].renegotiate(sfu, |c| {
        c.add_media(MediaKind::Video, Direction::SendOnly, None, None, None)
    });
    b.clients[viewer].video_mid = Some(cam);
    // An answer to the rolled-back offer is refused.
    assert!(matches!(
        b.sfu.accept_answer(viewer_id, "v=0\r\n"),
        Err(SfuError::NoPendingOffer(_))
    ));

    b.clients[viewer].auto_answer = true;
    b.run_for(Duration::from_millis(100));
    assert_eq!(offers_to_viewer(&b), 2, "SFU offered again after the glare");
    b.send_media(Duration::from_secs(2));

    assert!(b.clients[viewer].received_kind(Kind::Video).len() > 30);
    assert!(b.clients[publisher].received_kind(Kind::Video).len() > 30);
}
