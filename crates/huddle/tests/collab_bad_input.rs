//! Bad collaboration input gets a typed error and is counted, and changes nothing else; a database
//! failure is `storage_failed`, not a crash.

mod common;

use common::database::on_each_database;
use common::{identity, metric, Server};
use serde_json::json;

#[tokio::test]
async fn bad_collaboration_messages_get_typed_errors() {
    let server = Server::start(&[]).await;
    let mut stranger = server.client().await;
    stranger
        .send(json!({"type": "chat_send", "text": "hi"}))
        .await;
    stranger.expect_error("not_joined").await;
    stranger
        .send(json!({"type": "join", "room": "r", "name": "S", "version": 1, "identity": "short"}))
        .await;
    stranger.expect_error("malformed_message").await;

    let mut ada = server.client().await;
    ada.join_as("r", "Ada", &identity("ada")).await;
    let cases = [
        (
            json!({"type": "chat_send", "text": "x".repeat(4001)}),
            "chat_too_long",
        ),
        (
            json!({"type": "chat_send", "text": " \n "}),
            "empty_message",
        ),
        (json!({"type": "chat_send"}), "malformed_message"),
        (
            json!({"type": "chat_send", "text": "/prompt what?"}),
            "bot_unavailable",
        ),
        (
            json!({"type": "chat_history", "before": 10, "limit": 0}),
            "malformed_message",
        ),
        (
            json!({"type": "schedule_message", "text": "x", "at": "soon"}),
            "malformed_message",
        ),
        (
            json!({"type": "cancel_scheduled", "id": 77}),
            "unknown_scheduled",
        ),
        (
            json!({"type": "whiteboard_add", "item": {"id": "a", "kind": "blob", "color": "#000000",
               "width": 1, "points": [[0, 0]]}}),
            "malformed_message",
        ),
        (
            json!({"type": "whiteboard_add", "item": {"id": "a", "kind": "pen", "color": "#000000",
               "width": 1, "points": [[2, 0]]}}),
            "invalid_whiteboard_item",
        ),
        (
            json!({"type": "whiteboard_extend", "id": "nope", "points": [[0, 0]]}),
            "invalid_whiteboard_item",
        ),
        (json!({"type": "react", "emoji": "🦀"}), "invalid_reaction"),
        (
            json!({"type": "raise_hand", "raised": "yes"}),
            "malformed_message",
        ),
    ];
    for (message, code) in &cases {
        ada.send(message.clone()).await;
        ada.expect_error(code).await;
    }
    // Nothing of it was kept.
    let mut bob = server.client().await;
    let [_, history, pending, board] = bob.join_as("r", "Bob", &identity("bob")).await;
    assert_eq!(history["messages"], json!([]));
    assert_eq!(pending["scheduled"], json!([]));
    assert_eq!(board["items"], json!([]));
    let text = server.metrics().await;
    for (code, count) in [
        ("chat_too_long", 1.0),
        ("invalid_whiteboard_item", 2.0),
        ("not_joined", 1.0),
    ] {
        let name = format!(r#"huddle_signaling_errors_total{{code="{code}"}}"#);
        assert_eq!(metric(&text, &name), Some(count), "{name} in\n{text}");
    }
}

#[tokio::test]
async fn a_database_failure_is_storage_failed_and_the_rest_carries_on() {
    on_each_database(|db| async move {
        let server = Server::start_on(&db, &[]).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        db.execute("DROP TABLE chat_messages").await;
        ada.send(json!({"type": "chat_send", "text": "lost"})).await;
        ada.expect_error("storage_failed").await;
        ada.send(json!({"type": "set_title", "title": "Still works"}))
            .await;
        assert_eq!(
            ada.expect("title_changed").await["title"],
            "Still works",
            "{}",
            db.name()
        );
        ada.send(json!({"type": "react", "emoji": "👍"})).await;
        ada.expect("reaction").await;

        // A newcomer gets joined and the parts that could be read; the history is an error.
        let mut bob = server.client().await;
        bob.send(json!({"type": "join", "room": "r", "name": "Bob", "version": 1}))
            .await;
        assert_eq!(bob.expect("joined").await["title"], "Still works");
        bob.expect_error("storage_failed").await;
        let text = server.metrics().await;
        assert!(
            metric(&text, "huddle_storage_errors_total").unwrap() >= 2.0,
            "{text}"
        );
        server.stop().await;
    })
    .await;
}
