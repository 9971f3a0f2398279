//! Joining, seeing each other, updates, leaving and dropping out.

mod common;

use common::{metric, Server};
use serde_json::json;

#[tokio::test]
async fn joiners_see_each_other_with_their_state() {
    let server = Server::start(&[]).await;
    let (mut ada, joined) = server.joined("standup", "  Ada\u{7} ").await;
    assert_eq!(joined["version"], 1);
    assert_eq!(joined["room"], "standup");
    assert_eq!(joined["participants"], json!([]));
    // An auto room (the default) starts peer to peer and holds --max-participants.
    assert_eq!(joined["settings"]["capacity"], 100);
    assert_eq!(joined["settings"]["media_mode"], "mesh");
    let ada_id = joined["you"].clone();

    let mut bob = server.client().await;
    bob.send(
        json!({"type": "join", "room": "standup", "name": "Bob", "version": 1,
                    "media": {"audio": true, "video": true, "screen": false}}),
    )
    .await;
    let joined = bob.expect("joined").await;
    let others = joined["participants"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0]["id"], ada_id);
    assert_eq!(others[0]["name"], "Ada", "names are trimmed and cleaned");

    let announced = ada.expect("participant_joined").await;
    assert_eq!(announced["participant"]["name"], "Bob");
    assert_eq!(announced["participant"]["video"], true);
    assert_eq!(announced["participant"]["id"], joined["you"]);
}

#[tokio::test]
async fn updates_reach_everybody() {
    let server = Server::start(&[]).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, bob_joined) = server.joined("r", "Bob").await;
    ada.expect("participant_joined").await;
    bob.send(
        json!({"type": "update", "media": {"audio": false, "video": true, "screen": true},
                    "name": "Robert"}),
    )
    .await;
    let updated = ada.expect("participant_updated").await;
    assert_eq!(updated["participant"]["id"], bob_joined["you"]);
    assert_eq!(updated["participant"]["name"], "Robert");
    assert_eq!(updated["participant"]["screen"], true);
    assert_eq!(updated["participant"]["audio"], false);
}

#[tokio::test]
async fn leave_is_announced_and_empty_rooms_go() {
    let server = Server::start(&[]).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, bob_joined) = server.joined("r", "Bob").await;
    ada.expect("participant_joined").await;
    assert_eq!(
        metric(&server.metrics().await, "huddle_participants"),
        Some(2.0)
    );

    bob.send(json!({"type": "leave"})).await;
    let (code, _) = bob.closed().await;
    assert_eq!(u16::from(code), 1000);
    let left = ada.expect("participant_left").await;
    assert_eq!(left["id"], bob_joined["you"]);
    assert_eq!(left["reason"], "left");

    ada.send(json!({"type": "leave"})).await;
    ada.closed().await;
    let text = server.metrics().await;
    assert_eq!(metric(&text, "huddle_rooms"), Some(0.0));
    assert_eq!(metric(&text, "huddle_participants"), Some(0.0));
}

#[tokio::test]
async fn abrupt_disconnect_is_noticed() {
    let server = Server::start(&[]).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (bob, bob_joined) = server.joined("r", "Bob").await;
    ada.expect("participant_joined").await;
    drop(bob); // no close frame: the TCP connection just ends
    let left = ada.expect("participant_left").await;
    assert_eq!(left["id"], bob_joined["you"]);
    assert_eq!(left["reason"], "disconnected");
}

#[tokio::test]
async fn a_silent_connection_times_out() {
    let server =
        Server::start(&["--keepalive-interval", "0.1", "--keepalive-timeout", "0.5"]).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    // Bob's client never reads again, so it never answers the server's pings: a dead network.
    let (_bob, bob_joined) = server.joined("r", "Bob").await;
    ada.expect("participant_joined").await;
    let started = std::time::Instant::now();
    let left = ada.expect("participant_left").await;
    assert_eq!(left["id"], bob_joined["you"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn full_room_refuses_the_next_joiner() {
    let server = Server::start(&["--media-mode", "mesh", "--mesh-limit", "2"]).await;
    let _ada = server.joined("r", "Ada").await;
    let _bob = server.joined("r", "Bob").await;
    let mut cleo = server.client().await;
    cleo.join("r", "Cleo").await;
    let error = cleo.expect_error("room_full").await;
    assert!(error["message"].as_str().unwrap().contains('2'));
    // Another room still has space, on the same connection.
    cleo.join("other", "Cleo").await;
    cleo.expect("joined").await;
}

#[tokio::test]
async fn sfu_rooms_hold_max_participants_not_the_mesh_limit() {
    let server = Server::start(&[
        "--media-mode",
        "sfu",
        "--sfu-workers",
        "1",
        "--mesh-limit",
        "2",
        "--max-participants",
        "3",
    ])
    .await;
    let mut clients = vec![];
    for name in ["Ada", "Bob", "Cleo"] {
        let (client, joined) = server.joined("big", name).await;
        assert_eq!(joined["settings"]["media_mode"], "sfu");
        assert_eq!(joined["settings"]["capacity"], 3);
        clients.push(client);
    }
    let mut dan = server.client().await;
    dan.join("big", "Dan").await;
    let error = dan.expect_error("room_full").await;
    assert!(error["message"].as_str().unwrap().contains('3'));
    // A place frees up when somebody leaves.
    clients[0].send(json!({"type": "leave"})).await;
    clients[1].expect("participant_left").await;
    dan.join("big", "Dan").await;
    dan.expect("joined").await;
}

#[tokio::test]
async fn shutdown_tells_clients_to_come_back() {
    let server = Server::start(&[]).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    server.shutdown.cancel();
    let (code, reason) = ada.closed().await;
    assert_eq!(u16::from(code), 1001);
    assert_eq!(reason, "server shutting down");
    let finished = tokio::time::timeout(common::WAIT, server.task).await;
    assert!(finished.is_ok(), "server stops after shutdown");
}
