//! The room title (kept), the raised-hands queue and reactions (not kept).

mod common;

use common::database::on_each_database;
use common::{identity, Server};
use serde_json::json;

#[tokio::test]
async fn the_title_is_set_renamed_cleared_and_shown_in_joined() {
    on_each_database(|db| async move {
        let server = Server::start_on(&db, &[]).await;
        let mut ada = server.client().await;
        let [joined, ..] = ada.join_as("r", "Ada", &identity("ada")).await;
        assert_eq!(joined["title"], json!(null), "{}", db.name());
        let mut bob = server.client().await;
        bob.join_as("r", "Bob", &identity("bob")).await;

        ada.send(json!({"type": "set_title", "title": "  Weekly sync "}))
            .await;
        let changed = bob.expect("title_changed").await;
        assert_eq!(changed["title"], "Weekly sync");
        assert_eq!(changed["by"], joined["you"]);
        ada.expect("title_changed").await;
        bob.send(json!({"type": "set_title", "title": "Retro"}))
            .await;
        assert_eq!(ada.expect("title_changed").await["title"], "Retro");

        let mut cleo = server.client().await;
        let [joined, ..] = cleo.join_as("r", "Cleo", &identity("cleo")).await;
        assert_eq!(joined["title"], "Retro");

        ada.send(json!({"type": "set_title", "title": "t".repeat(121)}))
            .await;
        ada.expect_error("title_too_long").await;
        ada.send(json!({"type": "set_title", "title": ""})).await;
        assert_eq!(cleo.expect("title_changed").await["title"], json!(null));
        let mut dan = server.client().await;
        let [joined, ..] = dan.join_as("r", "Dan", &identity("dan")).await;
        assert_eq!(joined["title"], json!(null));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn hands_queue_in_order_and_a_leavers_hand_goes_down() {
    let server = Server::start(&[]).await;
    let (mut ada, joined) = server.joined("r", "Ada").await;
    let ada_id = joined["you"].clone();
    let (mut bob, joined) = server.joined("r", "Bob").await;
    let bob_id = joined["you"].clone();
    ada.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    assert_eq!(bob.expect("hands").await["queue"], json!([ada_id]));
    bob.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    assert_eq!(
        ada.expect("hands").await["queue"],
        json!([ada_id]),
        "her own, first"
    );
    assert_eq!(ada.expect("hands").await["queue"], json!([ada_id, bob_id]));
    let (_cleo, joined) = server.joined("r", "Cleo").await;
    assert_eq!(joined["hands"], json!([ada_id, bob_id]));

    ada.send(json!({"type": "leave"})).await;
    bob.expect("participant_left").await;
    assert_eq!(bob.expect("hands").await["queue"], json!([bob_id]));
    bob.send(json!({"type": "raise_hand", "raised": false}))
        .await;
    assert_eq!(bob.expect("hands").await["queue"], json!([]));
}

#[tokio::test]
async fn reactions_reach_everybody_and_only_known_emoji_pass() {
    let server = Server::start(&[]).await;
    let (mut ada, joined) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.send(json!({"type": "react", "emoji": "🎉"})).await;
    let reaction = bob.expect("reaction").await;
    assert_eq!(
        reaction,
        json!({"type": "reaction", "from": joined["you"], "emoji": "🎉"})
    );
    assert_eq!(ada.expect("reaction").await["emoji"], "🎉");
    ada.send(json!({"type": "react", "emoji": "<img src=x>"}))
        .await;
    ada.expect_error("invalid_reaction").await;
}
