//! An auto room over real WebSocket clients: the third join moves it to the SFU, everybody already
//! inside hears it before hearing of the newcomer, peer signaling keeps working while browsers
//! switch, and leaving around the threshold does not switch back until the hold is over;
//! a room that went back up again gives its members a fresh place in the SFU.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Server};
use huddle_media::str0m::media::{Direction, MediaKind};
use huddle_media::str0m::Rtc;
use serde_json::{json, Value};

const AUTO_FLAGS: &[&str] = &["--sfu-workers", "1", "--no-turn"];

fn candidate_signal(to: &Value) -> Value {
    json!({"type": "signal", "to": to, "signal": {"kind": "candidate", "candidate": null}})
}

/// An SDP offer like a browser's first to the SFU: a microphone, a camera and a data channel.
fn browser_offer() -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    change.add_channel("huddle".into());
    let (offer, _) = change.apply().expect("an offer");
    offer.to_sdp_string()
}

/// Joins ada and bob (a mesh pair), then cy. Returns them with their ids.
async fn room_of_three(server: &Server, room: &str) -> [(Client, Value); 3] {
    let (ada, joined) = server.joined(room, "Ada").await;
    assert_eq!(joined["settings"]["media_mode"], "mesh");
    let ada_id = joined["you"].clone();
    let (bob, joined) = server.joined(room, "Bob").await;
    assert_eq!(joined["settings"]["media_mode"], "mesh");
    let bob_id = joined["you"].clone();
    let (cy, joined) = server.joined(room, "Cy").await;
    assert_eq!(
        joined["settings"]["media_mode"], "sfu",
        "the third joins straight into the SFU"
    );
    assert_eq!(joined["settings"]["capacity"], 100);
    let cy_id = joined["you"].clone();
    [(ada, ada_id), (bob, bob_id), (cy, cy_id)]
}

#[tokio::test]
async fn the_third_join_moves_the_room_and_both_ways_work_meanwhile() {
    let server = Server::start(AUTO_FLAGS).await;
    let [(mut ada, _), (mut bob, bob_id), (mut cy, cy_id)] = room_of_three(&server, "grow").await;

    for client in [&mut ada, &mut bob] {
        let mut seen = vec![];
        loop {
            let message = client.next().await;
            seen.push(message["type"].as_str().unwrap().to_owned());
            if message["type"] == "participant_joined" && message["participant"]["id"] == cy_id {
                break;
            }
        }
        let switch = seen.iter().position(|kind| kind == "media_mode");
        assert_eq!(
            switch,
            Some(seen.len() - 2),
            "media_mode comes just before cy: {seen:?}"
        );
    }

    // Ada is switching: her mesh signals still reach bob, and the SFU takes her offer.
    ada.send(candidate_signal(&bob_id)).await;
    let relayed = bob.expect("signal").await;
    assert_eq!(relayed["signal"]["kind"], "candidate");
    ada.send(
        json!({"type": "sfu_signal", "signal": {"kind": "description",
        "description": {"type": "offer", "sdp": browser_offer()}}}),
    )
    .await;
    let answer = ada.expect("sfu_signal").await;
    assert_eq!(
        answer["signal"]["description"]["type"], "answer",
        "{answer}"
    );

    // Cy joined into the SFU and never had peer connections.
    cy.send(candidate_signal(&bob_id)).await;
    cy.expect_error("wrong_media_mode").await;
}

#[tokio::test]
async fn a_leave_below_the_threshold_waits_for_the_hold_before_going_back() {
    let server = Server::start(&[AUTO_FLAGS, &["--sfu-hold", "1.5"]].concat()).await;
    let [(mut ada, _), (mut bob, bob_id), (mut cy, _)] = room_of_three(&server, "shrink").await;
    ada.expect("media_mode").await;
    bob.expect("media_mode").await;

    cy.send(json!({"type": "leave"})).await;
    ada.expect("participant_left").await;
    let left_at = Instant::now();
    let early = ada.try_next(Duration::from_millis(1000)).await;
    assert_eq!(early, None, "no switch before the hold is over");

    for client in [&mut ada, &mut bob] {
        let down = client.expect("media_mode").await;
        assert_eq!(down["mode"], "mesh");
    }
    let waited = left_at.elapsed();
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(4),
        "back to the mesh {waited:?} after the leave"
    );
    // Both ways stay open while the browsers switch back.
    ada.send(candidate_signal(&bob_id)).await;
    bob.expect("signal").await;
    ada.send(json!({"type": "view", "tiles": []})).await;
    assert_eq!(ada.try_next(Duration::from_millis(300)).await, None);

    // A third again moves the room up again; ada offers from a fresh connection and the SFU,
    // which dropped her old place, answers it.
    let (_dee, joined) = server.joined("shrink", "Dee").await;
    assert_eq!(joined["settings"]["media_mode"], "sfu");
    assert_eq!(ada.expect("media_mode").await["mode"], "sfu");
    ada.send(
        json!({"type": "sfu_signal", "signal": {"kind": "description",
        "description": {"type": "offer", "sdp": browser_offer()}}}),
    )
    .await;
    let answer = ada.expect("sfu_signal").await;
    assert_eq!(answer["signal"]["description"]["type"], "answer");
}

#[tokio::test]
async fn forced_mesh_rooms_never_switch_and_fill_up() {
    let server = Server::start(&[AUTO_FLAGS, &["--media-mode", "mesh"]].concat()).await;
    let mut inside = vec![];
    for name in ["A", "B", "C", "D"] {
        let (client, joined) = server.joined("fixed", name).await;
        assert_eq!(joined["settings"]["media_mode"], "mesh");
        inside.push(client);
    }
    let mut eve = server.client().await;
    eve.join("fixed", "Eve").await;
    eve.expect_error("room_full").await;
}
