//! Roles and what hosts do: the first to join an open room hosts; viewers cannot publish;
//! only hosts moderate; mute, lock, lobby admit and deny, hand-over, kick (kept out), end; password
//! changes as limited as password attempts.

mod common;

use std::time::Duration;

use common::{Client, Server, TOKEN_SECRET};
use huddle::access::JoinTokens;
use huddle::protocol::Role;
use huddle::rooms::RoomName;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn moderate(client: &mut Client, action: Value) {
    client
        .send(json!({"type": "moderate", "action": action}))
        .await;
}

fn offer(direction: &str) -> Value {
    let sdp = format!("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na={direction}\r\n");
    json!({"kind": "description", "description": {"type": "offer", "sdp": sdp}})
}

#[tokio::test]
async fn first_is_host_and_only_hosts_moderate() {
    let server = Server::start(&[]).await;
    let (mut host, joined) = server.joined("roles", "Host").await;
    assert_eq!(joined["role"], "host");
    let (mut guest, joined) = server.joined("roles", "Guest").await;
    assert_eq!(joined["role"], "participant");
    assert_eq!(joined["participants"][0]["role"], "host");
    let host_id = host_id(&mut guest, &joined);
    moderate(&mut guest, json!({"kind": "kick", "participant": host_id})).await;
    guest.expect_error("forbidden").await;
    host.send(json!({"type": "ping"})).await;
    host.expect("pong").await;
}

fn host_id(_client: &mut Client, joined: &Value) -> String {
    joined["participants"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_viewer_cannot_publish_in_a_mesh() {
    let server = Server::start(&[]).await;
    let (_host, host_joined) = server.joined("watch", "Host").await;
    let host_id = host_joined["you"].as_str().unwrap();
    let tokens = JoinTokens::new(TOKEN_SECRET.as_bytes());
    let token = tokens.mint(
        &RoomName::parse("watch").unwrap(),
        Role::Viewer,
        None,
        Duration::from_secs(60),
    );
    let mut viewer = server.client().await;
    viewer
        .send(json!({"type": "join", "room": "watch", "name": "V", "version": 1, "token": token}))
        .await;
    assert_eq!(viewer.expect("joined").await["role"], "viewer");

    viewer
        .send(json!({"type": "update", "media": {"audio": true}}))
        .await;
    viewer.expect_error("forbidden").await;
    viewer
        .send(json!({"type": "signal", "to": host_id, "signal": offer("sendrecv")}))
        .await;
    viewer.expect_error("forbidden").await;
    viewer
        .send(json!({"type": "signal", "to": host_id, "signal": offer("recvonly")}))
        .await;
    viewer.send(json!({"type": "ping"})).await;
    assert_eq!(
        viewer.next().await["type"],
        "pong",
        "a receive-only offer is relayed quietly"
    );
}

#[tokio::test]
async fn host_mutes_and_stops_video() {
    let server = Server::start(&[]).await;
    let (mut host, _) = server.joined("mute", "Host").await;
    let mut guest = server.client().await;
    guest
        .send(
            json!({"type": "join", "room": "mute", "name": "G", "version": 1,
                     "media": {"audio": true, "video": true}}),
        )
        .await;
    let guest_id = guest.expect("joined").await["you"]
        .as_str()
        .unwrap()
        .to_owned();
    host.expect("participant_joined").await;

    moderate(&mut host, json!({"kind": "mute", "participant": guest_id})).await;
    let updated = host.expect("participant_updated").await;
    assert_eq!(updated["participant"]["audio"], false);
    assert_eq!(updated["participant"]["video"], true);
    let notice = guest.expect("moderated").await;
    assert_eq!(notice["action"], "mute");

    moderate(
        &mut host,
        json!({"kind": "stop_video", "participant": guest_id}),
    )
    .await;
    let updated = host.expect("participant_updated").await;
    assert_eq!(updated["participant"]["video"], false);
    assert_eq!(guest.expect("moderated").await["action"], "stop_video");
}

#[tokio::test]
async fn a_locked_room_refuses_newcomers_but_not_host_tokens() {
    let server = Server::start(&[]).await;
    let (mut host, _) = server.joined("locked", "Host").await;
    moderate(&mut host, json!({"kind": "lock", "locked": true})).await;
    assert_eq!(
        host.expect("access_changed").await["access"]["locked"],
        true
    );

    let mut late = server.client().await;
    late.join("locked", "Late").await;
    late.expect_error("room_locked").await;

    let tokens = JoinTokens::new(TOKEN_SECRET.as_bytes());
    let token = tokens.mint(
        &RoomName::parse("locked").unwrap(),
        Role::Host,
        None,
        Duration::from_secs(60),
    );
    late.send(
        json!({"type": "join", "room": "locked", "name": "Cohost", "version": 1, "token": token}),
    )
    .await;
    assert_eq!(late.expect("joined").await["role"], "host");

    moderate(&mut host, json!({"kind": "lock", "locked": false})).await;
    let mut later = server.client().await;
    later.join("locked", "Later").await;
    later.expect("joined").await;
}

#[tokio::test]
async fn the_lobby_holds_newcomers_until_a_host_admits_or_denies() {
    let server = Server::start(&[]).await;
    let (mut host, _) = server.joined("lobby", "Host").await;
    moderate(&mut host, json!({"kind": "lobby", "enabled": true})).await;
    assert_eq!(host.expect("access_changed").await["access"]["lobby"], true);

    let mut ada = server.client().await;
    ada.join("lobby", "Ada").await;
    assert_eq!(ada.expect("waiting").await["room"], "lobby");
    let knock = host.expect("knocking").await;
    assert_eq!(knock["participant"]["name"], "Ada");
    let knock_id = knock["participant"]["id"].clone();
    moderate(&mut host, json!({"kind": "admit", "participant": knock_id})).await;
    assert_eq!(host.expect("knock_ended").await["id"], knock_id);
    assert_eq!(ada.expect("joined").await["access"]["lobby"], true);
    host.expect("participant_joined").await;

    let mut bob = server.client().await;
    bob.join("lobby", "Bob").await;
    bob.expect("waiting").await;
    let knock_id = host.expect("knocking").await["participant"]["id"].clone();
    moderate(&mut host, json!({"kind": "deny", "participant": knock_id})).await;
    assert_eq!(bob.expect("removed").await["reason"], "denied");
    assert_eq!(bob.closed().await.0, CloseCode::Policy);
}

#[tokio::test]
async fn hosts_hand_over_kick_and_end_the_meeting() {
    let server = Server::start(&[]).await;
    let (mut host, _) = server.joined("meeting", "Host").await;
    let (mut heir, joined) = server.joined("meeting", "Heir").await;
    let heir_id = joined["you"].as_str().unwrap().to_owned();
    host.expect("participant_joined").await;

    moderate(
        &mut host,
        json!({"kind": "hand_over_host", "participant": heir_id}),
    )
    .await;
    let mut roles = Vec::new();
    for _ in 0..2 {
        let updated = heir.expect("participant_updated").await;
        roles.push((
            updated["participant"]["name"].clone(),
            updated["participant"]["role"].clone(),
        ));
    }
    assert!(roles.contains(&(json!("Heir"), json!("host"))), "{roles:?}");
    assert!(
        roles.contains(&(json!("Host"), json!("participant"))),
        "{roles:?}"
    );

    let (mut guest, joined) = server.joined("meeting", "Guest").await;
    let guest_id = joined["you"].as_str().unwrap().to_owned();
    moderate(&mut heir, json!({"kind": "kick", "participant": guest_id})).await;
    let removed = guest.expect("removed").await;
    assert_eq!(removed["reason"], "kicked");
    assert_eq!(guest.closed().await.0, CloseCode::Policy);
    // Kept out: without a token, by address (every test client is 127.0.0.1).
    let mut again = server.client().await;
    again.join("meeting", "Guest again").await;
    again.expect_error("banned").await;

    moderate(&mut heir, json!({"kind": "end_meeting"})).await;
    assert_eq!(host.expect("removed").await["reason"], "meeting_ended");
    assert_eq!(heir.expect("removed").await["reason"], "meeting_ended");
    assert_eq!(host.closed().await.0, CloseCode::Normal);
}

#[tokio::test]
async fn a_host_sets_and_removes_the_room_password() {
    let server = Server::start(&[]).await;
    let (mut host, joined) = server.joined("guarded", "Host").await;
    let me = joined["you"].clone();
    moderate(&mut host, json!({"kind": "kick", "participant": me})).await;
    host.expect_error("forbidden").await;
    moderate(&mut host, json!({"kind": "set_password", "password": ""})).await;
    host.expect_error("malformed_message").await;
    moderate(
        &mut host,
        json!({"kind": "set_password", "password": "s3cret"}),
    )
    .await;
    assert_eq!(
        host.expect("access_changed").await["access"]["password"],
        true
    );

    let mut guest = server.client().await;
    guest.join("guarded", "Guest").await;
    guest.expect_error("password_required").await;
    guest
        .send(json!({"type": "join", "room": "guarded", "name": "Guest", "version": 1, "password": "s3cret"}))
        .await;
    guest.expect("joined").await;

    moderate(&mut host, json!({"kind": "set_password", "password": null})).await;
    assert_eq!(
        host.expect("access_changed").await["access"]["password"],
        false
    );
    let (_, joined) = server.joined("guarded", "Free").await;
    assert_eq!(joined["access"]["password"], false);
}

/// Each password change costs an argon2 hash (19 MiB while it runs): a host cannot ask for them
/// faster than a visitor may try passwords.
#[tokio::test]
async fn password_changes_are_limited_per_address() {
    let server = Server::start(&["--password-attempts-per-minute", "3"]).await;
    let (mut host, _) = server.joined("churn", "Host").await;
    for attempt in 0..3 {
        let password = format!("secret-{attempt}");
        moderate(
            &mut host,
            json!({"kind": "set_password", "password": password}),
        )
        .await;
        host.expect("access_changed").await;
    }
    moderate(
        &mut host,
        json!({"kind": "set_password", "password": "one too many"}),
    )
    .await;
    let refused = host.expect_error("too_many_attempts").await;
    assert!(
        refused["message"].as_str().unwrap().contains("retry in"),
        "{refused}"
    );
    moderate(&mut host, json!({"kind": "set_password", "password": null})).await;
    host.expect("access_changed").await;
}

/// The audience of a webinar raises hands and reacts; it chats only where a host lets it, and
/// never draws or titles the room.
#[tokio::test]
async fn viewers_raise_hands_and_react_and_chat_when_a_host_lets_them() {
    let server = Server::start(&[]).await;
    let (mut host, _) = server.joined("webinar", "Host").await;
    let tokens = JoinTokens::new(TOKEN_SECRET.as_bytes());
    let room = RoomName::parse("webinar").unwrap();
    let token = tokens.mint(&room, Role::Viewer, None, Duration::from_secs(60));
    let mut viewer = server.client().await;
    viewer
        .send(json!({"type": "join", "room": "webinar", "name": "V", "version": 1, "token": token}))
        .await;
    let joined = viewer.expect("joined").await;
    assert_eq!(joined["access"]["viewers_chat"], false);
    let viewer_id = joined["you"].clone();

    viewer
        .send(json!({"type": "raise_hand", "raised": true}))
        .await;
    assert_eq!(host.expect("hands").await["queue"], json!([viewer_id]));
    viewer.send(json!({"type": "react", "emoji": "👏"})).await;
    assert_eq!(host.expect("reaction").await["from"], viewer_id);

    for refused in [
        json!({"type": "chat_send", "text": "hello"}),
        json!({"type": "set_title", "title": "mine"}),
        json!({"type": "whiteboard_undo"}),
        json!({"type": "schedule_message", "text": "later", "at": 4_000_000_000_000_i64}),
    ] {
        viewer.send(refused.clone()).await;
        viewer.expect_error("forbidden").await;
    }

    moderate(&mut host, json!({"kind": "viewers_chat", "enabled": true})).await;
    assert_eq!(
        viewer.expect("access_changed").await["access"]["viewers_chat"],
        true
    );
    viewer
        .send(json!({"type": "chat_send", "text": "a question"}))
        .await;
    assert_eq!(
        host.expect("chat_message").await["message"]["text"],
        "a question"
    );
}
