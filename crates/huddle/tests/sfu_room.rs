//! An sfu room end to end: WebSocket clients for signaling and str0m `Rtc`s on real UDP on
//! 127.0.0.1 for media. A publisher's offer gets the SFU's answer, its video reaches a second
//! participant on the mid `sfu_track` names, its voice makes it the active speaker, and its media
//! stops when it leaves.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{Client, Server};
use huddle_media::str0m::change::{SdpAnswer, SdpOffer};
use huddle_media::str0m::format::Codec;
use huddle_media::str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt};
use huddle_media::str0m::net::{Protocol, Receive};
use huddle_media::str0m::{Candidate, Event, Input, Output, Rtc};
use serde_json::{json, Value};

const SFU_FLAGS: &[&str] = &["--media-mode", "sfu", "--sfu-workers", "1", "--no-turn"];

/// A browser stand-in: one `Rtc` and its UDP socket.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    /// Media frames received, by the mid they came on.
    received: Vec<Mid>,
    frame: u64,
    audio_packets: u64,
}

impl Peer {
    fn new() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        Peer {
            rtc,
            socket,
            received: vec![],
            frame: 0,
            audio_packets: 0,
        }
    }

    /// Offers through `sfu_signal` (a microphone and a camera if `publish`, and a data channel)
    /// and applies the answer. Returns the microphone's and the camera's mids.
    async fn connect(&mut self, client: &mut Client, publish: bool) -> Option<(Mid, Mid)> {
        let mut change = self.rtc.sdp_api();
        let mid = publish.then(|| {
            let send = Direction::SendOnly;
            let microphone = change.add_media(MediaKind::Audio, send, None, None, None);
            let camera = change.add_media(MediaKind::Video, send, None, None, None);
            (microphone, camera)
        });
        change.add_channel("chat".into());
        let (offer, pending) = change.apply().unwrap();
        client
            .send(sfu_description("offer", &offer.to_sdp_string()))
            .await;
        let answer = client.expect("sfu_signal").await;
        assert_eq!(
            answer["signal"]["description"]["type"], "answer",
            "{answer}"
        );
        let sdp = answer["signal"]["description"]["sdp"].as_str().unwrap();
        self.rtc
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(sdp).unwrap())
            .unwrap();
        mid
    }

    /// Answers an SFU offer through `sfu_signal`.
    async fn answer(&mut self, client: &mut Client, offer: &Value) {
        let sdp = offer["signal"]["description"]["sdp"].as_str().unwrap();
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        client
            .send(sfu_description("answer", &answer.to_sdp_string()))
            .await;
    }

    /// Handles what arrived and what is due; never blocks.
    fn step(&mut self) {
        let mut buf = [0u8; 2000];
        let destination = self.socket.local_addr().unwrap();
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let receive = Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            };
            self.rtc
                .handle_input(Input::Receive(Instant::now(), receive))
                .unwrap();
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
                Output::Event(Event::MediaData(data)) => self.received.push(data.mid),
                Output::Event(_) => {}
            }
        }
    }

    /// One VP8 keyframe on `mid` (every frame a keyframe keeps the test free of PLI timing).
    fn send_frame(&mut self, mid: Mid) {
        if !self.rtc.is_connected() {
            return;
        }
        let pt = self.payload_type(Codec::Vp8);
        let mut data = vec![0u8; 300];
        data[0] = 0x10;
        let time = MediaTime::new(self.frame * 3000, Frequency::NINETY_KHZ);
        if let Some(writer) = self.rtc.writer(mid) {
            writer.write(pt, Instant::now(), time, data).unwrap();
        }
        self.frame += 1;
    }

    /// One loud Opus packet on `mid`, with its level in the audio-level header extension.
    fn send_audio(&mut self, mid: Mid) {
        if !self.rtc.is_connected() {
            return;
        }
        let pt = self.payload_type(Codec::Opus);
        self.audio_packets += 1;
        let time = MediaTime::new(self.audio_packets * 960, Frequency::FORTY_EIGHT_KHZ);
        if let Some(writer) = self.rtc.writer(mid) {
            let writer = writer.audio_level(-20, true);
            writer
                .write(pt, Instant::now(), time, vec![0xfc; 60])
                .unwrap();
        }
    }

    fn payload_type(&self, codec: Codec) -> Pt {
        let params = self.rtc.codec_config().find(|p| p.spec().codec == codec);
        params.expect("the codec is configured").pt()
    }

    fn received_on(&self, mid: &str) -> usize {
        self.received
            .iter()
            .filter(|m| **m == Mid::from(mid))
            .count()
    }
}

fn sfu_description(kind: &str, sdp: &str) -> Value {
    json!({"type": "sfu_signal", "signal": {"kind": "description",
        "description": {"type": kind, "sdp": sdp}}})
}

/// Both sides: media, the clients' SFU messages (offers are answered), a video frame every
/// 33 ms and an audio packet every 20 ms.
struct Call {
    /// The publisher's client, peer, and microphone and camera mids.
    publisher: (Client, Peer, (Mid, Mid)),
    viewer: (Client, Peer),
    /// `sfu_track` messages the viewer got.
    tracks: Vec<Value>,
    /// Who `active_speaker` named, as the publisher and the viewer heard it.
    speakers: (Vec<Value>, Vec<Value>),
    next_frame: Instant,
    next_audio: Instant,
}

impl Call {
    async fn run_for(&mut self, time: Duration, publishing: bool) {
        let end = Instant::now() + time;
        while Instant::now() < end {
            self.step(publishing).await;
        }
    }

    async fn run_until(&mut self, done: impl Fn(&Call) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "no video through the SFU in 10 s"
            );
            self.step(true).await;
        }
    }

    async fn step(&mut self, publishing: bool) {
        let wait = Duration::from_millis(1);
        let (client, peer, (microphone, camera)) = &mut self.publisher;
        if publishing {
            while let Some(message) = client.try_next(wait).await {
                match message["type"].as_str() {
                    Some("sfu_signal") => peer.answer(client, &message).await,
                    Some("active_speaker") => self.speakers.0.push(message["participant"].clone()),
                    _ => {}
                }
            }
            if Instant::now() >= self.next_frame {
                peer.send_frame(*camera);
                self.next_frame += Duration::from_millis(33);
            }
            while Instant::now() >= self.next_audio {
                peer.send_audio(*microphone);
                self.next_audio += Duration::from_millis(20);
            }
        }
        peer.step();
        let (client, peer) = &mut self.viewer;
        while let Some(message) = client.try_next(wait).await {
            match message["type"].as_str() {
                Some("sfu_signal") => peer.answer(client, &message).await,
                Some("sfu_track") => self.tracks.push(message),
                Some("active_speaker") => self.speakers.1.push(message["participant"].clone()),
                _ => {}
            }
        }
        peer.step();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn video_reaches_the_viewer_on_its_mid_until_the_publisher_leaves() {
    let server = Server::start(SFU_FLAGS).await;
    assert!(server.sfu.is_some());
    let (mut ada, joined) = server.joined("sfu-call", "Ada").await;
    assert_eq!(joined["settings"]["media_mode"], "sfu");
    assert_eq!(joined["settings"]["capacity"], 100);
    let ada_id = joined["you"].clone();
    let mut ada_peer = Peer::new();
    let mids = ada_peer.connect(&mut ada, true).await.unwrap();

    let (mut bob, _) = server.joined("sfu-call", "Bob").await;
    let mut bob_peer = Peer::new();
    bob_peer.connect(&mut bob, false).await;

    let mut call = Call {
        publisher: (ada, ada_peer, mids),
        viewer: (bob, bob_peer),
        tracks: vec![],
        speakers: (vec![], vec![]),
        next_frame: Instant::now(),
        next_audio: Instant::now(),
    };
    let video = |call: &Call| call.tracks.iter().find(|t| t["source"] == "video").cloned();
    call.run_until(|call| {
        let Some(track) = video(call) else {
            return false;
        };
        let speakers = &call.speakers;
        call.viewer.1.received_on(track["mid"].as_str().unwrap()) >= 10
            && !speakers.0.is_empty()
            && !speakers.1.is_empty()
    })
    .await;
    let track = video(&call).unwrap();
    assert_eq!(track["participant"], ada_id, "{track}");
    let audio = call.tracks.iter().find(|t| t["source"] == "audio");
    assert_eq!(audio.expect("an audio track")["participant"], ada_id);
    assert_eq!(call.speakers.0[0], ada_id);
    assert_eq!(call.speakers.1[0], ada_id);

    // Ada leaves; her browser keeps sending, but nothing reaches Bob any more.
    call.publisher.0.send(json!({"type": "leave"})).await;
    call.viewer.0.expect("participant_left").await;
    call.run_for(Duration::from_millis(300), false).await;
    let mid = track["mid"].as_str().unwrap().to_owned();
    let before = call.viewer.1.received_on(&mid);
    let (_, ada_peer, (_, camera)) = &mut call.publisher;
    for _ in 0..20 {
        ada_peer.send_frame(*camera);
        ada_peer.step();
        call.viewer.1.step();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(call.viewer.1.received_on(&mid), before);
    let metrics = server.metrics().await;
    assert!(metrics.contains("huddle_sfu_packets_forwarded_total"));
    // Each worker reports its own load.
    assert!(
        metrics.contains(r#"huddle_sfu_worker_rooms{worker="0"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn messages_of_the_other_media_mode_are_refused() {
    let mesh = Server::start(&["--media-mode", "mesh"]).await;
    assert!(mesh.sfu.is_none());
    let (mut ada, _) = mesh.joined("mesh-room", "Ada").await;
    ada.send(sfu_description("offer", "v=0")).await;
    ada.expect_error("wrong_media_mode").await;
    ada.send(json!({"type": "view", "tiles": []})).await;
    ada.expect_error("wrong_media_mode").await;
    ada.send(json!({"type": "sfu_connect"})).await;
    ada.expect_error("wrong_media_mode").await;

    let sfu = Server::start(SFU_FLAGS).await;
    let mut early = sfu.client().await;
    early.send(sfu_description("offer", "v=0")).await;
    early.expect_error("not_joined").await;
    let (mut bob, _) = sfu.joined("sfu-room", "Bob").await;
    let (_cleo, joined) = sfu.joined("sfu-room", "Cleo").await;
    let signal = json!({"kind": "candidate", "candidate": null});
    bob.send(json!({"type": "signal", "to": joined["you"], "signal": signal}))
        .await;
    bob.expect_error("wrong_media_mode").await;
    // SDP the SFU cannot read is refused with the reason.
    bob.send(sfu_description("offer", "not sdp")).await;
    bob.expect_error("sfu_rejected").await;
    // The end of candidates needs nothing from an ICE-lite SFU; a view is taken quietly.
    bob.send(json!({"type": "sfu_signal", "signal": signal}))
        .await;
    let tiles = json!([{"participant": joined["you"], "visible": false},
        {"participant": joined["you"], "source": "screen", "visible": true, "width": 320}]);
    bob.send(json!({"type": "view", "tiles": tiles})).await;
    // A tile of a source the server does not know is refused, typed.
    let tiles = json!([{"participant": joined["you"], "source": "window", "visible": true}]);
    bob.send(json!({"type": "view", "tiles": tiles})).await;
    bob.expect_error("malformed_message").await;
    bob.send(json!({"type": "ping"})).await;
    assert_eq!(bob.next().await["type"], "pong");
}

#[tokio::test]
async fn after_sfu_connect_a_new_connection_gets_a_fresh_place() {
    let server = Server::start(SFU_FLAGS).await;
    let (mut ada, _) = server.joined("sfu-anew", "Ada").await;
    Peer::new().connect(&mut ada, true).await.unwrap();
    // The first connection is given up (as after `sfu_ended`); a new one offers from scratch
    // and is answered (`connect` asserts the answer), publishing on mids of its own.
    ada.send(json!({"type": "sfu_connect"})).await;
    Peer::new().connect(&mut ada, true).await.unwrap();
    ada.send(json!({"type": "ping"})).await;
    assert_eq!(ada.next().await["type"], "pong");
}

/// Ada publishes into an sfu room where Bob, who came first, is host.
async fn call_with_host_bob(server: &Server, ada_join: Value) -> (Call, Value) {
    let (bob, _) = server.joined("sfu-moderation", "Bob").await;
    let mut ada = server.client().await;
    ada.send(ada_join).await;
    let joined = ada.expect("joined").await;
    let mut ada_peer = Peer::new();
    let mids = ada_peer.connect(&mut ada, true).await.unwrap();
    let mut bob = bob;
    let mut bob_peer = Peer::new();
    bob_peer.connect(&mut bob, false).await;
    let call = Call {
        publisher: (ada, ada_peer, mids),
        viewer: (bob, bob_peer),
        tracks: vec![],
        speakers: (vec![], vec![]),
        next_frame: Instant::now(),
        next_audio: Instant::now(),
    };
    (call, joined)
}

fn received(call: &Call, source: &str) -> usize {
    call.tracks
        .iter()
        .filter(|track| track["source"] == source)
        .map(|track| call.viewer.1.received_on(track["mid"].as_str().unwrap()))
        .sum()
}

#[tokio::test]
async fn a_viewers_media_is_not_forwarded() {
    use huddle::access::JoinTokens;
    let server = Server::start(SFU_FLAGS).await;
    let room = huddle::rooms::RoomName::parse("sfu-moderation").unwrap();
    let token = JoinTokens::new(common::TOKEN_SECRET.as_bytes()).mint(
        &room,
        huddle::protocol::Role::Viewer,
        None,
        Duration::from_secs(60),
    );
    let join = json!({"type": "join", "room": "sfu-moderation", "name": "Ada", "version": 1,
                      "token": token});
    let (mut call, joined) = call_with_host_bob(&server, join).await;
    assert_eq!(joined["role"], "viewer");
    call.run_for(Duration::from_millis(1500), true).await;
    assert_eq!(received(&call, "video") + received(&call, "audio"), 0);
}

#[tokio::test]
async fn a_muted_publishers_audio_stops_until_they_unmute() {
    let server = Server::start(SFU_FLAGS).await;
    let join = json!({"type": "join", "room": "sfu-moderation", "name": "Ada", "version": 1,
                      "media": {"audio": true, "video": true}});
    let (mut call, joined) = call_with_host_bob(&server, join).await;
    let ada_id = joined["you"].clone();
    call.run_until(|call| received(call, "audio") >= 10 && received(call, "video") >= 10)
        .await;

    let mute = json!({"type": "moderate", "action": {"kind": "mute", "participant": ada_id}});
    call.viewer.0.send(mute).await;
    call.run_for(Duration::from_millis(300), true).await;
    let (audio, video) = (received(&call, "audio"), received(&call, "video"));
    call.run_for(Duration::from_millis(700), true).await;
    assert_eq!(
        received(&call, "audio"),
        audio,
        "muted audio is not forwarded"
    );
    assert!(received(&call, "video") > video, "video goes on");

    let unmute = json!({"type": "update", "media": {"audio": true, "video": true}});
    call.publisher.0.send(unmute).await;
    call.run_until(|call| received(call, "audio") >= audio + 10)
        .await;
}
