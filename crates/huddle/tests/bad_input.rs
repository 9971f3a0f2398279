//! Bad input gets a typed error and is counted; the connection and the room carry on.

mod common;

use common::{http_get, metric, Server};
use serde_json::json;

#[tokio::test]
async fn malformed_oversized_and_unknown_messages_get_errors() {
    let server = Server::start(&[]).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.expect("participant_joined").await;

    ada.send_text("{not json".into()).await;
    ada.expect_error("malformed_message").await;
    ada.send(json!({"type": "teleport"})).await;
    let error = ada.expect_error("unknown_type").await;
    assert!(error["message"].as_str().unwrap().contains("teleport"));
    ada.send(json!({"type": "signal", "to": 7})).await;
    ada.expect_error("malformed_message").await;
    ada.send_text(format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(70_000)
    ))
    .await;
    ada.expect_error("message_too_large").await;
    ada.send(json!({"type": "join", "room": "r", "name": "Ada", "version": 1}))
        .await;
    ada.expect_error("already_joined").await;

    // Still in the room: an update reaches Bob.
    ada.send(json!({"type": "update", "media": {"audio": true}}))
        .await;
    assert_eq!(
        bob.expect("participant_updated").await["participant"]["audio"],
        true
    );

    let text = server.metrics().await;
    for (code, count) in [
        ("malformed_message", 2.0),
        ("unknown_type", 1.0),
        ("message_too_large", 1.0),
        ("already_joined", 1.0),
    ] {
        let name = format!(r#"huddle_signaling_errors_total{{code="{code}"}}"#);
        assert_eq!(metric(&text, &name), Some(count), "{name} in\n{text}");
    }
    assert_eq!(
        metric(&text, r#"huddle_signaling_messages_total{type="update"}"#),
        Some(1.0)
    );
}

#[tokio::test]
async fn bad_joins_are_refused_with_reasons() {
    let server = Server::start(&[]).await;
    let mut client = server.client().await;
    client
        .send(json!({"type": "join", "room": "r", "name": "Ada", "version": 2}))
        .await;
    client.expect_error("unsupported_version").await;
    client.join("no spaces/please", "Ada").await;
    client.expect_error("invalid_room").await;
    client.join("r", " \u{1b} ").await;
    client.expect_error("invalid_name").await;
    client.join("r", "Ada").await;
    client.expect("joined").await;
}

#[tokio::test]
async fn a_flood_is_refused_then_disconnected() {
    let server = Server::start(&["--message-rate", "5", "--message-burst", "10"]).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut flooder, _) = server.joined("r", "Flood").await;
    ada.expect("participant_joined").await;
    for _ in 0..100 {
        flooder.send(json!({"type": "ping"})).await;
    }
    flooder.expect_error("rate_limited").await;
    let (code, reason) = flooder.closed().await;
    assert_eq!(u16::from(code), 1008);
    assert_eq!(reason, "rate limit exceeded");
    assert_eq!(
        ada.expect("participant_left").await["reason"],
        "disconnected"
    );
    // Others are unaffected.
    ada.send(json!({"type": "ping"})).await;
    assert_eq!(ada.next().await["type"], "pong");
    let text = server.metrics().await;
    assert!(
        metric(
            &text,
            r#"huddle_signaling_errors_total{code="rate_limited"}"#
        )
        .unwrap()
            > 1.0
    );
}

/// A browser holding the current version of a client file (its ETag) gets a bodyless 304; an
/// older version, the file.
#[tokio::test]
async fn client_files_revalidate_by_etag() {
    let server = Server::start(&[]).await;
    let client = reqwest::Client::new();
    for path in ["/assets/js/room.js", "/r/brave-otter-42"] {
        let url = format!("http://{}{path}", server.address);
        let first = client.get(&url).send().await.unwrap();
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let again = client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let stale = client
            .get(&url)
            .header("if-none-match", "\"0123\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200, "{path}");
        assert!(!stale.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn pages_and_health() {
    let server = Server::start(&[]).await;
    let (status, body) = http_get(server.address, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(http_get(server.address, "/").await.0, 200);
    let (status, body) = http_get(server.address, "/r/brave-otter-42").await;
    assert_eq!(status, 200);
    assert!(body.contains("/assets/js/room.js"), "{body}");
    let (status, body) = http_get(server.address, "/r/bad%20name").await;
    assert_eq!(status, 400);
    assert!(body.contains("Not a room name"));
    let long = format!("/r/{}", "a".repeat(65));
    assert_eq!(http_get(server.address, &long).await.0, 400);
    assert_eq!(
        http_get(server.address, "/assets/js/protocol.js").await.0,
        200
    );
    assert_eq!(http_get(server.address, "/nothing-here").await.0, 404);
    let (status, body) = http_get(server.address, "/turn-test").await;
    assert_eq!(status, 200);
    assert!(body.contains("/assets/js/turn-test.js"));
    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, "huddle_rooms"), Some(0.0));
}
