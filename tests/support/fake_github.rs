//! A fake GitHub REST API for tests, served over real HTTP on `127.0.0.1:0`, so the client's
//! real request code (octocrab, auth headers, retries) is what gets tested (bors style: mock at
//! the HTTP level, no client trait).
//!
//! It keeps in-memory state (check runs with every annotation appended, reviews, issue comments,
//! reactions, collaborator permissions, pull requests), records every call in order, checks
//! credentials like GitHub (the token endpoint wants an RS256 App JWT signed by the test key;
//! every other endpoint an installation token it issued and that has not expired or been
//! revoked, else 401), and lets a test script failures with [`FakeGithub::fail_next`].

// Each test binary uses a different part of the fake.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[path = "fake_github_hooks.rs"]
mod hooks;
pub use hooks::LoggedDelivery;

/// The App id the fake knows; the client must sign its JWT with it.
pub const APP_ID: u64 = 4242;
/// The installation the tests use.
pub const INSTALLATION_ID: u64 = 77;
/// Login of the App's bot user, as GitHub names it.
pub const BOT_LOGIN: &str = "thoth-bot[bot]";

/// The throwaway test key (see `tests/data/github/README.md`).
pub const TEST_KEY_PEM: &str = include_str!("../data/github/test-app-key.pem");
const TEST_PUBLIC_KEY_PEM: &str = include_str!("../data/github/test-app-key.pub.pem");

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// As requested (with `/api/v3` when the client is set up for GHES), without the query.
    pub path: String,
    pub query: String,
    /// What the fake answered.
    pub status: u16,
    /// The JSON request body (`Null` when empty or not JSON).
    pub body: Value,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub repo: String,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Every annotation of every update, appended in order (as GitHub does).
    pub annotations: Vec<Value>,
    /// The run's "Details" link, when an update set one.
    pub details_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Review {
    pub id: u64,
    pub repo: String,
    pub pr: u64,
    pub commit_id: String,
    pub event: String,
    pub body: String,
    /// Review comments posted with it (`path`, `line`, `start_line`, `side`, `body`).
    pub comments: Vec<Value>,
}

/// Who wrote a seeded comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// This App (`thoth-bot[bot]`, `performed_via_github_app` set).
    App,
    /// Another App's bot.
    OtherApp(String),
    /// A person.
    User(String),
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub repo: String,
    pub issue: u64,
    pub body: String,
    pub author: Author,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub repo: String,
    pub comment_id: u64,
    pub content: String,
}

/// A pull request the fake serves (`GET /repos/{o}/{r}/pulls/{n}`).
#[derive(Debug, Clone)]
pub struct PullSpec {
    pub head_sha: String,
    pub base_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    pub author: String,
    pub labels: Vec<String>,
    pub draft: bool,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    /// Logins of the commits' authors and committers (`GET .../pulls/{n}/commits`); the PR
    /// author's when empty.
    pub pushers: Vec<String>,
}

impl Default for PullSpec {
    fn default() -> Self {
        PullSpec {
            head_sha: "a".repeat(40),
            base_sha: "b".repeat(40),
            head_ref: "feature".into(),
            base_ref: "main".into(),
            author: "alice".into(),
            labels: Vec::new(),
            draft: false,
            state: "open".into(),
            merged: false,
            pushers: Vec::new(),
        }
    }
}

struct Failure {
    method: Method,
    path_prefix: String,
    status: u16,
    headers: Vec<(String, String)>,
    /// Apply the request, then answer the failure (a write that landed behind a 504).
    after_apply: bool,
}

#[derive(Default)]
struct StateInner {
    next_id: u64,
    calls: Vec<Call>,
    failures: VecDeque<Failure>,
    /// token -> (expiry, revoked)
    tokens: HashMap<String, (Instant, bool)>,
    tokens_issued: usize,
    token_ttl: Option<Duration>,
    check_runs: Vec<CheckRun>,
    reviews: Vec<Review>,
    comments: Vec<Comment>,
    reactions: Vec<Reaction>,
    permissions: HashMap<(String, String), String>,
    /// (org, team slug, login) with an active membership.
    team_members: Vec<(String, String, String)>,
    pulls: HashMap<(String, u64), PullSpec>,
    /// Every installation token issued is this one (so a git server can expect it).
    fixed_token: Option<String>,
    /// Where deliveries go ([`FakeGithub::set_webhook`]).
    hook: Option<hooks::Hook>,
    /// The App's webhook delivery log, oldest first.
    deliveries: Vec<LoggedDelivery>,
    next_delivery_id: u64,
    /// Redeliveries asked for, sent once the request is answered.
    outbox: Vec<LoggedDelivery>,
    /// The installation's repositories: (full name, clone URL).
    repos: Vec<(String, String)>,
    /// Paths as requests arrive (before any answer), and endpoints that answer late.
    arrived: Vec<String>,
    slow: Vec<(String, Duration)>,
    /// Installation requests left this hour ([`FakeGithub::set_rate_limit_remaining`]).
    rate_limit_remaining: Option<u64>,
}

type Shared = Arc<Mutex<StateInner>>;

/// The running fake. Stops when dropped.
pub struct FakeGithub {
    url: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeGithub {
    /// Starts the fake on a free loopback port.
    pub async fn start() -> FakeGithub {
        let state: Shared = Arc::new(Mutex::new(StateInner {
            next_id: 1000,
            ..StateInner::default()
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (addr, server) = super::http::serve(app, "GitHub").await;
        let url = format!("http://{addr}");
        FakeGithub { url, state, server }
    }

    /// The API root to put in `GithubConfig::api_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(&self) -> MutexGuard<'_, StateInner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call, in order (token requests and rejected calls included).
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Non-GET calls to repository endpoints (token requests excluded: GitHub does not count
    /// them as content writes either).
    pub fn writes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET" && !c.path.starts_with("/app"))
            .collect()
    }

    /// Installation tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.lock().tokens_issued
    }

    /// Lifetime of the tokens issued from now on (default one hour, like GitHub).
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.lock().token_ttl = Some(ttl);
    }

    /// Every issued token answers 401 from now on.
    /// Issues `token` for every installation token request from now on.
    pub fn set_fixed_token(&self, token: &str) {
        self.lock().fixed_token = Some(token.to_string());
    }

    pub fn revoke_tokens(&self) {
        for (_, revoked) in self.lock().tokens.values_mut() {
            *revoked = true;
        }
    }

    /// The next request with this method whose path starts with `path_prefix` gets `status`
    /// and `headers` instead of its answer, without being applied. Queued in order.
    pub fn fail_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
    ) {
        self.push_failure(method, path_prefix, status, headers, false);
    }

    /// Like [`Self::fail_next`], but the request IS applied before the failure is answered
    /// (a write that landed although the proxy answered 504).
    pub fn fail_next_after_apply(&self, method: &str, path_prefix: &str, status: u16) {
        self.push_failure(method, path_prefix, status, &[], true);
    }

    fn push_failure(
        &self,
        method: &str,
        prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
        after_apply: bool,
    ) {
        self.lock().failures.push_back(Failure {
            method: method.parse().expect("HTTP method"),
            path_prefix: prefix.to_owned(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            after_apply,
        });
    }

    /// Sets `login`'s role on `repo` (`admin`, `maintain`, `write`, `triage`, `read`, `none`,
    /// or a custom role name, whose base permission is then `read`).
    pub fn set_permission(&self, repo: &str, login: &str, role: &str) {
        self.lock()
            .permissions
            .insert((repo.to_owned(), login.to_owned()), role.to_owned());
    }

    /// Makes `login` an active member of `org/team`.
    pub fn add_team_member(&self, org: &str, team: &str, login: &str) {
        self.lock()
            .team_members
            .push((org.to_owned(), team.to_owned(), login.to_owned()));
    }

    pub fn add_pull(&self, repo: &str, number: u64, pull: PullSpec) {
        self.lock().pulls.insert((repo.to_owned(), number), pull);
    }

    /// Seeds an existing comment; returns its id.
    pub fn add_comment(&self, repo: &str, issue: u64, body: &str, author: Author) -> u64 {
        let mut s = self.lock();
        let id = s.new_id();
        s.comments.push(Comment {
            id,
            repo: repo.to_owned(),
            issue,
            body: body.to_owned(),
            author,
        });
        id
    }

    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.lock().check_runs.clone()
    }

    /// The decision reviews (approve, request changes, comment), without the reviews that only
    /// carry fix suggestions ([`FakeGithub::suggestion_reviews`]).
    pub fn reviews(&self) -> Vec<Review> {
        let s = self.lock();
        s.reviews
            .iter()
            .filter(|r| r.comments.is_empty())
            .cloned()
            .collect()
    }

    /// The reviews that carry review comments (the bot's fix suggestions).
    pub fn suggestion_reviews(&self) -> Vec<Review> {
        let s = self.lock();
        s.reviews
            .iter()
            .filter(|r| !r.comments.is_empty())
            .cloned()
            .collect()
    }

    /// The comments on one issue / pull request, oldest first.
    pub fn comments(&self, repo: &str, issue: u64) -> Vec<Comment> {
        let s = self.lock();
        s.comments
            .iter()
            .filter(|c| c.repo == repo && c.issue == issue)
            .cloned()
            .collect()
    }

    pub fn reactions(&self) -> Vec<Reaction> {
        self.lock().reactions.clone()
    }
}

impl StateInner {
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// An answer: status, JSON body, extra headers.
struct Answer(u16, Value, Vec<(String, String)>);

fn answer(status: u16, body: Value) -> Answer {
    Answer(status, body, Vec::new())
}

fn message(status: u16, msg: &str) -> Answer {
    answer(
        status,
        json!({ "message": msg, "documentation_url": "https://docs.github.com/rest" }),
    )
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();

    // A slow endpoint answers late, without holding the state meanwhile.
    let slow = hooks::arrived(&state, &path);
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    // GitHub Enterprise Server serves the API under `/api/v3`; the fake answers both ways.
    let segments: Vec<String> = path
        .strip_prefix("/api/v3")
        .unwrap_or(&path)
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let is_app_endpoint = segments.first().map(String::as_str) == Some("app");

    let Answer(status, out, mut extra) = if let Err(why) = if is_app_endpoint {
        check_app_jwt(&auth)
    } else {
        check_installation_token(&s, &auth)
    } {
        message(401, &why)
    } else {
        let failure_at = s
            .failures
            .iter()
            .position(|f| f.method == method && path.starts_with(&f.path_prefix));
        match failure_at.and_then(|i| s.failures.remove(i)) {
            Some(f) if !f.after_apply => injected(&f),
            Some(f) => {
                route(&mut s, &method, &segments, &query, &json_body);
                injected(&f)
            }
            None => route(&mut s, &method, &segments, &query, &json_body),
        }
    };

    if !is_app_endpoint && let Some(left) = s.rate_limit_remaining.as_mut() {
        *left = left.saturating_sub(1);
        extra.push(("x-ratelimit-remaining".to_owned(), left.to_string()));
    }
    s.calls.push(Call {
        method: method.to_string(),
        path,
        query,
        status,
        body: json_body,
        at: Instant::now(),
    });
    let outbox = std::mem::take(&mut s.outbox);
    drop(s);
    for d in outbox {
        // After the answer, as GitHub does: the attempt is made in the background.
        let state = state.clone();
        tokio::spawn(async move { hooks::send(&state, d).await });
    }

    let mut response = (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(out),
    )
        .into_response();
    for (k, v) in extra {
        response.headers_mut().insert(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(&v).expect("header value"),
        );
    }
    response
}

fn injected(f: &Failure) -> Answer {
    let msg = match f.status {
        429 => "API rate limit exceeded",
        403 => {
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        }
        404 => "Not Found",
        500..=599 => "Server Error",
        _ => "Injected failure",
    };
    let Answer(status, body, _) = message(f.status, msg);
    Answer(status, body, f.headers.clone())
}

fn check_app_jwt(auth: &str) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Claims {
        iss: Value,
    }
    let token = auth
        .strip_prefix("Bearer ")
        .ok_or("the App endpoints need `Authorization: Bearer <JWT>`")?;
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY_PEM.as_bytes())
        .expect("test public key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    // octocrab sends `iss` as a number, which jsonwebtoken's own `iss` check does not read;
    // it is compared below.
    validation.set_required_spec_claims(&["exp", "iat"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| format!("A JSON web token could not be decoded: {e}"))?;
    let iss_ok = data.claims.iss == json!(APP_ID) || data.claims.iss == json!(APP_ID.to_string());
    if iss_ok {
        Ok(())
    } else {
        Err(format!(
            "'Issuer' claim ('iss') must be the App id {APP_ID}"
        ))
    }
}

fn check_installation_token(s: &StateInner, auth: &str) -> Result<(), String> {
    let token = auth
        .strip_prefix("token ")
        .or_else(|| auth.strip_prefix("Bearer "))
        .ok_or("Requires authentication")?;
    match s.tokens.get(token) {
        Some((expiry, false)) if *expiry > Instant::now() => Ok(()),
        _ => Err("Bad credentials".into()),
    }
}

fn route(s: &mut StateInner, method: &Method, seg: &[String], query: &str, body: &Value) -> Answer {
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    if let Some(a) = hooks::route(s, method.as_str(), &seg, query) {
        return a;
    }
    match (method.as_str(), seg.as_slice()) {
        ("GET", ["app"]) => answer(
            200,
            json!({ "id": APP_ID, "slug": "thoth-bot", "name": "thoth-bot" }),
        ),
        ("POST", ["app", "installations", id, "access_tokens"]) => issue_token(s, id),
        ("POST", ["repos", o, r, "check-runs"]) => create_check_run(s, &format!("{o}/{r}"), body),
        ("GET", ["repos", _, _, "check-runs", id]) => match find_check_run(s, id) {
            Some(run) => answer(200, check_run_json(run)),
            None => message(404, "Not Found"),
        },
        ("PATCH", ["repos", _, _, "check-runs", id]) => update_check_run(s, id, body),
        ("POST", ["repos", o, r, "pulls", n, "reviews"]) => {
            create_review(s, &format!("{o}/{r}"), n, body)
        }
        ("GET", ["repos", o, r, "pulls", n, "reviews"]) => {
            let repo = format!("{o}/{r}");
            let list: Vec<Value> = s
                .reviews
                .iter()
                .filter(|v| v.repo == repo && n.parse::<u64>().ok() == Some(v.pr))
                .map(|v| {
                    json!({ "id": v.id, "body": v.body, "commit_id": v.commit_id,
                            "user": { "login": BOT_LOGIN, "type": "Bot" } })
                })
                .collect();
            answer(200, Value::Array(list))
        }
        ("GET", ["repos", o, r, "pulls", n]) => get_pull(s, &format!("{o}/{r}"), n),
        ("GET", ["repos", o, r, "pulls", n, "commits"]) => {
            let Some(p) = n
                .parse::<u64>()
                .ok()
                .and_then(|n| s.pulls.get(&(format!("{o}/{r}"), n)))
            else {
                return message(404, "Not Found");
            };
            let mut logins = p.pushers.clone();
            if logins.is_empty() {
                logins.push(p.author.clone());
            }
            // One commit per pusher, authored and committed by them (GitHub's web-flow commits
            // have a different committer; the bot reads both).
            let commits: Vec<Value> = logins
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    json!({ "sha": format!("{i:040x}"),
                            "author": { "login": l, "type": "User" },
                            "committer": { "login": l, "type": "User" } })
                })
                .collect();
            answer(200, Value::Array(commits))
        }
        ("GET", ["repos", o, r, "issues", n, "comments"]) => {
            list_comments(s, &format!("{o}/{r}"), n, query)
        }
        ("POST", ["repos", o, r, "issues", n, "comments"]) => {
            create_comment(s, &format!("{o}/{r}"), n, body)
        }
        ("PATCH", ["repos", o, r, "issues", "comments", id]) => {
            edit_comment(s, &format!("{o}/{r}"), id, body)
        }
        ("POST", ["repos", o, r, "issues", "comments", id, "reactions"]) => {
            react(s, &format!("{o}/{r}"), id, body)
        }
        ("GET", ["repos", o, r, "collaborators", user, "permission"]) => {
            permission(s, &format!("{o}/{r}"), user)
        }
        ("GET", ["orgs", org, "teams", team, "memberships", user]) => {
            let member = s
                .team_members
                .iter()
                .any(|(o, t, u)| o == org && t == team && u == user);
            if member {
                answer(200, json!({ "state": "active", "role": "member" }))
            } else {
                message(404, "Not Found")
            }
        }
        _ => message(404, "Not Found"),
    }
}

fn issue_token(s: &mut StateInner, installation: &str) -> Answer {
    if installation.parse::<u64>().ok() != Some(INSTALLATION_ID) {
        return message(404, "Not Found");
    }
    s.tokens_issued += 1;
    let ttl = s.token_ttl.unwrap_or(Duration::from_secs(3600));
    let token = s
        .fixed_token
        .clone()
        .unwrap_or_else(|| format!("ghs_fake{}x{}", s.tokens_issued, s.next_id));
    s.tokens
        .insert(token.clone(), (Instant::now() + ttl, false));
    let expires_at = chrono::Utc::now() + chrono::Duration::from_std(ttl).expect("ttl");
    answer(
        201,
        json!({
            "token": token,
            "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "permissions": { "checks": "write", "pull_requests": "write", "issues": "write", "contents": "read", "metadata": "read" },
            "repository_selection": "all",
        }),
    )
}

fn validation_failed(why: &str) -> Answer {
    answer(
        422,
        json!({ "message": "Validation Failed", "errors": [{ "message": why }] }),
    )
}

fn create_check_run(s: &mut StateInner, repo: &str, body: &Value) -> Answer {
    let (Some(name), Some(head_sha)) = (body["name"].as_str(), body["head_sha"].as_str()) else {
        return validation_failed("name and head_sha are required");
    };
    let id = s.new_id();
    let run = CheckRun {
        id,
        repo: repo.to_owned(),
        name: name.to_owned(),
        head_sha: head_sha.to_owned(),
        status: body["status"].as_str().unwrap_or("queued").to_owned(),
        conclusion: None,
        title: None,
        summary: None,
        annotations: Vec::new(),
        details_url: None,
    };
    let out = check_run_json(&run);
    s.check_runs.push(run);
    answer(201, out)
}

fn find_check_run<'a>(s: &'a StateInner, id: &str) -> Option<&'a CheckRun> {
    let id: u64 = id.parse().ok()?;
    s.check_runs.iter().find(|r| r.id == id)
}

fn check_run_json(run: &CheckRun) -> Value {
    json!({
        "id": run.id, "name": run.name, "head_sha": run.head_sha, "status": run.status,
        "conclusion": run.conclusion, "details_url": run.details_url,
        "output": { "title": run.title, "summary": run.summary, "annotations_count": run.annotations.len() },
    })
}

fn update_check_run(s: &mut StateInner, id: &str, body: &Value) -> Answer {
    let annotations = body["output"]["annotations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if annotations.len() > 50 {
        return validation_failed("at most 50 annotations per request");
    }
    for a in &annotations {
        let level_ok = matches!(
            a["annotation_level"].as_str(),
            Some("notice" | "warning" | "failure")
        );
        if a["path"].as_str().is_none()
            || a["start_line"].as_u64().is_none()
            || a["end_line"].as_u64().is_none()
            || a["message"].as_str().is_none()
            || !level_ok
        {
            return validation_failed("bad annotation");
        }
    }
    if let Some(c) = body["conclusion"].as_str()
        && !matches!(
            c,
            "success"
                | "failure"
                | "neutral"
                | "action_required"
                | "cancelled"
                | "skipped"
                | "timed_out"
        )
    {
        return validation_failed("bad conclusion");
    }
    if !body["output"].is_null()
        && (body["output"]["title"].as_str().is_none()
            || body["output"]["summary"].as_str().is_none())
    {
        return validation_failed("output needs title and summary");
    }
    if body["output"]["summary"]
        .as_str()
        .is_some_and(|t| t.chars().count() > 65_535)
    {
        return validation_failed("summary is too long");
    }
    let Some(id) = id.parse::<u64>().ok() else {
        return message(404, "Not Found");
    };
    let Some(run) = s.check_runs.iter_mut().find(|r| r.id == id) else {
        return message(404, "Not Found");
    };
    // As GitHub: the details of an `action_required` run live at its details URL.
    if body["conclusion"] == "action_required"
        && body["details_url"].as_str().is_none()
        && run.details_url.is_none()
    {
        return validation_failed("details_url is required when the conclusion is action_required");
    }
    if let Some(c) = body["conclusion"].as_str() {
        run.conclusion = Some(c.to_owned());
        run.status = "completed".into();
    }
    if let Some(st) = body["status"].as_str() {
        run.status = st.to_owned();
    }
    if let Some(t) = body["output"]["title"].as_str() {
        run.title = Some(t.to_owned());
    }
    if let Some(t) = body["output"]["summary"].as_str() {
        run.summary = Some(t.to_owned());
    }
    if let Some(u) = body["details_url"].as_str() {
        run.details_url = Some(u.to_owned());
    }
    run.annotations.extend(annotations);
    answer(200, check_run_json(run))
}

fn create_review(s: &mut StateInner, repo: &str, pr: &str, body: &Value) -> Answer {
    let Ok(pr) = pr.parse::<u64>() else {
        return message(404, "Not Found");
    };
    let event = body["event"].as_str().unwrap_or("");
    let text = body["body"].as_str().unwrap_or("");
    let state = match event {
        "APPROVE" => "APPROVED",
        "REQUEST_CHANGES" => "CHANGES_REQUESTED",
        "COMMENT" => "COMMENTED",
        _ => return validation_failed("event must be APPROVE, REQUEST_CHANGES or COMMENT"),
    };
    if event != "APPROVE" && text.is_empty() {
        return validation_failed("body is required for this event");
    }
    let id = s.new_id();
    s.reviews.push(Review {
        id,
        repo: repo.to_owned(),
        pr,
        commit_id: body["commit_id"].as_str().unwrap_or("").to_owned(),
        event: event.to_owned(),
        body: text.to_owned(),
        comments: body["comments"].as_array().cloned().unwrap_or_default(),
    });
    answer(
        200,
        json!({ "id": id, "state": state, "body": text, "user": { "login": BOT_LOGIN, "type": "Bot" } }),
    )
}

fn get_pull(s: &StateInner, repo: &str, n: &str) -> Answer {
    let Some((n, p)) = n
        .parse::<u64>()
        .ok()
        .and_then(|n| Some((n, s.pulls.get(&(repo.to_owned(), n))?)))
    else {
        return message(404, "Not Found");
    };
    answer(200, pull_json(p, n))
}

/// A pull request as GitHub's REST API answers it (the fields the bot reads).
fn pull_json(p: &PullSpec, n: u64) -> Value {
    json!({
        "number": n,
        "state": p.state, "merged": p.merged, "draft": p.draft,
        "user": { "login": p.author, "type": "User" },
        "labels": p.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        "head": { "sha": p.head_sha, "ref": p.head_ref },
        "base": { "sha": p.base_sha, "ref": p.base_ref },
    })
}

fn comment_json(c: &Comment) -> Value {
    let (user, via) = match &c.author {
        Author::App => (
            json!({ "login": BOT_LOGIN, "type": "Bot" }),
            json!({ "id": APP_ID, "slug": "thoth-bot" }),
        ),
        Author::OtherApp(login) => (
            json!({ "login": login, "type": "Bot" }),
            json!({ "id": 1, "slug": "other" }),
        ),
        Author::User(login) => (json!({ "login": login, "type": "User" }), Value::Null),
    };
    json!({ "id": c.id, "body": c.body, "user": user, "performed_via_github_app": via })
}

fn list_comments(s: &StateInner, repo: &str, n: &str, query: &str) -> Answer {
    let Ok(issue) = n.parse::<u64>() else {
        return message(404, "Not Found");
    };
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = param("per_page").unwrap_or(30).clamp(1, 100);
    let page = param("page").unwrap_or(1).max(1);
    let all: Vec<&Comment> = s
        .comments
        .iter()
        .filter(|c| c.repo == repo && c.issue == issue)
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|c| comment_json(c))
        .collect();
    let mut headers = Vec::new();
    if page * per_page < all.len() {
        headers.push((
            "link".to_owned(),
            format!(
                "</repos/{repo}/issues/{issue}/comments?per_page={per_page}&page={}>; rel=\"next\"",
                page + 1
            ),
        ));
    }
    Answer(200, Value::Array(items), headers)
}

fn create_comment(s: &mut StateInner, repo: &str, n: &str, body: &Value) -> Answer {
    let Ok(issue) = n.parse::<u64>() else {
        return message(404, "Not Found");
    };
    let Some(text) = body["body"].as_str().filter(|t| !t.is_empty()) else {
        return validation_failed("body is required");
    };
    let id = s.new_id();
    let comment = Comment {
        id,
        repo: repo.to_owned(),
        issue,
        body: text.to_owned(),
        author: Author::App,
    };
    let out = comment_json(&comment);
    s.comments.push(comment);
    answer(201, out)
}

fn edit_comment(s: &mut StateInner, repo: &str, id: &str, body: &Value) -> Answer {
    let Some(text) = body["body"].as_str().filter(|t| !t.is_empty()) else {
        return validation_failed("body is required");
    };
    let id = id.parse::<u64>().unwrap_or(0);
    match s.comments.iter_mut().find(|c| c.id == id && c.repo == repo) {
        Some(c) => {
            c.body = text.to_owned();
            answer(200, comment_json(c))
        }
        None => message(404, "Not Found"),
    }
}

fn react(s: &mut StateInner, repo: &str, id: &str, body: &Value) -> Answer {
    let id = id.parse::<u64>().unwrap_or(0);
    if !s.comments.iter().any(|c| c.id == id && c.repo == repo) {
        return message(404, "Not Found");
    }
    let content = body["content"].as_str().unwrap_or("");
    if !matches!(
        content,
        "+1" | "-1" | "laugh" | "confused" | "heart" | "hooray" | "rocket" | "eyes"
    ) {
        return validation_failed("bad reaction content");
    }
    let reaction = Reaction {
        repo: repo.to_owned(),
        comment_id: id,
        content: content.to_owned(),
    };
    let status = if s.reactions.contains(&reaction) {
        200
    } else {
        201
    };
    if status == 201 {
        s.reactions.push(reaction);
    }
    let rid = s.new_id();
    answer(
        status,
        json!({ "id": rid, "content": content, "user": { "login": BOT_LOGIN } }),
    )
}

fn permission(s: &StateInner, repo: &str, user: &str) -> Answer {
    let Some(role) = s.permissions.get(&(repo.to_owned(), user.to_owned())) else {
        return message(404, &format!("{user} is not a user"));
    };
    let base = match role.as_str() {
        "admin" => "admin",
        "maintain" | "write" => "write",
        "none" => "none",
        _ => "read",
    };
    answer(
        200,
        json!({ "permission": base, "role_name": role, "user": { "login": user } }),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
