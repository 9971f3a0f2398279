//! Signals between participants: stamped with the sender, confined to the room.

mod common;

use common::Server;
use serde_json::json;

fn offer() -> serde_json::Value {
    json!({"kind": "description", "description": {"type": "offer", "sdp": "v=0\r\n"}})
}

#[tokio::test]
async fn signals_reach_the_target_stamped_with_the_sender() {
    let server = Server::start(&[]).await;
    let (mut ada, ada_joined) = server.joined("r", "Ada").await;
    let (mut bob, bob_joined) = server.joined("r", "Bob").await;
    ada.expect("participant_joined").await;

    ada.send(json!({"type": "signal", "to": bob_joined["you"], "signal": offer()}))
        .await;
    let signal = bob.expect("signal").await;
    assert_eq!(signal["from"], ada_joined["you"]);
    assert_eq!(signal["signal"], offer());

    let candidate = json!({"kind": "candidate", "candidate": {
        "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "sdpMid": "0", "sdpMLineIndex": 0}});
    bob.send(json!({"type": "signal", "to": ada_joined["you"], "signal": candidate}))
        .await;
    let signal = ada.expect("signal").await;
    assert_eq!(signal["from"], bob_joined["you"]);
    assert_eq!(signal["signal"], candidate);
}

#[tokio::test]
async fn signals_to_another_room_are_refused() {
    let server = Server::start(&[]).await;
    let (mut ada, _) = server.joined("room-a", "Ada").await;
    let (mut eve, eve_joined) = server.joined("room-b", "Eve").await;
    ada.send(json!({"type": "signal", "to": eve_joined["you"], "signal": offer()}))
        .await;
    ada.expect_error("unknown_participant").await;
    // Eve got nothing; her next message is the answer to her own ping.
    eve.send(json!({"type": "ping"})).await;
    assert_eq!(eve.next().await["type"], "pong");
}

#[tokio::test]
async fn signals_before_joining_are_refused() {
    let server = Server::start(&[]).await;
    let mut client = server.client().await;
    client
        .send(json!({"type": "signal", "to": "someone", "signal": offer()}))
        .await;
    client.expect_error("not_joined").await;
    client
        .send(json!({"type": "update", "media": {"audio": true}}))
        .await;
    client.expect_error("not_joined").await;
}
