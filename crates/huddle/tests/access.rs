//! Who gets in: join tokens (expired, tampered, for another room, required), room passwords and
//! their attempt limit, joins and connections per address, the Origin check.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{metric, Server, TOKEN_SECRET};
use huddle::access::{JoinClaims, JoinTokens};
use huddle::protocol::Role;
use huddle::rooms::RoomName;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn tokens() -> JoinTokens {
    JoinTokens::new(TOKEN_SECRET.as_bytes())
}

fn token(room: &str, role: Role) -> String {
    let room = RoomName::parse(room).unwrap();
    tokens().mint(&room, role, None, Duration::from_secs(60))
}

fn join_with(room: &str, extra: Value) -> Value {
    let mut join = json!({"type": "join", "room": room, "name": "Ada", "version": 1});
    join.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    join
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_reason() {
    let server = Server::start(&["--require-token"]).await;
    let mut client = server.client().await;

    client.send(join_with("r1", json!({}))).await;
    client.expect_error("token_required").await;

    let expired = tokens().sign(&JoinClaims {
        room: "r1".into(),
        name: None,
        role: Role::Participant,
        exp: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 600,
        jti: "expired".into(),
    });
    client
        .send(join_with("r1", json!({"token": expired})))
        .await;
    client.expect_error("token_expired").await;

    let mut tampered = token("r1", Role::Participant);
    let signature_start = tampered.rfind('.').unwrap() + 1;
    let flipped = if tampered.as_bytes()[signature_start] == b'A' {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(signature_start..=signature_start, flipped);
    client
        .send(join_with("r1", json!({"token": tampered})))
        .await;
    client.expect_error("token_invalid").await;

    let foreign = JoinTokens::new(b"another secret").mint(
        &RoomName::parse("r1").unwrap(),
        Role::Host,
        None,
        Duration::from_secs(60),
    );
    client
        .send(join_with("r1", json!({"token": foreign})))
        .await;
    client.expect_error("token_invalid").await;

    client
        .send(join_with("r1", json!({"token": token("r2", Role::Host)})))
        .await;
    client.expect_error("token_wrong_room").await;

    client
        .send(join_with("r1", json!({"token": token("r1", Role::Viewer)})))
        .await;
    let joined = client.expect("joined").await;
    assert_eq!(joined["role"], "viewer");
}

#[tokio::test]
async fn a_token_names_its_holder_and_the_first_token_holder_is_not_made_host() {
    let server = Server::start(&["--require-token"]).await;
    let room = RoomName::parse("named").unwrap();
    let named = tokens().mint(
        &room,
        Role::Participant,
        Some("Grace".into()),
        Duration::from_secs(60),
    );
    let mut client = server.client().await;
    client
        .send(join_with("named", json!({"token": named})))
        .await;
    let joined = client.expect("joined").await;
    assert_eq!(joined["role"], "participant");
    let mut other = server.client().await;
    other
        .send(join_with(
            "named",
            json!({"token": token("named", Role::Participant)}),
        ))
        .await;
    let joined = other.expect("joined").await;
    assert_eq!(joined["participants"][0]["name"], "Grace");
}

#[tokio::test]
async fn room_password_is_asked_checked_and_attempts_are_limited() {
    let server = Server::start(&[
        "--room-password",
        "vault=open sesame",
        "--password-attempts-per-minute",
        "2",
    ])
    .await;
    let mut client = server.client().await;
    client.send(join_with("vault", json!({}))).await;
    client.expect_error("password_required").await;
    client
        .send(join_with("vault", json!({"password": "guess"})))
        .await;
    client.expect_error("wrong_password").await;
    client
        .send(join_with("vault", json!({"password": "open sesame"})))
        .await;
    let joined = client.expect("joined").await;
    assert_eq!(joined["access"]["password"], true);

    let mut guesser = server.client().await;
    guesser
        .send(join_with("vault", json!({"password": "guess 2"})))
        .await;
    let error = guesser.expect_error("too_many_attempts").await;
    assert!(
        error["message"].as_str().unwrap().contains("retry in"),
        "{error}"
    );
    // Tokens spare the password.
    let mut invited = server.client().await;
    invited
        .send(join_with(
            "vault",
            json!({"token": token("vault", Role::Participant)}),
        ))
        .await;
    invited.expect("joined").await;
    let metrics = server.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            r#"huddle_abuse_refusals_total{limit="password_attempts"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn joins_per_address_are_limited_and_recover() {
    let server = Server::start(&["--joins-per-minute", "120"]).await;
    let mut client = server.client().await;
    for _ in 0..120 {
        client.send(join_with("r", json!({"name": " "}))).await;
        client.expect_error("invalid_name").await;
    }
    client.send(join_with("r", json!({}))).await;
    client.expect_error("too_many_attempts").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    client.send(join_with("r", json!({}))).await;
    client.expect("joined").await;
    let metrics = server.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            r#"huddle_abuse_refusals_total{limit="joins_per_ip"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn connections_per_address_are_limited_and_recover() {
    let server = Server::start(&["--max-connections-per-ip", "2"]).await;
    let first = server.client().await;
    let _second = server.client().await;
    let url = format!("ws://{}/ws", server.address);
    let refused = tokio_tungstenite::connect_async(&url).await.unwrap_err();
    assert!(refused.to_string().contains("429"), "{refused}");
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio_tungstenite::connect_async(&url).await.unwrap();
}

#[tokio::test]
async fn cross_origin_websockets_are_refused() {
    let server = Server::start(&[]).await;
    let url = format!("ws://{}/ws", server.address);
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");

    let mut request = url.as_str().into_client_request().unwrap();
    let same = format!("http://{}", server.address);
    request
        .headers_mut()
        .insert("origin", same.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap();
    let metrics = server.metrics().await;
    assert_eq!(
        metric(&metrics, r#"huddle_abuse_refusals_total{limit="origin"}"#),
        Some(1.0)
    );
}

#[tokio::test]
async fn pages_carry_security_headers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start(&[]).await;
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let request = format!(
        "GET /r/room HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.address
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let head = response.split("\r\n\r\n").next().unwrap().to_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'self'; script-src 'self';"),
        "{head}"
    );
    assert!(head.contains("frame-ancestors 'none'"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
}

/// `POST /api/rooms/minted/tokens` with `key` as its bearer and `body`.
async fn mint_request(server: &Server, key: &str, body: &str) -> (u16, String) {
    let headers = [
        format!("Authorization: Bearer {key}"),
        "Content-Type: application/json".to_owned(),
    ];
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let path = "/api/rooms/minted/tokens";
    common::http_request(server.address, "POST", path, &headers, body).await
}

#[tokio::test]
async fn the_token_api_needs_its_key_and_mints_working_tokens() {
    let server = Server::start(&["--api-key", "k3y", "--require-token"]).await;
    let body = r#"{"role": "host", "ttl_seconds": 600, "name": "Ada"}"#;
    assert_eq!(mint_request(&server, "wrong", body).await.0, 401);
    // The key is checked before the body is read: a caller without it learns nothing.
    assert_eq!(mint_request(&server, "wrong", "not json").await.0, 401);
    assert_eq!(mint_request(&server, "k3y", "not json").await.0, 400);
    let (status, response) = mint_request(&server, "k3y", body).await;
    assert_eq!(status, 200, "{response}");
    let minted: Value = serde_json::from_str(&response).unwrap();
    assert!(minted["path"]
        .as_str()
        .unwrap()
        .starts_with("/r/minted?token="));
    let mut client = server.client().await;
    client
        .send(join_with("minted", json!({"token": minted["token"]})))
        .await;
    let joined = client.expect("joined").await;
    assert_eq!(joined["role"], "host");
}

#[tokio::test]
async fn without_a_key_the_token_api_does_not_exist() {
    let server = Server::start(&[]).await;
    assert_eq!(mint_request(&server, "any", "not json").await.0, 404);
}

/// `huddle token` with the server's flags after the subcommand, as people type them.
fn huddle_token(data_dir: &common::database::TempDir) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_huddle"));
    command
        .args(["token", "--room", "cli", "--role", "viewer", "--ttl", "2h"])
        .args(["--url", "https://meet.example.org/"])
        .args(["--data-dir", data_dir.path().to_str().unwrap()])
        .args(["--token-secret", TOKEN_SECRET]);
    command
}

#[test]
fn huddle_token_prints_a_token_and_its_link() {
    let data_dir = common::database::TempDir::new("cli");
    let output = huddle_token(&data_dir).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let token = lines.next().unwrap();
    assert_eq!(
        lines.next().unwrap(),
        format!("https://meet.example.org/r/cli?token={token}")
    );
    let claims = tokens()
        .verify(token, &RoomName::parse("cli").unwrap())
        .unwrap();
    assert_eq!(claims.role, Role::Viewer);
}

/// `huddle token ... | head -1`: a reader that went away is no reason to panic.
#[test]
fn huddle_token_exits_quietly_when_its_reader_is_gone() {
    let data_dir = common::database::TempDir::new("cli-pipe");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = huddle_token(&data_dir).stdout(writer).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
