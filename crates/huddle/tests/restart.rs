//! Chat, whiteboard, title, pending scheduled messages and room settings survive a restart on the
//! same database; a message that fell due while the server was down is posted at boot, marked late.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::database::on_each_database;
use common::{identity, Server};
use huddle::clock::ManualClock;
use serde_json::{json, Value};

const NOW: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

#[tokio::test]
async fn everything_survives_a_restart_and_missed_messages_are_posted_late() {
    on_each_database(|db| async move {
        let clock = ManualClock::new(NOW);
        let server = Server::start_on_with_clock(&db, &[], Arc::new(clock.clone())).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        ada.send(json!({"type": "chat_send", "text": "before the restart"}))
            .await;
        ada.expect("chat_message").await;
        ada.send(json!({"type": "set_title", "title": "Kept"}))
            .await;
        ada.expect("title_changed").await;
        let stroke = json!({"id": "s1", "kind": "pen", "color": "#ff0000", "width": 3,
                            "points": [[0.1, 0.1]]});
        ada.send(json!({"type": "whiteboard_add", "item": stroke}))
            .await;
        ada.send(json!({"type": "whiteboard_extend", "id": "s1", "points": [[0.2, 0.2]]}))
            .await;
        for (text, at) in [("missed", NOW + MINUTE), ("pending", NOW + 30 * MINUTE)] {
            ada.send(json!({"type": "schedule_message", "text": text, "at": at}))
                .await;
            ada.expect("scheduled_added").await;
        }
        drop(ada);
        server.stop().await;

        clock.advance(Duration::from_secs(10 * 60));
        let server = Server::start_on_with_clock(&db, &[], Arc::new(clock.clone())).await;
        let mut ada = server.client().await;
        let history = wait_for_history(&mut ada, 2).await;
        assert_eq!(history[0]["text"], "before the restart", "{}", db.name());
        assert_eq!(history[0]["mine"], true);
        assert_eq!(history[1]["text"], "missed");
        assert_eq!(history[1]["kind"], "scheduled");
        assert_eq!(history[1]["late"], true);

        let mut bob = server.client().await;
        let [joined, _, pending, board] = bob.join_as("r", "Bob", &identity("bob")).await;
        assert_eq!(joined["title"], "Kept");
        let pending = pending["scheduled"].as_array().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0]["text"], "pending");
        assert_eq!(board["items"][0]["id"], "s1");
        assert_eq!(board["items"][0]["points"], json!([[0.1, 0.1], [0.2, 0.2]]));

        clock.advance(Duration::from_secs(20 * 60));
        let posted = bob.expect("chat_message").await["message"].clone();
        assert_eq!(posted["text"], "pending");
        assert_eq!(posted["late"], false);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn room_password_and_lobby_survive_a_restart() {
    on_each_database(|db| async move {
        let server = Server::start_on(&db, &[]).await;
        let (mut host, _) = server.joined("kept", "Host").await;
        for action in [
            json!({"kind": "set_password", "password": "s3cret"}),
            json!({"kind": "lobby", "enabled": true}),
        ] {
            host.send(json!({"type": "moderate", "action": action}))
                .await;
            host.expect("access_changed").await;
        }
        drop(host);
        server.stop().await;

        let server = Server::start_on(&db, &[]).await;
        let join = json!({"type": "join", "room": "kept", "name": "Guest", "version": 1,
                          "password": "s3cret"});
        let mut first = server.client().await;
        first.join("kept", "First").await;
        first.expect_error("password_required").await;
        first.send(join.clone()).await;
        let joined = first.expect("joined").await;
        assert_eq!(joined["access"]["password"], true, "{}", db.name());
        assert_eq!(joined["access"]["lobby"], true);
        // With a host in the room, the kept lobby holds the next one.
        let mut second = server.client().await;
        second.send(join).await;
        assert_eq!(second.expect("waiting").await["room"], "kept");
        server.stop().await;
    })
    .await;
}

/// Joins room `r` until its history holds `count` messages: the scheduler posts what it missed
/// right after boot, maybe after this client's first join.
async fn wait_for_history(client: &mut common::Client, count: usize) -> Vec<Value> {
    client.join_as("r", "Ada", &identity("ada")).await;
    for _ in 0..100 {
        client
            .send(json!({"type": "chat_history", "before": i64::MAX}))
            .await;
        let history = client.expect("chat_history").await;
        let messages = history["messages"].as_array().unwrap();
        if messages.len() >= count {
            return messages.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the history never had {count} messages");
}
