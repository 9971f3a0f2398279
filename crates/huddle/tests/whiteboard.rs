//! The whiteboard: strokes reach the others live, late joiners get the whole board, undo takes
//! back one's own last item only, clear empties it, the board has a bound, and what others saw
//! is stored (growing strokes by what they gained).

mod common;

use common::database::on_each_database;
use common::{identity, Server};
use serde_json::{json, Value};

fn pen(id: &str, points: Value) -> Value {
    json!({"id": id, "kind": "pen", "color": "#1e90ff", "width": 4, "points": points})
}

#[tokio::test]
async fn strokes_reach_others_and_late_joiners_get_the_whole_board() {
    on_each_database(|db| async move {
        let server = Server::start_on(&db, &[]).await;
        let mut ada = server.client().await;
        let [joined, ..] = ada.join_as("r", "Ada", &identity("ada")).await;
        let ada_id = joined["you"].clone();
        let mut bob = server.client().await;
        bob.join_as("r", "Bob", &identity("bob")).await;
        ada.expect("participant_joined").await;

        ada.send(json!({"type": "whiteboard_add", "item": pen("a1", json!([[0.1, 0.1]]))}))
            .await;
        let added = bob.expect("whiteboard_added").await;
        assert_eq!(added["by"], ada_id, "{}", db.name());
        assert_eq!(added["item"]["mine"], false);
        assert_eq!(added["item"]["kind"], "pen");
        ada.send(
            json!({"type": "whiteboard_extend", "id": "a1", "points": [[0.2, 0.2], [0.3, 0.3]]}),
        )
        .await;
        let extended = bob.expect("whiteboard_extended").await;
        assert_eq!(extended["points"], json!([[0.2, 0.2], [0.3, 0.3]]));
        bob.send(json!({"type": "whiteboard_extend", "id": "a1", "points": [[0.5, 0.5]]}))
            .await;
        bob.expect_error("not_author").await;
        let rect = json!({"id": "b1", "kind": "rect", "color": "#000000", "width": 2,
                          "points": [[0.1, 0.1], [0.4, 0.6]]});
        bob.send(json!({"type": "whiteboard_add", "item": rect}))
            .await;
        ada.expect("whiteboard_added").await;
        let text = json!({"id": "a2", "kind": "text", "color": "#000000", "width": 12,
                          "points": [[0.5, 0.5]], "text": "hi"});
        ada.send(json!({"type": "whiteboard_add", "item": text}))
            .await;
        bob.expect("whiteboard_added").await;

        let mut cleo = server.client().await;
        let [.., board] = cleo.join_as("r", "Cleo", &identity("cleo")).await;
        let items = board["items"].as_array().unwrap();
        let ids: Vec<_> = items
            .iter()
            .map(|item| item["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a1", "b1", "a2"]);
        assert_eq!(items[0]["points"].as_array().unwrap().len(), 3);
        assert_eq!(items[2]["text"], "hi");
        assert!(items.iter().all(|item| item["mine"] == false));

        // Ada reloads: her items are hers again, and undo takes back only hers, newest first.
        drop(ada);
        let mut ada = server.client().await;
        let [.., board] = ada.join_as("r", "Ada", &identity("ada")).await;
        let mine: Vec<_> = board["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["mine"].clone())
            .collect();
        assert_eq!(mine, [true, false, true]);
        ada.send(json!({"type": "whiteboard_undo"})).await;
        assert_eq!(cleo.expect("whiteboard_removed").await["id"], "a2");
        ada.send(json!({"type": "whiteboard_undo"})).await;
        assert_eq!(cleo.expect("whiteboard_removed").await["id"], "a1");
        ada.send(json!({"type": "whiteboard_undo"})).await;
        ada.send(json!({"type": "ping"})).await;
        assert_eq!(ada.expect("pong").await["type"], "pong");

        bob.send(json!({"type": "whiteboard_clear"})).await;
        let cleared = cleo.expect("whiteboard_cleared").await;
        assert!(cleared["by"].is_string());
        let mut dan = server.client().await;
        let [.., board] = dan.join_as("r", "Dan", &identity("dan")).await;
        assert_eq!(board["items"], json!([]));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_full_board_refuses_more_until_cleared() {
    on_each_database(|db| async move {
        // Six megabytes of strokes at once: past the default message and byte rates.
        let rates = ["--message-burst", "1000", "--whiteboard-rate", "1000"];
        let bytes = ["--message-bytes-rate", "100000000"];
        let server = Server::start_on(&db, &[&rates[..], &bytes[..]].concat()).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        // 100 strokes of 5,000 points fill the 500,000 points the board holds.
        let points = json!(vec![[0.5, 0.5]; 5_000]);
        for n in 0..100 {
            ada.send(
                json!({"type": "whiteboard_add", "item": pen(&format!("s{n}"), points.clone())}),
            )
            .await;
        }
        ada.send(json!({"type": "whiteboard_add", "item": pen("one-more", json!([[0.1, 0.1]]))}))
            .await;
        let error = ada.expect_error("whiteboard_full").await;
        assert!(
            error["message"].as_str().unwrap().contains("500000"),
            "{}",
            db.name()
        );
        ada.send(json!({"type": "whiteboard_extend", "id": "s0", "points": [[0.1, 0.1]]}))
            .await;
        ada.expect_error("whiteboard_full").await;
        ada.send(json!({"type": "whiteboard_clear"})).await;
        ada.expect("whiteboard_cleared").await;
        ada.send(json!({"type": "whiteboard_add", "item": pen("fresh", json!([[0.1, 0.1]]))}))
            .await;
        ada.send(json!({"type": "ping"})).await;
        assert_eq!(
            ada.next().await["type"],
            "pong",
            "the add after clear is accepted quietly"
        );
        server.stop().await;
    })
    .await;
}

/// An item the others saw is stored already (a crash cannot take it back), and a stroke that
/// grows is stored by what it gained: its stored item keeps its first points, and each batch of
/// growth is a small row of its own, not the whole stroke again.
#[tokio::test]
async fn seen_items_are_stored_and_growing_strokes_store_only_their_growth() {
    on_each_database(|db| async move {
        let flags = ["--message-burst", "1000", "--whiteboard-rate", "1000"];
        let server = Server::start_on(&db, &flags).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        let mut bob = server.client().await;
        bob.join_as("r", "Bob", &identity("bob")).await;
        ada.expect("participant_joined").await;

        ada.send(json!({"type": "whiteboard_add", "item": pen("long", json!([[0.0, 0.0]]))}))
            .await;
        bob.expect("whiteboard_added").await;
        let stored = "SELECT COUNT(*) FROM whiteboard_items WHERE item_id = 'long'";
        assert_eq!(db.number(stored).await, 1, "{}", db.name());

        for n in 1..=300 {
            let point = f64::from(n) / 1000.0;
            let extend =
                json!({"type": "whiteboard_extend", "id": "long", "points": [[point, point]]});
            ada.send(extend).await;
        }
        for _ in 1..=300 {
            bob.expect("whiteboard_extended").await;
        }
        drop((ada, bob));
        server.stop().await;

        let first =
            "SELECT CAST(LENGTH(item) AS BIGINT) FROM whiteboard_items WHERE item_id = 'long'";
        assert!(
            db.number(first).await < 200,
            "the item row keeps its first point"
        );
        let gained = "SELECT CAST(SUM(LENGTH(points)) AS BIGINT) FROM whiteboard_points";
        let gained = db.number(gained).await;
        // 300 points of about 14 bytes each, stored once: a rewrite per batch would be far more.
        assert!(gained < 300 * 30, "{gained} bytes for 300 points");

        let server = Server::start_on(&db, &[]).await;
        let mut cleo = server.client().await;
        let [.., board] = cleo.join_as("r", "Cleo", &identity("cleo")).await;
        let points = board["items"][0]["points"].as_array().unwrap();
        assert_eq!(points.len(), 301);
        assert_eq!(points[300], json!([0.3, 0.3]));
        server.stop().await;
    })
    .await;
}
