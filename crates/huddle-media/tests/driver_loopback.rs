//! The driver runs the SFU on a real UDP socket on loopback: two str0m clients
//! connect through it and video flows from one to the other. Bounded in time.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use huddle_media::driver::{spawn, Command, SfuHandle};
use huddle_media::str0m::change::{SdpAnswer, SdpOffer};
use huddle_media::str0m::format::Codec;
use huddle_media::str0m::media::{Direction, Frequency, MediaKind, MediaTime};
use huddle_media::str0m::net::{Protocol, Receive};
use huddle_media::str0m::{Candidate, Event, Input, Output, Rtc};
use huddle_media::{ParticipantId, RoomId, SfuConfig, SfuEvent, SfuMetrics};
use tokio::sync::oneshot;

struct Peer {
    id: ParticipantId,
    rtc: Rtc,
    socket: UdpSocket,
    media: usize,
}

impl Peer {
    fn new(id: u64) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        Peer {
            id: ParticipantId(id),
            rtc,
            socket,
            media: 0,
        }
    }

    /// Handles what arrived and what is due; never blocks.
    fn step(&mut self) {
        let mut buf = [0u8; 2000];
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.socket.local_addr().unwrap(),
                    contents,
                },
            );
            self.rtc.handle_input(input).unwrap();
        }
        self.rtc
            .handle_input(Input::Timeout(Instant::now()))
            .unwrap();
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(Event::MediaData(_)) => self.media += 1,
                Output::Event(_) => {}
            }
        }
    }
}

fn call<T>(h: &SfuHandle, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> T {
    let (tx, rx) = oneshot::channel();
    h.commands.send(make(tx)).unwrap();
    rx.blocking_recv().unwrap()
}

fn join(h: &SfuHandle, p: &mut Peer, publish: bool) -> Option<huddle_media::Mid> {
    let id = p.id;
    call(h, |reply| Command::Join {
        room: RoomId(7),
        participant: id,
        reply,
    })
    .unwrap();
    let mut change = p.rtc.sdp_api();
    let mid =
        publish.then(|| change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
    change.add_channel("chat".into());
    let (offer, pending) = change.apply().unwrap();
    let answer = call(h, |reply| Command::AcceptOffer {
        participant: id,
        sdp: offer.to_sdp_string(),
        reply,
    })
    .unwrap();
    p.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    mid
}

#[test]
fn video_flows_between_two_clients_over_loopback() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = SfuConfig::new(socket.local_addr().unwrap());
    let metrics = SfuMetrics::default();
    let mut h = spawn(socket, config, Some(metrics)).unwrap();

    let mut publisher = Peer::new(1);
    let mut viewer = Peer::new(2);
    let mid = join(&h, &mut publisher, true).unwrap();
    join(&h, &mut viewer, false);

    let pt = publisher
        .rtc
        .codec_config()
        .find(|p| p.spec().codec == Codec::Vp8)
        .unwrap()
        .pt();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut frame = 0u64;
    let mut next_frame = Instant::now();
    while viewer.media < 10 {
        assert!(
            Instant::now() < deadline,
            "no video through the driver in 10 s"
        );
        while let Ok(e) = h.events.try_recv() {
            if let SfuEvent::Offer { participant, sdp } = e {
                let peer = if participant == viewer.id {
                    &mut viewer
                } else {
                    &mut publisher
                };
                let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                let answer = peer.rtc.sdp_api().accept_offer(offer).unwrap();
                call(&h, |reply| Command::AcceptAnswer {
                    participant,
                    sdp: answer.to_sdp_string(),
                    reply,
                })
                .unwrap();
            }
        }
        if publisher.rtc.is_connected() && Instant::now() >= next_frame {
            // Every frame a keyframe: keeps the test independent of PLI timing.
            let mut data = vec![0u8; 300];
            data[0] = 0x10;
            let time = MediaTime::new(frame * 3000, Frequency::NINETY_KHZ);
            if let Some(w) = publisher.rtc.writer(mid) {
                w.write(pt, Instant::now(), time, data).unwrap();
            }
            frame += 1;
            next_frame += Duration::from_millis(33);
        }
        publisher.step();
        viewer.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    h.commands
        .send(Command::Leave {
            participant: viewer.id,
        })
        .unwrap();
    h.shutdown();
}
