//! The fake GitHub's webhook side and the lists reconciliation walks, a child module of
//! [`super`] (it shares the fake's state):
//! - [`FakeGithub::deliver`] sends a signed delivery to the bot's webhook URL as GitHub does and
//!   logs it (a refused connection or a non-2xx answer is a failed delivery);
//! - `GET /app/hook/deliveries` lists the log newest first, cursor-paginated (`cursor` param,
//!   `Link: <...>; rel="next"`), with GitHub's fields; `POST /app/hook/deliveries/{id}/attempts`
//!   answers 202 and re-sends that delivery (same GUID, event and body), logged as a redelivery;
//! - `GET /app/installations`, `GET /installation/repositories`, `GET /repos/{o}/{r}/pulls` and
//!   `GET /repos/{o}/{r}/commits/{ref}/check-runs` answer from the fake's state.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{APP_ID, Answer, CheckRun, FakeGithub, INSTALLATION_ID, Shared, StateInner};
use super::{answer, check_run_json, message};

/// One entry of the delivery log.
#[derive(Debug, Clone)]
pub struct LoggedDelivery {
    pub id: u64,
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub redelivery: bool,
    /// 0 when the connection failed.
    pub status_code: u16,
    pub body: Vec<u8>,
}

/// Where deliveries go, and what signs them.
#[derive(Debug, Clone)]
pub(super) struct Hook {
    pub addr: SocketAddr,
    pub secret: String,
}

impl FakeGithub {
    /// Where [`Self::deliver`] and redeliveries send to.
    pub fn set_webhook(&self, addr: SocketAddr, secret: &str) {
        self.lock().hook = Some(Hook {
            addr,
            secret: secret.to_owned(),
        });
    }

    /// Lists `full_name` (cloned from `clone_url`) among the installation's repositories.
    pub fn add_repo(&self, full_name: &str, clone_url: &str) {
        self.lock()
            .repos
            .push((full_name.to_owned(), clone_url.to_owned()));
    }

    /// Seeds a check run, as an earlier evaluation (by this App) left it.
    pub fn add_check_run(&self, repo: &str, head_sha: &str, status: &str) -> u64 {
        let mut s = self.lock();
        let id = s.new_id();
        s.check_runs.push(CheckRun {
            id,
            repo: repo.to_owned(),
            name: "thoth".to_owned(),
            head_sha: head_sha.to_owned(),
            status: status.to_owned(),
            conclusion: (status == "completed").then(|| "success".to_owned()),
            title: None,
            summary: None,
            details_url: None,
            annotations: Vec::new(),
        });
        id
    }

    /// From now on every request with an installation token uses up one of `remaining`, and
    /// its answer says what is left in `x-ratelimit-remaining` (`None`: no header, as before).
    pub fn set_rate_limit_remaining(&self, remaining: Option<u64>) {
        self.lock().rate_limit_remaining = remaining;
    }

    /// Requests whose path starts with `path_prefix` are answered `delay` late (a slow server).
    pub fn set_slow(&self, path_prefix: &str, delay: std::time::Duration) {
        self.lock().slow.push((path_prefix.to_owned(), delay));
    }

    /// Whether a request for `path` has arrived (it may still be waiting for its answer).
    pub fn has_arrived(&self, path: &str) -> bool {
        self.lock().arrived.iter().any(|p| p == path)
    }

    /// Sends a delivery to the webhook and logs it; the bot's answer (0: no connection).
    pub async fn deliver(&self, event: &str, guid: &str, body: &[u8]) -> u16 {
        let action = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["action"].as_str().map(str::to_owned));
        let entry = LoggedDelivery {
            id: 0,
            guid: guid.to_owned(),
            event: event.to_owned(),
            action,
            redelivery: false,
            status_code: 0,
            body: body.to_vec(),
        };
        send(&self.state, entry).await
    }

    /// The delivery log, oldest first.
    pub fn deliveries(&self) -> Vec<LoggedDelivery> {
        self.lock().deliveries.clone()
    }
}

/// Notes a request's arrival; the delay to answer it with, if its endpoint is slow.
pub(super) fn arrived(state: &Shared, path: &str) -> Option<std::time::Duration> {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.arrived.push(path.to_owned());
    s.slow
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, delay)| *delay)
}

/// Sends `d` to the hook and logs the attempt with a new id.
pub(super) async fn send(state: &Shared, mut d: LoggedDelivery) -> u16 {
    let hook = state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .hook
        .clone()
        .expect("set_webhook before delivering");
    d.status_code = post(&hook, &d).await;
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.next_delivery_id += 1;
    d.id = 90_000_000 + s.next_delivery_id;
    let code = d.status_code;
    s.deliveries.push(d);
    code
}

/// One POST over a fresh connection; 0 when it cannot be made.
async fn post(hook: &Hook, d: &LoggedDelivery) -> u16 {
    let Ok(mut stream) = tokio::net::TcpStream::connect(hook.addr).await else {
        return 0;
    };
    let sig = thoth_bot::webhook::signature::sign_github(&hook.secret, &d.body);
    let head = format!(
        "POST /webhooks/github HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nUser-Agent: GitHub-Hookshot/fake\r\nX-GitHub-Event: {}\r\nX-GitHub-Delivery: {}\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
        hook.addr,
        d.event,
        d.guid,
        d.body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(&d.body).await.is_err()
    {
        return 0;
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    String::from_utf8_lossy(&raw)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `per_page` (default 30, at most 100) and `page` (from 1).
fn paging(query: &str) -> (usize, usize) {
    let per_page = query_param(query, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30usize)
        .clamp(1, 100);
    let page = query_param(query, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    (per_page, page)
}

/// A `page`-paginated list answer with its `Link` header.
fn paged(path: &str, query: &str, all: Vec<Value>, wrap: impl Fn(Vec<Value>) -> Value) -> Answer {
    let (per_page, page) = paging(query);
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut headers = Vec::new();
    if page * per_page < total {
        headers.push((
            "link".to_owned(),
            format!(
                "<https://api.github.com{path}?per_page={per_page}&page={}>; rel=\"next\"",
                page + 1
            ),
        ));
    }
    Answer(200, wrap(items), headers)
}

/// The routes of this module; `None` for everything else.
pub(super) fn route(s: &mut StateInner, method: &str, seg: &[&str], query: &str) -> Option<Answer> {
    Some(match (method, seg) {
        ("GET", ["app", "hook", "deliveries"]) => list_deliveries(s, query),
        ("POST", ["app", "hook", "deliveries", id, "attempts"]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let Some(d) = s.deliveries.iter().find(|d| d.id == id).cloned() else {
                return Some(message(404, "Not Found"));
            };
            s.outbox.push(LoggedDelivery {
                redelivery: true,
                ..d
            });
            answer(202, json!({}))
        }
        ("GET", ["app", "installations"]) => answer(
            200,
            json!([{ "id": INSTALLATION_ID, "app_id": APP_ID, "target_type": "Organization",
                     "account": { "login": "acme", "type": "Organization" } }]),
        ),
        ("GET", ["installation", "repositories"]) => {
            let all: Vec<Value> = s
                .repos
                .iter()
                .map(|(name, url)| {
                    json!({ "full_name": name, "name": name.split('/').nth(1), "private": true,
                            "clone_url": url })
                })
                .collect();
            let total = all.len();
            paged(
                "/installation/repositories",
                query,
                all,
                |items| json!({ "total_count": total, "repositories": items }),
            )
        }
        ("GET", ["repos", o, r, "pulls"]) => {
            let repo = format!("{o}/{r}");
            let state = query_param(query, "state").unwrap_or("open");
            let mut numbers: Vec<u64> = s
                .pulls
                .iter()
                .filter(|((name, _), p)| *name == repo && (state == "all" || p.state == state))
                .map(|((_, n), _)| *n)
                .collect();
            numbers.sort_unstable();
            let all = numbers
                .into_iter()
                .map(|n| super::pull_json(&s.pulls[&(repo.clone(), n)], n))
                .collect();
            paged(&format!("/repos/{repo}/pulls"), query, all, Value::Array)
        }
        ("GET", ["repos", o, r, "commits", head, "check-runs"]) => {
            let repo = format!("{o}/{r}");
            let name = query_param(query, "check_name");
            let runs: Vec<Value> = s
                .check_runs
                .iter()
                .rev()
                .filter(|c| c.repo == repo && c.head_sha == *head)
                .filter(|c| name.is_none_or(|n| n == c.name))
                .map(|c| {
                    let mut v = check_run_json(c);
                    v["app"] = json!({ "id": APP_ID, "slug": "thoth-bot" });
                    v
                })
                .collect();
            let mut a = answer(
                200,
                json!({ "total_count": runs.len(), "check_runs": runs }),
            );
            a.2.push(("x-ratelimit-remaining".to_owned(), "4999".to_owned()));
            a
        }
        _ => return None,
    })
}

/// Newest first; `cursor=v1_ID` continues below delivery `ID`, as GitHub's opaque cursors do.
fn list_deliveries(s: &StateInner, query: &str) -> Answer {
    let (per_page, _) = paging(query);
    let below = query_param(query, "cursor")
        .and_then(|c| c.strip_prefix("v1_"))
        .and_then(|id| id.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let mut log: Vec<&LoggedDelivery> = s.deliveries.iter().filter(|d| d.id < below).collect();
    log.sort_by_key(|d| std::cmp::Reverse(d.id));
    let more = log.len() > per_page;
    let items: Vec<Value> = log
        .iter()
        .take(per_page)
        .map(|d| {
            let ok = (200..300).contains(&d.status_code);
            json!({
                "id": d.id, "guid": d.guid, "delivered_at": "2026-11-30T10:00:00Z",
                "redelivery": d.redelivery, "duration": 0.1,
                "status": if ok { "OK".to_owned() } else if d.status_code == 0 {
                    "failed to connect to host".to_owned()
                } else {
                    format!("Invalid HTTP Response: {}", d.status_code)
                },
                "status_code": d.status_code, "event": d.event, "action": d.action,
                "installation_id": INSTALLATION_ID, "repository_id": 1296269,
                "throttled_at": null,
            })
        })
        .collect();
    let mut headers = Vec::new();
    if more && let Some(last) = items.last().and_then(|d| d["id"].as_u64()) {
        headers.push((
            "link".to_owned(),
            format!(
                "<https://api.github.com/app/hook/deliveries?per_page={per_page}&cursor=v1_{last}>; rel=\"next\""
            ),
        ));
    }
    Answer(200, Value::Array(items), headers)
}
