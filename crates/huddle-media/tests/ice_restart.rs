//! A client whose network goes away (a laptop switching networks) keeps its place in
//! the SFU for a grace: when it comes back with an ICE restart (an offer with new ICE
//! credentials), the SFU answers it and media flows again, with the same publications
//! and subscriptions. A client that does not come back within the grace is removed.

mod common;

use std::time::Duration;

use common::{Bench, AV, NOTHING};
use huddle_media::str0m::change::SdpAnswer;
use huddle_media::str0m::media::MediaKind;
use huddle_media::{SfuConfig, SfuEvent};

/// str0m, ICE-lite, declares ICE lost some 16 s after the last check from the client.
const ICE_LOST_AFTER: Duration = Duration::from_secs(16);

/// A publisher and a viewer, connected, media flowing; then the publisher's network dies
/// for `outage`.
fn publisher_goes_offline(outage: Duration) -> (Bench, usize, usize) {
    let mut b = Bench::new();
    let publisher = b.join(AV);
    let viewer = b.join(NOTHING);
    b.connect_all();
    b.send_media(Duration::from_millis(500));
    b.clients[publisher].offline = true;
    b.send_media(outage);
    (b, publisher, viewer)
}

/// The client restarts ICE: a new offer with fresh credentials, answered by the SFU.
fn restart_ice(b: &mut Bench, client: usize) {
    let id = b.clients[client].id;
    let mut change = b.clients[client].rtc.sdp_api();
    change.ice_restart(false);
    let (offer, pending) = change.apply().expect("an ICE restart offer");
    let answer = b
        .sfu
        .accept_offer(id, &offer.to_sdp_string())
        .expect("the SFU answers an ICE restart");
    b.clients[client]
        .rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .expect("the client accepts the answer");
}

#[test]
fn an_ice_restart_after_an_outage_resumes_media_with_the_same_tracks() {
    let outage = ICE_LOST_AFTER + Duration::from_secs(8);
    let (mut b, publisher, viewer) = publisher_goes_offline(outage);
    let stalled = b.clients[viewer].received_kind(MediaKind::Video).len();
    b.send_media(Duration::from_secs(1));
    assert_eq!(
        b.clients[viewer].received_kind(MediaKind::Video).len(),
        stalled,
        "nothing gets through while the publisher is offline"
    );

    b.clients[publisher].offline = false;
    restart_ice(&mut b, publisher);
    b.send_media(Duration::from_secs(2));

    let video = b.clients[viewer].received_kind(MediaKind::Video).len() - stalled;
    assert!(video > 30, "only {video} frames after the restart");
    let id = b.clients[publisher].id;
    let lost = b.sfu_events.iter().any(|e| {
        matches!(e, SfuEvent::Disconnected { participant, .. } if *participant == id)
            || matches!(e, SfuEvent::TrackUnpublished { track, .. } if track.publisher == id)
    });
    assert!(!lost, "the publisher lost its place: {:?}", b.sfu_events);
    assert_eq!(b.sfu.participant_ids(common::ROOM).len(), 2);
}

#[test]
fn ice_lost_for_longer_than_the_grace_removes_the_participant() {
    let grace = SfuConfig::new(common::sfu_addr()).ice_restart_grace;
    let (b, publisher, viewer) =
        publisher_goes_offline(ICE_LOST_AFTER + grace + Duration::from_secs(5));
    let id = b.clients[publisher].id;
    assert!(
        b.sfu_events
            .iter()
            .any(|e| matches!(e, SfuEvent::Disconnected { participant, .. } if *participant == id)),
        "no Disconnected after the grace"
    );
    assert_eq!(
        b.sfu.participant_ids(common::ROOM),
        vec![b.clients[viewer].id]
    );
}
