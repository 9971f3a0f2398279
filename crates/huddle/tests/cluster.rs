//! Cluster mode's node registry (issue 15, under way): nodes sharing a Redis see each other
//! through heartbeats that expire by themselves; a node that cannot reach Redis says it is not
//! ready, stays alive and keeps its rooms, and is ready again once Redis is back.

mod common;

use std::time::{Duration, Instant};

use common::database::{postgres_database, Database};
use common::{http_get, metric, Server};
use huddle_cluster::testing::RedisServer;

/// A node of the cluster on `redis`, sharing `db` with the others.
async fn node(redis: &RedisServer, db: &Database, id: &str) -> Server {
    let url = redis.url();
    let public = format!("http://{id}.meet.test");
    Server::start_on(
        db,
        &["--cluster", &url, "--node-id", id, "--public-url", &public],
    )
    .await
}

/// Waits until `check` holds for `server`'s (status of `/readyz`, `huddle_cluster_nodes`).
async fn until(server: &Server, what: &str, check: impl Fn(u16, Option<f64>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (ready, _) = http_get(server.address, "/readyz").await;
        let nodes = metric(&server.metrics().await, "huddle_cluster_nodes");
        if check(ready, nodes) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: /readyz {ready}, nodes {nodes:?} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn nodes_see_each_other_and_one_that_stops_is_gone() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let a = node(&redis, &db, "a").await;
    let b = node(&redis, &db, "b").await;
    until(&a, "a sees both", |ready, nodes| {
        ready == 200 && nodes == Some(2.0)
    })
    .await;
    until(&b, "b sees both", |ready, nodes| {
        ready == 200 && nodes == Some(2.0)
    })
    .await;
    // A clean stop leaves the directory at once, well before its heartbeat would expire.
    b.stop().await;
    let left = Instant::now();
    until(&a, "a sees b gone", |_, nodes| nodes == Some(1.0)).await;
    assert!(
        left.elapsed() < Duration::from_secs(2),
        "b was still listed {:?} after it stopped",
        left.elapsed()
    );
    a.stop().await;
}

#[tokio::test]
async fn without_redis_a_node_is_alive_keeps_its_rooms_and_is_not_ready_until_redis_is_back() {
    let mut redis = RedisServer::start();
    let db = postgres_database().await;
    let a = node(&redis, &db, "a").await;
    until(&a, "ready", |ready, _| ready == 200).await;
    let (mut ada, _) = a.joined("r", "ada").await;

    redis.stop();
    until(&a, "not ready without Redis", |ready, _| ready == 503).await;
    assert_eq!(
        http_get(a.address, "/healthz").await.0,
        200,
        "alive all the same"
    );
    let (mut bo, _) = a.joined("r", "bo").await;
    ada.expect("participant_joined").await;
    let failed = metric(&a.metrics().await, "huddle_cluster_heartbeats_failed_total");
    assert!(
        failed.is_some_and(|n| n >= 1.0),
        "failed heartbeats are counted: {failed:?}"
    );

    let _back = RedisServer::on(redis.port());
    until(&a, "ready again", |ready, nodes| {
        ready == 200 && nodes == Some(1.0)
    })
    .await;
    bo.send(serde_json::json!({ "type": "chat_send", "text": "still here" }))
        .await;
    ada.expect("chat_message").await;
    a.stop().await;
}

#[tokio::test]
async fn a_node_without_cluster_mode_is_always_ready() {
    let server = Server::start(&[]).await;
    assert_eq!(
        http_get(server.address, "/readyz").await,
        (200, "ready\n".to_owned())
    );
    assert_eq!(
        metric(&server.metrics().await, "huddle_cluster_nodes"),
        None
    );
    server.stop().await;
}
