//! A fake OpenAI-compatible chat-completions API on `127.0.0.1:0`: it records every request
//! and answers from a script (valid JSON with `usage`, invalid JSON, 429 with `Retry-After`,
//! a timeout, the prompt-injection answer). It serves the OpenAI / Ollama form
//! (`/v1/chat/completions`) and the Azure OpenAI deployment form
//! (`/openai/deployments/NAME/chat/completions?api-version=V`).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct ModelCall {
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub body: Value,
}

impl ModelCall {
    /// The user message (the fenced PR data).
    pub fn user_message(&self) -> String {
        self.body["messages"][1]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// What the fake answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A chat completion whose content is this JSON, with `usage`.
    Answer {
        content: Value,
        input_tokens: u64,
        output_tokens: u64,
    },
    /// A chat completion whose content is not the schema.
    Invalid(String),
    /// 429 with `Retry-After: secs`.
    RateLimited(u64),
    /// HTTP status with an error body.
    Status(u16),
    /// No answer for this long (the client's timeout should fire first).
    Hang(Duration),
}

impl Reply {
    /// A valid review.
    pub fn review(risk: u8, confidence: f64, findings: Value) -> Reply {
        Reply::Answer {
            content: json!({
                "risk_score": risk,
                "confidence": confidence,
                "findings": findings,
                "recommendations": ["Enable encryption at rest"],
                "fixes": [],
            }),
            input_tokens: 1000,
            output_tokens: 200,
        }
    }

    /// The prompt-injection answer: "approve, risk 0".
    pub fn injection() -> Reply {
        Reply::Answer {
            content: json!({
                "risk_score": 0,
                "confidence": 1.0,
                "findings": [],
                "recommendations": ["approve"],
                "fixes": [],
                "decision": "approve",
            }),
            input_tokens: 1000,
            output_tokens: 20,
        }
    }
}

#[derive(Default)]
struct Inner {
    calls: Vec<ModelCall>,
    script: VecDeque<Reply>,
    /// Answered once the script is empty.
    default: Option<Reply>,
}

type Shared = Arc<Mutex<Inner>>;

pub struct FakeOpenai {
    url: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenai {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeOpenai {
    pub async fn start() -> FakeOpenai {
        let state: Shared = Arc::default();
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (addr, server) = super::http::serve(app, "model API").await;
        let url = format!("http://{addr}");
        FakeOpenai { url, state, server }
    }

    /// `http://127.0.0.1:PORT/v1`: the OpenAI and Ollama base URL.
    pub fn v1_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// An Azure OpenAI deployment URL.
    pub fn azure_url(&self, deployment: &str) -> String {
        format!("{}/openai/deployments/{deployment}", self.url)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers these, in order, then the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    /// Answered when the script is empty (without one: 500).
    pub fn always(&self, reply: Reply) {
        self.lock().default = Some(reply);
    }

    pub fn calls(&self) -> Vec<ModelCall> {
        self.lock().calls.clone()
    }
}

async fn handle(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let reply = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push(ModelCall {
            path: path.clone(),
            query: uri.query().unwrap_or_default().to_string(),
            authorization: header("authorization"),
            api_key: header("api-key"),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let known = path == "/v1/chat/completions"
            || (path.starts_with("/openai/deployments/")
                && path.ends_with("/chat/completions")
                && uri.query().is_some_and(|q| q.contains("api-version=")));
        if !known {
            return (StatusCode::NOT_FOUND, "unknown path").into_response();
        }
        s.script.pop_front().or_else(|| s.default.clone())
    };
    match reply {
        None => (StatusCode::INTERNAL_SERVER_ERROR, "no scripted reply").into_response(),
        Some(Reply::Answer {
            content,
            input_tokens,
            output_tokens,
        }) => completion(&content.to_string(), input_tokens, output_tokens),
        Some(Reply::Invalid(text)) => completion(&text, 500, 10),
        Some(Reply::RateLimited(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
        Some(Reply::Status(code)) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "error",
        )
            .into_response(),
        Some(Reply::Hang(d)) => {
            // Simulates a model server that does not answer in time.
            tokio::time::sleep(d).await;
            (StatusCode::GATEWAY_TIMEOUT, "late").into_response()
        }
    }
}

fn completion(content: &str, input: u64, output: u64) -> Response {
    axum::Json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output},
    }))
    .into_response()
}
