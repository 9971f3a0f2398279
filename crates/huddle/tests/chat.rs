//! Chat: messages reach everybody, are kept, and late joiners page through the history, as
//! much of it per second as its bytes allow.

mod common;

use common::database::on_each_database;
use common::{identity, Server};
use serde_json::json;

#[tokio::test]
async fn chat_reaches_everyone_and_late_joiners_get_the_history() {
    on_each_database(|db| async move {
        let server = Server::start_on(&db, &[]).await;
        let mut ada = server.client().await;
        let [joined, history, ..] = ada.join_as("r", "Ada", &identity("ada")).await;
        assert_eq!(history["messages"], json!([]), "{}", db.name());
        assert_eq!(history["has_more"], false);
        let ada_id = joined["you"].clone();
        let mut bob = server.client().await;
        bob.join_as("r", "Bob", &identity("bob")).await;
        ada.expect("participant_joined").await;

        ada.send(json!({"type": "chat_send", "text": "  hello <b>all</b>  "}))
            .await;
        let mine = ada.expect("chat_message").await["message"].clone();
        assert_eq!(mine["text"], "hello <b>all</b>");
        assert_eq!(mine["kind"], "user");
        assert_eq!(mine["author_name"], "Ada");
        assert_eq!(mine["author"], ada_id);
        assert_eq!(mine["mine"], true);
        assert_eq!(mine["late"], false);
        let theirs = bob.expect("chat_message").await["message"].clone();
        assert_eq!(theirs["id"], mine["id"]);
        assert_eq!(theirs["mine"], false);
        assert_eq!(theirs["author"], ada_id);
        assert!(theirs["sent_at"].as_i64().unwrap() > 1_700_000_000_000);

        let mut cleo = server.client().await;
        let [_, history, ..] = cleo.join_as("r", "Cleo", &identity("cleo")).await;
        let messages = history["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["text"], "hello <b>all</b>");
        assert_eq!(messages[0]["author"], ada_id);
        assert_eq!(messages[0]["mine"], false);

        // Ada reloads: the same identity makes the message hers again.
        drop(ada);
        let mut ada = server.client().await;
        let [_, history, ..] = ada.join_as("r", "Ada", &identity("ada")).await;
        assert_eq!(history["messages"][0]["mine"], true);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn history_pages_go_back_with_before() {
    on_each_database(|db| async move {
        // Sixty messages at once: faster than people type, so past the default chat rate.
        let server = Server::start_on(&db, &["--chat-rate", "1000"]).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        for n in 1..=60 {
            ada.send(json!({"type": "chat_send", "text": format!("message {n}")}))
                .await;
            ada.expect("chat_message").await;
        }
        let mut bob = server.client().await;
        let [_, history, ..] = bob.join_as("r", "Bob", &identity("bob")).await;
        let last = history["messages"].as_array().unwrap();
        assert_eq!(last.len(), 50, "{}", db.name());
        assert_eq!(last[0]["text"], "message 11");
        assert_eq!(last[49]["text"], "message 60");
        assert_eq!(history["has_more"], true);

        bob.send(json!({"type": "chat_history", "before": last[0]["id"], "limit": 4}))
            .await;
        let page = bob.expect("chat_history").await;
        let texts: Vec<_> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(texts, ["message 7", "message 8", "message 9", "message 10"]);
        assert_eq!(page["has_more"], true);
        bob.send(json!({"type": "chat_history", "before": page["messages"][0]["id"]}))
            .await;
        let first = bob.expect("chat_history").await;
        assert_eq!(first["messages"].as_array().unwrap().len(), 6);
        assert_eq!(first["has_more"], false);

        // Another room's chat is apart.
        let mut cleo = server.client().await;
        let [_, history, ..] = cleo.join_as("other", "Cleo", &identity("cleo")).await;
        assert_eq!(history["messages"], json!([]));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn collaboration_works_the_same_in_an_sfu_room() {
    let server = Server::start(&["--media-mode", "sfu"]).await;
    let mut ada = server.client().await;
    let [joined, ..] = ada.join_as("r", "Ada", &identity("ada")).await;
    assert_eq!(joined["settings"]["media_mode"], "sfu");
    let mut bob = server.client().await;
    bob.join_as("r", "Bob", &identity("bob")).await;
    ada.send(json!({"type": "chat_send", "text": "hello sfu"}))
        .await;
    assert_eq!(
        bob.expect("chat_message").await["message"]["text"],
        "hello sfu"
    );
    let stroke = json!({"id": "s1", "kind": "pen", "color": "#000000", "width": 2,
                        "points": [[0.5, 0.5]]});
    ada.send(json!({"type": "whiteboard_add", "item": stroke}))
        .await;
    assert_eq!(bob.expect("whiteboard_added").await["item"]["id"], "s1");
    server.stop().await;
}

/// A `chat_history` request is a few bytes and its answer up to a page of long messages: what a
/// connection reads is limited by bytes, so small requests cannot pull megabytes again and again.
#[tokio::test]
async fn history_is_limited_by_the_bytes_it_answers_with() {
    let server = Server::start(&["--chat-rate", "1000"]).await;
    let mut ada = server.client().await;
    ada.join_as("long", "Ada", &identity("ada")).await;
    let long = "x".repeat(4000);
    let mut newest = 0;
    for _ in 0..100 {
        ada.send(json!({"type": "chat_send", "text": long})).await;
        newest = ada.expect("chat_message").await["message"]["id"]
            .as_i64()
            .unwrap();
    }
    let page = json!({"type": "chat_history", "before": newest + 1, "limit": 100});
    let mut pages = 0;
    let refusal = loop {
        ada.send(page.clone()).await;
        let answer = ada.next().await;
        if answer["type"] != "chat_history" {
            break answer;
        }
        pages += 1;
        assert!(pages < 10, "ten pages of 400 KB and no limit");
    };
    assert_eq!(refusal["code"], "rate_limited", "{refusal}");
    // 2 MiB at once: five pages of about 400 KB, and the one that overdraws.
    assert!((5..=6).contains(&pages), "{pages} pages");
}
