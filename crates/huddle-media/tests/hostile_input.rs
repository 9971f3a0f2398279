//! Input from the network never panics the SFU: garbage, unknown senders, and bad
//! SDP come back as errors.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{sfu_addr, Bench, AV, NOTHING};
use huddle_media::{Arrival, ParticipantId, SfuError, SubscriptionSpec, TrackId};

#[test]
fn garbage_datagrams_are_refused() {
    let mut b = Bench::new();
    b.join(AV);
    b.connect_all();
    let stranger: SocketAddr = (Ipv4Addr::new(9, 9, 9, 9), 9).into();
    for junk in [
        &[][..],
        &[0u8][..],
        &[0xff; 1500][..],
        &[0x80, 0x60, 0, 1, 2][..],
    ] {
        assert!(b
            .sfu
            .handle_receive(b.now, stranger, sfu_addr(), junk)
            .is_err());
    }
    // RTP-looking junk from a connected client's address goes to its Rtc, which drops it.
    let addr = b.clients[0].addr;
    let mut rtp = vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
    rtp.extend([0u8; 100]);
    let _ = b.sfu.handle_receive(b.now, addr, sfu_addr(), &rtp);
    b.run_for(Duration::from_millis(100));
    assert!(b.clients[0].rtc.is_connected());
}

#[test]
fn bad_signaling_input_is_an_error() {
    let mut b = Bench::new();
    let a = b.join(NOTHING);
    let id = b.clients[a].id;
    assert!(matches!(
        b.sfu.accept_offer(id, "v=0 this is not sdp"),
        Err(SfuError::BadSdp(_))
    ));
    assert!(matches!(
        b.sfu.accept_answer(id, "nonsense"),
        Err(SfuError::NoPendingOffer(_))
    ));
    assert!(b.sfu.add_remote_candidate(id, "candidate:garbage").is_err());
    assert!(matches!(
        b.sfu.accept_offer(ParticipantId(99), "v=0"),
        Err(SfuError::UnknownParticipant(_))
    ));
    let bogus = TrackId {
        publisher: ParticipantId(42),
        mid: "x".into(),
    };
    assert!(matches!(
        b.sfu
            .set_subscription(id, bogus, SubscriptionSpec::default()),
        Err(SfuError::UnknownTrack(_))
    ));
    assert!(matches!(
        b.sfu.join(common::ROOM, id, Arrival::Newcomer),
        Err(SfuError::ParticipantExists(..))
    ));
}
