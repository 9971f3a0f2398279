//! The driver runs the SFU on a real UDP socket on loopback, with two workers
//! behind one port: two rooms, each with two str0m clients, and video flows
//! within each room. Bounded in time.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use huddle_media::driver::{spawn, Command, SfuHandle};
use huddle_media::str0m::change::{SdpAnswer, SdpOffer};
use huddle_media::str0m::format::Codec;
use huddle_media::str0m::media::{Direction, Frequency, MediaKind, MediaTime};
use huddle_media::str0m::net::{Protocol, Receive};
use huddle_media::str0m::{Candidate, Event, Input, Output, Rtc};
use huddle_media::{Arrival, ParticipantId, RoomId, SfuConfig, SfuEvent, SfuMetrics};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
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
    h.send(make(tx)).unwrap();
    rx.blocking_recv().unwrap()
}

fn join(h: &SfuHandle, room: RoomId, p: &mut Peer, publish: bool) -> Option<huddle_media::Mid> {
    let id = p.id;
    call(h, |reply| Command::Join {
        room,
        participant: id,
        arrival: Arrival::Newcomer,
        reply,
    })
    .unwrap();
    let mut change = p.rtc.sdp_api();
    let mid =
        publish.then(|| change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
    change.add_channel("chat".into());
    let (offer, pending) = change.apply().unwrap();
    let answer = call(h, |reply| Command::AcceptOffer {
        room,
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

/// A room of a publisher and a viewer, driven by the test thread.
struct Call {
    room: RoomId,
    publisher: Peer,
    viewer: Peer,
    mid: huddle_media::Mid,
    frame: u64,
}

impl Call {
    fn new(h: &SfuHandle, room: u64, first_id: u64) -> Call {
        let room = RoomId(room);
        let mut publisher = Peer::new(first_id);
        let mut viewer = Peer::new(first_id + 1);
        let mid = join(h, room, &mut publisher, true).unwrap();
        join(h, room, &mut viewer, false);
        Call {
            room,
            publisher,
            viewer,
            mid,
            frame: 0,
        }
    }

    fn peer(&mut self, id: ParticipantId) -> Option<&mut Peer> {
        if id == self.viewer.id {
            Some(&mut self.viewer)
        } else if id == self.publisher.id {
            Some(&mut self.publisher)
        } else {
            None
        }
    }

    fn send_frame(&mut self) {
        if !self.publisher.rtc.is_connected() {
            return;
        }
        let pt = self
            .publisher
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Vp8)
            .unwrap()
            .pt();
        // Every frame a keyframe: keeps the test independent of PLI timing.
        let mut data = vec![0u8; 300];
        data[0] = 0x10;
        let time = MediaTime::new(self.frame * 3000, Frequency::NINETY_KHZ);
        if let Some(w) = self.publisher.rtc.writer(self.mid) {
            w.write(pt, Instant::now(), time, data).unwrap();
        }
        self.frame += 1;
    }
}

#[test]
fn video_flows_in_two_rooms_on_two_workers_behind_one_port() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = SfuConfig::new(socket.local_addr().unwrap());
    let metrics = SfuMetrics::default();
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let (h, mut events) = spawn(socket, config, 2, Some(metrics)).unwrap();

    // Rooms 7 and 8 land on different workers (room id modulo 2).
    let mut calls = [Call::new(&h, 7, 1), Call::new(&h, 8, 11)];
    run_until(&h, &mut events, &mut calls, |c| c.viewer.media >= 10);
    // Each worker publishes its figures once a second: run through a publication.
    let flowing = Instant::now();
    run_until(&h, &mut events, &mut calls, |_| {
        flowing.elapsed() > Duration::from_millis(1200)
    });
    for worker in ["0", "1"] {
        let busy = metric(&registry, "huddle_sfu_worker_busy_seconds_total", worker);
        let lag = metric(&registry, "huddle_sfu_worker_lag_seconds", worker);
        // Two small calls keep a worker busy a sliver of the time and handle datagrams
        // within milliseconds; a bound of a second is far from either.
        assert!(busy > 0.0 && busy < 1.0, "worker {worker} busy {busy} s");
        assert!(lag > 0.0 && lag < 1.0, "worker {worker} lag {lag} s");
    }
    let viewer = calls[0].viewer.id;
    h.send(Command::Leave {
        room: RoomId(7),
        participant: viewer,
    })
    .unwrap();
    h.shutdown();
}

/// A network change: the publisher sends from a new address, after an ICE restart that
/// gave it a new ufrag at the SFU. The router must find the worker by the new ufrag.
#[test]
fn an_ice_restart_from_a_new_address_reaches_the_participants_worker() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = SfuConfig::new(socket.local_addr().unwrap());
    let (h, mut events) = spawn(socket, config, 2, None).unwrap();
    let mut calls = [Call::new(&h, 7, 1)];
    run_until(&h, &mut events, &mut calls, |c| c.viewer.media >= 10);

    let moving = &mut calls[0];
    let moved = UdpSocket::bind("127.0.0.1:0").unwrap();
    moved.set_nonblocking(true).unwrap();
    let address = moved.local_addr().unwrap();
    moving.publisher.socket = moved;
    let mut change = moving.publisher.rtc.sdp_api();
    change.ice_restart(false);
    let (offer, pending) = change.apply().unwrap();
    let answer = call(&h, |reply| Command::AcceptOffer {
        room: moving.room,
        participant: moving.publisher.id,
        sdp: offer.to_sdp_string(),
        reply,
    })
    .unwrap();
    moving
        .publisher
        .rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    // Applying the answer restarts the client's ICE agent, which drops its old candidates.
    moving
        .publisher
        .rtc
        .add_local_candidate(Candidate::host(address, "udp").unwrap());
    moving.viewer.media = 0;
    run_until(&h, &mut events, &mut calls, |c| c.viewer.media >= 10);
    h.shutdown();
}

/// The value of `name{worker="<worker>"}` in the registry's text exposition.
fn metric(registry: &Registry, name: &str, worker: &str) -> f64 {
    let mut text = String::new();
    encode(&mut text, registry).unwrap();
    let series = format!("{name}{{worker=\"{worker}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .unwrap_or_else(|| panic!("no {series} in {text}"))
        .parse()
        .unwrap()
}

/// Drives the calls (answering the SFU's offers, 30 fps of video) until `done` holds for
/// every call; fails after 10 s.
fn run_until(
    h: &SfuHandle,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<SfuEvent>,
    calls: &mut [Call],
    done: impl Fn(&Call) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut next_frame = Instant::now();
    while !calls.iter().all(&done) {
        assert!(
            Instant::now() < deadline,
            "no video through the driver in 10 s"
        );
        while let Ok(e) = events.try_recv() {
            let SfuEvent::Offer { participant, sdp } = e else {
                continue;
            };
            let Some(call) = calls
                .iter_mut()
                .find(|c| c.viewer.id == participant || c.publisher.id == participant)
            else {
                continue;
            };
            let room = call.room;
            let peer = call.peer(participant).unwrap();
            let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
            let answer = peer.rtc.sdp_api().accept_offer(offer).unwrap();
            call_answer(h, room, participant, answer.to_sdp_string());
        }
        if Instant::now() >= next_frame {
            for c in calls.iter_mut() {
                c.send_frame();
            }
            next_frame += Duration::from_millis(33);
        }
        for c in calls.iter_mut() {
            c.publisher.step();
            c.viewer.step();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn call_answer(h: &SfuHandle, room: RoomId, participant: ParticipantId, sdp: String) {
    call(h, |reply| Command::AcceptAnswer {
        room,
        participant,
        sdp,
        reply,
    })
    .unwrap();
}
