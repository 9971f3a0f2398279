//! What `joined` says about ICE servers, that the built-in STUN server behind it answers, and who
//! else gets credentials (the connectivity test).

mod common;

use common::Server;
use tokio::net::UdpSocket;

#[tokio::test]
async fn joined_hands_out_the_builtin_stun_and_turn_with_personal_credentials() {
    let server = Server::start(&["--turn-secret", "s3cret"]).await;
    let turn = server.turn.expect("TURN runs by default");
    let (_client, joined) = server.joined("r", "Ada").await;
    let servers = joined["ice_servers"].as_array().unwrap();
    assert_eq!(
        servers[0]["urls"][0],
        format!("stun:127.0.0.1:{}", turn.port())
    );
    let relay = &servers[1];
    assert_eq!(
        relay["urls"][0],
        format!("turn:127.0.0.1:{}?transport=udp", turn.port())
    );
    assert_eq!(
        relay["urls"][1],
        format!("turn:127.0.0.1:{}?transport=tcp", turn.port())
    );
    let username = relay["username"].as_str().unwrap();
    assert!(username.ends_with(&format!(":{}", joined["you"].as_str().unwrap())));
    assert_eq!(
        relay["credential"].as_str().unwrap(),
        huddle_turn::rest_password(b"s3cret", username)
    );
}

/// Browsers reach the SFU through TURN too (a page with `?ice=relay` only has relayed candidates),
/// so an sfu room's `joined` carries the same relay as a mesh room's.
#[tokio::test]
async fn an_sfu_room_hands_out_the_builtin_turn_over_udp_and_tcp() {
    let server = Server::start(&["--media-mode", "sfu", "--turn-secret", "s3cret"]).await;
    let turn = server.turn.expect("TURN runs by default");
    let (_client, joined) = server.joined("r", "Ada").await;
    assert_eq!(joined["settings"]["media_mode"], "sfu");
    let relay = &joined["ice_servers"][1];
    for (i, transport) in ["udp", "tcp"].into_iter().enumerate() {
        let url = format!("turn:127.0.0.1:{}?transport={transport}", turn.port());
        assert_eq!(relay["urls"][i], url);
    }
    let username = relay["username"].as_str().unwrap();
    assert_eq!(
        relay["credential"].as_str().unwrap(),
        huddle_turn::rest_password(b"s3cret", username)
    );
}

#[tokio::test]
async fn the_advertised_stun_server_answers_binding_requests() {
    let server = Server::start(&[]).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
    request.extend_from_slice(b"huddle-test!");
    socket
        .send_to(&request, server.turn.unwrap())
        .await
        .unwrap();
    let mut response = [0u8; 512];
    let (len, _) = tokio::time::timeout(common::WAIT, socket.recv_from(&mut response))
        .await
        .expect("a binding response")
        .unwrap();
    assert!(len > 20);
    assert_eq!(&response[..2], &[0x01, 0x01], "Binding success response");
    assert_eq!(&response[8..20], b"huddle-test!", "same transaction id");
    let metrics = server.metrics().await;
    assert_eq!(
        common::metric(&metrics, "huddle_turn_binding_requests_total"),
        Some(1.0),
        "TURN metrics are served at /metrics:\n{metrics}"
    );
}

#[tokio::test]
async fn operator_servers_override_and_no_turn_means_none() {
    let server = Server::start(&["--ice-server", "stun:stun.example.org:3478"]).await;
    let (_client, joined) = server.joined("r", "Ada").await;
    assert_eq!(
        joined["ice_servers"],
        serde_json::json!([{"urls": ["stun:stun.example.org:3478"]}])
    );

    let server = Server::start(&["--no-turn"]).await;
    assert!(server.turn.is_none());
    let (_client, joined) = server.joined("r", "Ada").await;
    assert_eq!(joined["ice_servers"], serde_json::json!([]));
}

/// `POST /api/turn-test` with these header lines.
async fn turn_test(server: &Server, headers: &[String]) -> (u16, String) {
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    common::http_request(server.address, "POST", "/api/turn-test", &headers, "").await
}

/// The connectivity test's credentials take relay ports like a participant's: another site's page
/// gets none, an address gets its join budget's worth, and a server that requires invitations
/// asks for one.
#[tokio::test]
async fn connectivity_test_credentials_have_the_guards_of_a_join() {
    let server = Server::start(&["--joins-per-minute", "2"]).await;
    let foreign = turn_test(&server, &["Origin: https://evil.example".into()]).await;
    assert_eq!(foreign.0, 403, "{foreign:?}");
    let own = [format!("Origin: http://{}", server.address)];
    let (status, body) = turn_test(&server, &own).await;
    assert_eq!(status, 200, "{body}");
    let servers: serde_json::Value = serde_json::from_str(&body).unwrap();
    let username = servers[1]["username"].as_str().unwrap();
    assert!(username.contains(":turn-test-"), "{username}");
    assert_eq!(turn_test(&server, &own).await.0, 200);
    let spent = turn_test(&server, &own).await;
    assert_eq!(spent.0, 429, "the address's joins are spent: {spent:?}");
    assert_eq!(
        common::metric(
            &server.metrics().await,
            "huddle_abuse_refusals_total{limit=\"joins_per_ip\"}"
        ),
        Some(1.0)
    );

    let server = Server::start(&["--require-token"]).await;
    assert_eq!(turn_test(&server, &[]).await.0, 401);
    let forged = ["Authorization: Bearer forged".to_owned()];
    assert_eq!(turn_test(&server, &forged).await.0, 401);
    let room = huddle::rooms::RoomName::parse("any-room").unwrap();
    let token = huddle::access::JoinTokens::new(common::TOKEN_SECRET.as_bytes()).mint(
        &room,
        huddle::protocol::Role::Participant,
        None,
        std::time::Duration::from_secs(60),
    );
    let (status, body) = turn_test(&server, &[format!("Authorization: Bearer {token}")]).await;
    assert_eq!(status, 200, "{body}");
}
