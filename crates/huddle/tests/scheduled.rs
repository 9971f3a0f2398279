//! Scheduled messages, on a clock the test moves: posted at their time even when the author has
//! left or nobody is there, cancelled by their author only, refused for times out of range and
//! beyond the pending limits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::database::on_each_database;
use common::{identity, Server};
use huddle::clock::ManualClock;
use serde_json::json;

const NOW: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

#[tokio::test]
async fn a_scheduled_message_is_posted_at_its_time_after_its_author_left() {
    on_each_database(|db| async move {
        let clock = ManualClock::new(NOW);
        let server = Server::start_on_with_clock(&db, &[], Arc::new(clock.clone())).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        let mut bob = server.client().await;
        bob.join_as("r", "Bob", &identity("bob")).await;

        ada.send(json!({"type": "schedule_message", "text": "standup!", "at": NOW + MINUTE}))
            .await;
        let added = ada.expect("scheduled_added").await["scheduled"].clone();
        assert_eq!(added["mine"], true, "{}", db.name());
        assert_eq!(added["at"], NOW + MINUTE);
        let seen = bob.expect("scheduled_added").await["scheduled"].clone();
        assert_eq!(seen["mine"], false);
        assert_eq!(seen["author_name"], "Ada");
        let id = added["id"].clone();

        bob.send(json!({"type": "cancel_scheduled", "id": id}))
            .await;
        bob.expect_error("not_author").await;

        let mut cleo = server.client().await;
        let [_, _, pending, _] = cleo.join_as("r", "Cleo", &identity("cleo")).await;
        assert_eq!(pending["scheduled"][0]["text"], "standup!");

        ada.send(json!({"type": "leave"})).await;
        ada.closed().await;
        clock.advance(Duration::from_secs(59));
        while let Some(early) = bob.try_next(Duration::from_millis(300)).await {
            assert_ne!(early["type"], "chat_message", "posted before its time");
        }
        clock.advance(Duration::from_secs(1));
        let posted = bob.expect("chat_message").await["message"].clone();
        assert_eq!(posted["kind"], "scheduled");
        assert_eq!(posted["text"], "standup!");
        assert_eq!(posted["author_name"], "Ada");
        assert_eq!(posted["author"], json!(null));
        assert_eq!(posted["late"], false);
        assert_eq!(posted["sent_at"], NOW + MINUTE);
        let removed = bob.expect("scheduled_removed").await;
        assert_eq!(
            removed,
            json!({"type": "scheduled_removed", "id": id, "reason": "posted"})
        );

        // Ada comes back: the posted message is hers, and nothing is pending.
        let mut ada = server.client().await;
        let [_, history, pending, _] = ada.join_as("r", "Ada", &identity("ada")).await;
        assert_eq!(history["messages"][0]["mine"], true);
        assert_eq!(pending["scheduled"], json!([]));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn its_author_cancels_and_bad_times_are_refused() {
    on_each_database(|db| async move {
        let clock = ManualClock::new(NOW);
        let server = Server::start_on_with_clock(&db, &[], Arc::new(clock.clone())).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;

        ada.send(json!({"type": "schedule_message", "text": "later", "at": NOW + MINUTE}))
            .await;
        let id = ada.expect("scheduled_added").await["scheduled"]["id"].clone();
        ada.send(json!({"type": "cancel_scheduled", "id": id}))
            .await;
        let removed = ada.expect("scheduled_removed").await;
        assert_eq!(removed["reason"], "cancelled", "{}", db.name());
        ada.send(json!({"type": "cancel_scheduled", "id": id}))
            .await;
        ada.expect_error("unknown_scheduled").await;
        clock.advance(Duration::from_secs(120));
        ada.send(json!({"type": "ping"})).await;
        assert_eq!(
            ada.next().await["type"],
            "pong",
            "a cancelled message is never posted"
        );

        let now = NOW + 2 * MINUTE;
        for at in [now, now - 1, now + 31 * 24 * 60 * MINUTE] {
            ada.send(json!({"type": "schedule_message", "text": "x", "at": at}))
                .await;
            ada.expect_error("invalid_schedule_time").await;
        }
        ada.send(json!({"type": "schedule_message", "text": " ", "at": now + MINUTE}))
            .await;
        ada.expect_error("empty_message").await;
        ada.send(json!({"type": "cancel_scheduled", "id": 424242}))
            .await;
        ada.expect_error("unknown_scheduled").await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_room_with_nobody_in_it_still_gets_its_message() {
    on_each_database(|db| async move {
        let clock = ManualClock::new(NOW);
        let server = Server::start_on_with_clock(&db, &[], Arc::new(clock.clone())).await;
        let mut ada = server.client().await;
        ada.join_as("quiet", "Ada", &identity("ada")).await;
        ada.send(json!({"type": "schedule_message", "text": "reminder", "at": NOW + MINUTE}))
            .await;
        ada.expect("scheduled_added").await;
        ada.send(json!({"type": "leave"})).await;
        ada.closed().await;
        clock.advance(Duration::from_secs(60));

        let mut bob = server.client().await;
        let messages = loop {
            let [_, history, ..] = bob.join_as("quiet", "Bob", &identity("bob")).await;
            if history["messages"].as_array().unwrap().len() == 1 {
                break history["messages"].clone();
            }
            bob.send(json!({"type": "leave"})).await;
            bob.closed().await;
            bob = server.client().await;
        };
        assert_eq!(messages[0]["text"], "reminder", "{}", db.name());
        assert_eq!(messages[0]["kind"], "scheduled");
        server.stop().await;
    })
    .await;
}

/// Every newcomer gets the room's whole pending list: a room may hold 50, an author 10.
#[tokio::test]
async fn pending_messages_are_bounded_per_author_and_per_room() {
    on_each_database(|db| async move {
        let clock = ManualClock::new(NOW);
        let flags = ["--chat-rate", "1000"];
        let server = Server::start_on_with_clock(&db, &flags, Arc::new(clock.clone())).await;
        let schedule =
            |text: String| json!({"type": "schedule_message", "text": text, "at": NOW + MINUTE});
        let mut authors = Vec::new(); // they stay in the room
        for author in 0..5 {
            let mut client = server.client().await;
            let name = format!("Author {author}");
            client.join_as("busy", &name, &identity(&name)).await;
            for n in 0..10 {
                client.send(schedule(format!("{author}/{n}"))).await;
                client.expect("scheduled_added").await;
            }
            // The author's eleventh is refused while the room still has room.
            client.send(schedule("one more".into())).await;
            client.expect_error("too_many_scheduled").await;
            authors.push(client);
        }

        let mut late = server.client().await;
        let [_, _, pending, _] = late.join_as("busy", "Late", &identity("late")).await;
        assert_eq!(
            pending["scheduled"].as_array().unwrap().len(),
            50,
            "{}",
            db.name()
        );
        late.send(schedule("mine".into())).await;
        late.expect_error("too_many_scheduled").await;
        server.stop().await;
    })
    .await;
}
