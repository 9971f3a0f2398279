//! Nobody takes a room from its host: another member's signals cannot make the room drop the host,
//! a host who loses their connection gets the role back, and a lobby room whose host left keeps
//! strangers waiting.

mod common;

use std::time::Duration;

use common::{identity, Client, Server, TOKEN_SECRET};
use futures_util::SinkExt;
use huddle::access::JoinTokens;
use huddle::protocol::Role;
use huddle::rooms::RoomName;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn token(room: &str, role: Role) -> String {
    let room = RoomName::parse(room).unwrap();
    JoinTokens::new(TOKEN_SECRET.as_bytes()).mint(&room, role, None, Duration::from_secs(60))
}

async fn join_with(server: &Server, room: &str, name: &str, extra: Value) -> Client {
    let mut join = json!({"type": "join", "room": room, "name": name, "version": 1});
    join.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let mut client = server.client().await;
    client.send(join).await;
    client
}

/// The role `id` has in the `participants` of a newcomer's `joined`.
async fn role_seen_by_newcomer(server: &Server, room: &str, id: &str) -> Value {
    let (_newcomer, joined) = server.joined(room, "Witness").await;
    let participants = joined["participants"].as_array().unwrap();
    let member = participants.iter().find(|p| p["id"] == id);
    member.map_or(Value::Null, |member| member["role"].clone())
}

#[tokio::test]
async fn a_member_flooding_the_host_with_signals_cannot_push_the_host_out() {
    // Rate limits generous enough to let the whole flood through: only the room's own rule (no
    // relaying to a member with a backlog) stands between Mallory and the host.
    let unlimited = ["--message-rate", "10000", "--message-burst", "10000"];
    let bytes = ["--message-bytes-rate", "1000000000"];
    let server = Server::start(&[&unlimited[..], &bytes[..]].concat()).await;
    let (mut host, joined) = server.joined("flooded", "Host").await;
    let host_id = joined["you"].as_str().unwrap().to_owned();
    let (mut mallory, _) = server.joined("flooded", "Mallory").await;
    host.expect("participant_joined").await;

    // The host stops reading while Mallory sends it 60 KB offers as fast as she can: far more
    // than the host's queue and socket buffers hold.
    let sdp = format!("v=0\r\na=x:{}\r\n", "x".repeat(60_000));
    let offer = json!({"type": "signal", "to": host_id,
        "signal": {"kind": "description", "description": {"type": "offer", "sdp": sdp}}});
    let frame = Message::text(offer.to_string());
    for _ in 0..600 {
        mallory.socket.send(frame.clone()).await.unwrap();
    }
    mallory.send(json!({"type": "ping"})).await;
    let busy = mallory.next().await;
    assert_eq!(busy["code"], "recipient_busy", "{busy}");

    assert_eq!(
        role_seen_by_newcomer(&server, "flooded", &host_id).await,
        "host",
        "the host is still in the room, and still its host"
    );
}

#[tokio::test]
async fn a_host_who_loses_the_connection_gets_the_role_back_and_nobody_else_takes_it() {
    let server = Server::start(&[]).await;
    let host_identity = identity("host");
    let mut host = server.client().await;
    let [joined, ..] = host.join_as("held", "Host", &host_identity).await;
    assert_eq!(joined["role"], "host");
    let (mut guest, _) = server.joined("held", "Guest").await;

    // The connection breaks without a goodbye (no close frame).
    drop(host);
    let left = guest.expect("participant_left").await;
    assert_eq!(left["reason"], "disconnected");
    assert_eq!(
        guest.try_next(Duration::from_millis(300)).await,
        None,
        "nobody is handed the role while its host may come back"
    );

    let mut back = server.client().await;
    let [joined, ..] = back.join_as("held", "Host", &host_identity).await;
    assert_eq!(joined["role"], "host");
    let rejoined = guest.expect("participant_joined").await;
    assert_eq!(rejoined["participant"]["role"], "host");
}

#[tokio::test]
async fn a_lobby_room_whose_host_left_keeps_strangers_waiting_for_a_host() {
    let server = Server::start(&[]).await;
    let (mut host, _) = server.joined("door", "Host").await;
    host.send(json!({"type": "moderate", "action": {"kind": "lobby", "enabled": true}}))
        .await;
    host.expect("access_changed").await;
    let viewer_token = token("door", Role::Viewer);
    let mut viewer = join_with(&server, "door", "Viewer", json!({"token": viewer_token})).await;
    assert_eq!(viewer.expect("joined").await["role"], "viewer");
    host.send(json!({"type": "leave"})).await;
    viewer.expect("participant_left").await;

    let mut stranger = server.client().await;
    stranger.join("door", "Stranger").await;
    assert_eq!(stranger.expect("waiting").await["room"], "door");

    let host_token = token("door", Role::Host);
    let mut new_host = join_with(&server, "door", "New host", json!({"token": host_token})).await;
    assert_eq!(new_host.expect("joined").await["role"], "host");
    let knock = new_host.expect("knocking").await;
    assert_eq!(knock["participant"]["name"], "Stranger");
}
