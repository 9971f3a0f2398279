//! The chat bot: an OpenAI-compatible chat completions endpoint the operator configures.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the bot's messages are signed in the chat.
pub const BOT_NAME: &str = "huddle bot";
/// A bot that has not answered by then has failed.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Bot {
    client: reqwest::Client,
    endpoint: String,
    key: Option<String>,
    model: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("the endpoint answered {0}")]
    Status(reqwest::StatusCode),
    #[error("the endpoint's answer has no message")]
    NoAnswer,
}

#[derive(Serialize)]
struct Completion<'a> {
    model: &'a str,
    messages: [Prompt<'a>; 1],
}

#[derive(Serialize)]
struct Prompt<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Completed {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Reply,
}

#[derive(Deserialize)]
struct Reply {
    content: Option<String>,
}

/// The chat bot's endpoint, when one is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSettings {
    /// An OpenAI-compatible API's base URL.
    pub url: String,
    pub key: Option<String>,
    pub model: String,
}

impl Bot {
    pub fn new(settings: &BotSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        Ok(Self {
            client,
            endpoint: format!("{}/chat/completions", settings.url.trim_end_matches('/')),
            key: settings.key.clone(),
            model: settings.model.clone(),
        })
    }

    pub async fn ask(&self, question: &str) -> Result<String, BotError> {
        let body = Completion {
            model: &self.model,
            messages: [Prompt {
                role: "user",
                content: question,
            }],
        };
        let mut request = self.client.post(&self.endpoint).json(&body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            return Err(BotError::Status(response.status()));
        }
        let completed: Completed = response.json().await?;
        completed
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .filter(|answer| !answer.trim().is_empty())
            .ok_or(BotError::NoAnswer)
    }
}
