//! `/prompt`: the question goes to an OpenAI-compatible endpoint (a fake one on loopback here) and
//! its answer is posted as a bot message; a failing endpoint gives a failure message.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use common::database::on_each_database;
use common::{identity, metric, Server};
use serde_json::{json, Value};

/// What the fake endpoint was asked, with its Authorization header.
type Asked = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn answer(
    State(asked): State<Asked>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .map(|value| value.to_str().unwrap().to_owned());
    asked.lock().unwrap().push((auth, body));
    Json(json!({"id": "x", "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}}]}))
}

async fn fail() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// A fake endpoint: `/good/v1` answers, `/bad/v1` fails.
async fn fake_endpoint(asked: Asked) -> String {
    let app = Router::new()
        .route("/good/v1/chat/completions", post(answer))
        .route("/bad/v1/chat/completions", post(fail))
        .with_state(asked);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test]
async fn the_bot_answers_for_everybody() {
    on_each_database(|db| async move {
        let asked = Asked::default();
        let base = format!("{}/good/v1", fake_endpoint(asked.clone()).await);
        let flags = [
            "--bot-url",
            &base,
            "--bot-key",
            "sekret",
            "--bot-model",
            "tiny",
        ];
        let server = Server::start_on(&db, &flags).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        let mut bob = server.client().await;
        bob.join_as("r", "Bob", &identity("bob")).await;

        ada.send(json!({"type": "chat_send", "text": "/prompt what is 2+2?"}))
            .await;
        let question = bob.expect("chat_message").await["message"].clone();
        assert_eq!(question["kind"], "user", "{}", db.name());
        assert_eq!(question["text"], "/prompt what is 2+2?");
        let reply = bob.expect("chat_message").await["message"].clone();
        assert_eq!(reply["kind"], "bot");
        assert_eq!(reply["text"], "4");
        assert_eq!(reply["author_name"], "huddle bot");
        assert_eq!(reply["author"], json!(null));
        assert_eq!(reply["mine"], false);

        let (auth, body) = asked.lock().unwrap()[0].clone();
        assert_eq!(auth.as_deref(), Some("Bearer sekret"));
        assert_eq!(body["model"], "tiny");
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": "what is 2+2?"}])
        );
        let text = server.metrics().await;
        assert_eq!(
            metric(&text, r#"huddle_bot_requests_total{outcome="answered"}"#),
            Some(1.0)
        );
        assert_eq!(
            metric(&text, r#"huddle_chat_messages_total{kind="bot"}"#),
            Some(1.0)
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_failing_bot_says_so_and_an_absent_one_is_unavailable() {
    on_each_database(|db| async move {
        let base = format!("{}/bad/v1", fake_endpoint(Asked::default()).await);
        let server = Server::start_on(&db, &["--bot-url", &base, "--bot-model", "tiny"]).await;
        let mut ada = server.client().await;
        ada.join_as("r", "Ada", &identity("ada")).await;
        ada.send(json!({"type": "chat_send", "text": "/prompt anyone?"}))
            .await;
        ada.expect("chat_message").await;
        let reply = ada.expect("chat_message").await["message"].clone();
        assert_eq!(reply["kind"], "bot", "{}", db.name());
        let text = reply["text"].as_str().unwrap();
        assert!(text.starts_with("the bot could not answer"), "{text}");
        let metrics = server.metrics().await;
        assert_eq!(
            metric(&metrics, r#"huddle_bot_requests_total{outcome="failed"}"#),
            Some(1.0)
        );
        server.stop().await;

        let server = Server::start_on(&db, &[]).await;
        let mut ada = server.client().await;
        ada.join_as("r2", "Ada", &identity("ada")).await;
        ada.send(json!({"type": "chat_send", "text": "/prompt anyone?"}))
            .await;
        let error = ada.expect_error("bot_unavailable").await;
        assert_eq!(error["message"], "no chat bot is configured on this server");
        server.stop().await;
    })
    .await;
}
