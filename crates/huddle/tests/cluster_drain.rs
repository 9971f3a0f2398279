//! Draining a cluster node (docs/cluster.md, `huddle drain`): its rooms move to other nodes and
//! their members follow with their ids, roles and raised hands; members who do not move are cut
//! off at the drain's deadline; a node with nowhere to move its rooms stops at once.

mod common;

use std::time::Duration;

use common::cluster::{cluster, join_at, join_through};
use common::database::postgres_database;
use common::{metric, Client, Server};
use huddle_cluster::testing::RedisServer;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Joins on `node` with the pass a `migrate` gave, as the browser does; the client and `joined`.
async fn move_with(node: &Server, migrate: &Value, room: &str, name: &str) -> (Client, Value) {
    let mut client = node.client().await;
    let join = json!({"type": "join", "room": room, "name": name, "version": 1,
        "home": migrate["node"], "pass": migrate["pass"]});
    client.send(join).await;
    let joined = client.expect("joined").await;
    client.welcome().await;
    (client, joined)
}

#[tokio::test]
async fn a_draining_node_moves_its_rooms_and_their_members_keep_their_ids_roles_and_hands() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [mut a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ada_joined, _) = join_at(&a, "a", "r", "ada").await;
    let (mut bob, bob_joined, _) = join_at(&a, "a", "r", "bob").await;
    let (ada_id, bob_id) = (&ada_joined["you"], &bob_joined["you"]);
    ada.send(json!({"type": "set_title", "title": "weekly"}))
        .await;
    ada.expect("title_changed").await;
    // The room asks for a password now and is locked: the entrance let them in once, a pass
    // lets them in again.
    let password =
        json!({"type": "moderate", "action": {"kind": "set_password", "password": "s3cret"}});
    ada.send(password).await;
    ada.expect("access_changed").await;
    let lock = json!({"type": "moderate", "action": {"kind": "lock", "locked": true}});
    ada.send(lock).await;
    ada.expect("access_changed").await;
    bob.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    bob.expect("hands").await;

    let drained = a.drain(Duration::from_secs(30));
    let (ada_move, bob_move) = (ada.expect("migrate").await, bob.expect("migrate").await);
    assert_eq!(ada_move["url"], format!("http://{}", b.address));
    assert_eq!(ada_move["node"], "b");
    assert_ne!(ada_move["pass"], bob_move["pass"], "a pass each");
    assert_eq!(redis.cli(&["GET", "huddle:room:r:home"]), "", "handed over");

    let (mut ada_b, joined) = move_with(&b, &ada_move, "r", "ada").await;
    assert_eq!(&joined["you"], ada_id, "the same id on the new home");
    assert_eq!(joined["role"], "host", "a host stays host");
    assert_eq!(joined["title"], "weekly");
    assert_eq!(joined["access"]["locked"], true, "the lock comes along");
    let (_bob_b, joined) = move_with(&b, &bob_move, "r", "bob").await;
    assert_eq!(&joined["you"], bob_id);
    assert_eq!(
        joined["role"], "participant",
        "the first in on b took no role"
    );
    assert_eq!(
        joined["hands"],
        json!([bob_id]),
        "a raised hand comes along"
    );
    assert_eq!(joined["participants"][0]["id"], *ada_id);
    assert_eq!(
        ada_b.expect("participant_joined").await["participant"]["id"],
        *bob_id
    );

    // The old sessions go once the new ones carry the call; then the node has drained.
    ada.send(json!({"type": "leave"})).await;
    bob.send(json!({"type": "leave"})).await;
    let left = tokio::time::timeout(Duration::from_secs(5), drained).await;
    assert_eq!(left.expect("drained in time").unwrap(), 0);
    let planned = metric(
        &a.metrics().await,
        "huddle_cluster_migrations_planned_total",
    );
    assert_eq!(planned, Some(2.0));

    // A pass is good once: used again, the join is an ordinary one, and the room is locked.
    let mut again = b.client().await;
    let join = json!({"type": "join", "room": "r", "name": "ada", "version": 1,
        "home": "b", "pass": ada_move["pass"]});
    again.send(join).await;
    again.expect_error("room_locked").await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn members_who_do_not_move_are_cut_off_at_the_drains_deadline() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [mut a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ..) = join_at(&a, "a", "r", "ada").await;
    let drained = a.drain(Duration::from_millis(500));
    ada.expect("migrate").await;
    assert_eq!(drained.await.unwrap(), 1, "ada stayed");
    let forced = metric(&a.metrics().await, "huddle_cluster_migrations_forced_total");
    assert_eq!(forced, Some(1.0));
    a.stop().await;
    assert_eq!(ada.closed().await.0, CloseCode::Away);
    // Back through any node, ada lands on the room's new home.
    let (_ada, _, home) = join_through(b.address, "r", "ada").await;
    assert_eq!(home, b.address);
    b.stop().await;
}

#[tokio::test]
async fn a_node_with_nowhere_to_move_its_rooms_stops_without_waiting_out_the_drain() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [mut a] = cluster(&redis, &db, ["a"], &[]).await;
    let (_ada, ..) = join_at(&a, "a", "r", "ada").await;
    let drained = tokio::time::timeout(Duration::from_secs(2), a.drain(Duration::from_secs(600)));
    assert_eq!(
        drained.await.expect("at once").unwrap(),
        1,
        "ada is cut off"
    );
    a.stop().await;
}
