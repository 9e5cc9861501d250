//! One OpenAI-compatible chat-completions client for OpenAI, Azure OpenAI and Ollama's `/v1`,
//! over the hyper stack the forge clients already use. Timeouts, 429 (waiting out
//! `Retry-After`) and 5xx are retried until the caller's deadline; nothing else is.

use std::time::{Duration, Instant};

use http::{HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use serde_json::{Value, json};
use thiserror::Error;

use super::config::{AiSettings, ModelSettings, Provider};
use crate::secret::ExposeSecret as _;

/// A larger response body is refused.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// First backoff after a 5xx or a timeout; doubled per attempt.
const BASE_DELAY: Duration = Duration::from_millis(500);
/// HTTP attempts per chat call at most, whatever the deadline.
const MAX_ATTEMPTS: u32 = 4;

/// Tokens one response reports in its `usage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
    }
}

/// The text of the first choice and what it cost.
#[derive(Debug, Clone)]
pub struct ChatAnswer {
    pub content: String,
    pub usage: Usage,
}

#[derive(Debug, Error)]
pub enum ChatError {
    #[error("the model did not answer in time")]
    Deadline,
    #[error("the model API answered HTTP {0}")]
    Status(u16),
    #[error("cannot reach the model API: {0}")]
    Transport(String),
    #[error("the model API's response is not a chat completion: {0}")]
    Malformed(String),
}

/// Outcome of one HTTP attempt, for the retry loop.
enum Attempt {
    Done(ChatAnswer),
    /// Worth repeating after this long (`None`: the backoff).
    Retry(ChatError, Option<Duration>),
    Fail(ChatError),
}

pub struct ChatClient {
    http: crate::https::HttpsClient,
    url: String,
    auth: Option<(header::HeaderName, HeaderValue)>,
    timeout: Duration,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    pub fn new(s: &AiSettings) -> anyhow::Result<ChatClient> {
        let http = crate::https::client()?;
        let base = s.base_url.trim_end_matches('/');
        let url = match s.provider {
            Provider::Azure => format!(
                "{base}/chat/completions?api-version={}",
                crate::encoding::path_segment(&s.api_version)
            ),
            Provider::Openai | Provider::Ollama => format!("{base}/chat/completions"),
        };
        let auth = match (&s.api_key, s.provider) {
            (None, _) => None,
            (Some(k), Provider::Azure) => Some((
                header::HeaderName::from_static("api-key"),
                sensitive(k.expose_secret())?,
            )),
            (Some(k), _) => Some((
                header::AUTHORIZATION,
                sensitive(&format!("Bearer {}", k.expose_secret()))?,
            )),
        };
        Ok(ChatClient {
            http,
            url,
            auth,
            timeout: s.timeout(),
        })
    }

    /// The URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One chat completion (system + user message, JSON answer), retried until `deadline`.
    /// `on_attempt` is called per HTTP request sent (for the request metric).
    pub async fn chat(
        &self,
        m: &ModelSettings,
        system: &str,
        user: &str,
        deadline: Instant,
        on_attempt: &(dyn Fn() + Sync),
    ) -> Result<ChatAnswer, ChatError> {
        let body = json!({
            "model": m.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": m.max_tokens,
            "temperature": m.temperature,
            "response_format": {"type": "json_object"},
        })
        .to_string();
        let mut attempt = 0u32;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ChatError::Deadline);
            }
            on_attempt();
            let outcome = match tokio::time::timeout(self.timeout.min(left), self.send(&body)).await
            {
                Ok(o) => o,
                Err(_) => Attempt::Retry(ChatError::Deadline, None),
            };
            let (error, wait) = match outcome {
                Attempt::Done(a) => return Ok(a),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, wait) => (e, wait.unwrap_or(BASE_DELAY * 2u32.pow(attempt))),
            };
            attempt += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if attempt >= MAX_ATTEMPTS || wait >= left {
                return Err(error);
            }
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %error,
                "model request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(&self, body: &str) -> Attempt {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(&self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "thoth-bot");
        if let Some((name, value)) = &self.auth {
            request = request.header(name, value.clone());
        }
        let request = match request.body(Full::new(Bytes::from(body.to_string()))) {
            Ok(r) => r,
            Err(e) => return Attempt::Fail(ChatError::Transport(e.to_string())),
        };
        let response = match self.http.request(request).await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(ChatError::Transport(e.to_string()), None),
        };
        let (parts, body) = response.into_parts();
        let status = parts.status;
        if status.as_u16() == 429 {
            let wait = parts
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Attempt::Retry(ChatError::Status(429), wait);
        }
        if status.is_server_error() {
            return Attempt::Retry(ChatError::Status(status.as_u16()), None);
        }
        if !status.is_success() {
            return Attempt::Fail(ChatError::Status(status.as_u16()));
        }
        let bytes = match Limited::new(body, MAX_RESPONSE_BYTES).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Attempt::Retry(ChatError::Transport(e.to_string()), None),
        };
        match completion(&bytes) {
            Ok(a) => Attempt::Done(a),
            Err(e) => Attempt::Fail(e),
        }
    }
}

fn sensitive(v: &str) -> anyhow::Result<HeaderValue> {
    let mut h = HeaderValue::from_str(v)?;
    h.set_sensitive(true);
    Ok(h)
}

/// `choices[0].message.content` and `usage` of a chat completion.
fn completion(bytes: &[u8]) -> Result<ChatAnswer, ChatError> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| ChatError::Malformed(e.to_string()))?;
    let content = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| ChatError::Malformed("no choices[0].message.content".into()))?
        .to_string();
    let tokens = |k: &str| {
        v.get("usage")
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok(ChatAnswer {
        content,
        usage: Usage {
            input_tokens: tokens("prompt_tokens"),
            output_tokens: tokens("completion_tokens"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_auth_per_provider() {
        let mut s = AiSettings {
            base_url: "https://res.openai.azure.com/openai/deployments/gpt4o".into(),
            provider: Provider::Azure,
            api_key: Some("k".to_string().into()),
            ..AiSettings::default()
        };
        let c = ChatClient::new(&s).unwrap();
        assert_eq!(
            c.url(),
            "https://res.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(c.auth.as_ref().unwrap().0.as_str(), "api-key");
        s.provider = Provider::Ollama;
        s.base_url = "http://localhost:11434/v1".into();
        s.api_key = None;
        let c = ChatClient::new(&s).unwrap();
        assert_eq!(c.url(), "http://localhost:11434/v1/chat/completions");
        assert!(c.auth.is_none());
    }

    #[test]
    fn completion_reads_content_and_usage() {
        let a = completion(
            br#"{"choices":[{"message":{"content":"{}"}}],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#,
        )
        .unwrap();
        assert_eq!(a.content, "{}");
        assert_eq!(a.usage.input_tokens, 12);
        assert_eq!(a.usage.output_tokens, 3);
        assert!(completion(b"{}").is_err());
    }
}
