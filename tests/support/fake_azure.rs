//! A fake Azure DevOps REST API (the pull-request endpoints thoth-bot uses), served over real
//! HTTP on `127.0.0.1:0` so the client's real request code is tested. It keeps statuses, votes,
//! threads and iterations in memory, records every call in order, wants HTTP Basic with the PAT
//! it was started with (any user name, as Azure DevOps) and an `api-version` of 7.1 (released,
//! `7.1-preview` or `7.1-preview.N`, as `azure_devops_rust_api` sends), and lets a test script
//! failures with [`FakeAzure::fail_next`]. Answers have the shapes of the real API: the crate
//! deserialises them into its models, which require what the service always sends.

// Each test binary uses a different part of the fake.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The identity id the PAT belongs to (what `connectionData` answers).
pub const BOT_ID: &str = "0d1f6c9e-7a53-4b0e-9d3a-2f1c3b5e7a90";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Percent-decoded path, without the query.
    pub path: String,
    pub query: String,
    pub status: u16,
    pub body: Value,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct Status {
    /// `project/repository` as named in the path.
    pub repo: String,
    pub pr: u64,
    pub state: String,
    pub genre: String,
    pub name: String,
    pub iteration_id: Option<u64>,
    pub target_url: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Thread {
    pub id: u64,
    pub repo: String,
    pub pr: u64,
    pub status: String,
    /// `(filePath, line)` of the thread context, if anchored.
    pub anchor: Option<(String, u64)>,
    /// Comment bodies, first comment first.
    pub comments: Vec<String>,
    /// `parentCommentId` of each comment (0 for the first).
    pub parents: Vec<u64>,
    /// The first comment is a participant's ([`FakeAzure::add_user_thread`]); the others are
    /// the bot's (the PAT's identity, [`BOT_ID`]).
    pub first_by_user: bool,
    /// The unique name of the participant who wrote the first comment.
    pub first_author: String,
    /// When the first comment's text was last written (RFC 3339).
    pub first_written: String,
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Who wrote a participant's thread when the test does not say.
pub const PARTICIPANT: &str = "participant@example.com";

/// The identity id of a user in the fake: the same in comments and in the identity API.
pub fn user_id(unique_name: &str) -> String {
    // FNV-1a: stable across runs, distinct enough for a handful of test users.
    let hash = unique_name
        .to_ascii_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    format!("5a7c0e11-0000-4000-8000-{:012x}", hash & 0xffff_ffff_ffff)
}

struct Failure {
    method: Method,
    path_contains: String,
    status: u16,
    headers: Vec<(String, String)>,
}

#[derive(Default)]
struct Inner {
    token: String,
    next_id: u64,
    calls: Vec<Call>,
    failures: VecDeque<Failure>,
    statuses: Vec<Status>,
    /// (repo, pr, reviewer) -> vote
    votes: HashMap<(String, u64, String), i64>,
    threads: Vec<Thread>,
    /// (repo, pr) -> source commit of each iteration, in order (ids 1..)
    iterations: HashMap<(String, u64), Vec<String>>,
    /// (repo, pr) -> what `GET .../pullRequests/{id}` answers.
    pulls: HashMap<(String, u64), Value>,
    /// (repo, pr) -> author e-mail of each commit `GET .../pullRequests/{id}/commits` lists.
    commits: HashMap<(String, u64), Vec<String>>,
    /// user unique name (lowercase) -> (descriptor, display name) of each group it is in.
    groups: HashMap<String, Vec<(String, String)>>,
    /// Users (lowercase) the identity search finds twice (two accounts with that name).
    duplicated: Vec<String>,
    /// user (lowercase) -> the id the identity search answers instead of [`user_id`].
    identity_ids: HashMap<String, String>,
}

type Shared = Arc<Mutex<Inner>>;

/// The running fake. Stops when dropped.
pub struct FakeAzure {
    url: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeAzure {
    /// Starts the fake; requests must carry `token` as the Basic password.
    pub async fn start(token: &str) -> FakeAzure {
        let state: Shared = Arc::new(Mutex::new(Inner {
            token: token.to_owned(),
            next_id: 100,
            ..Inner::default()
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (addr, server) = super::http::serve(app, "Azure DevOps").await;
        let url = format!("http://{addr}/org");
        FakeAzure { url, state, server }
    }

    /// The organization URL (`http://127.0.0.1:PORT/org`).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Every non-GET call.
    pub fn writes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET")
            .collect()
    }

    /// Adds an iteration (a push) to a pull request; `repo` is `project/repository`.
    pub fn push_iteration(&self, repo: &str, pr: u64, source_commit: &str) {
        self.lock()
            .iterations
            .entry((repo.to_owned(), pr))
            .or_default()
            .push(source_commit.to_owned());
    }

    /// The next request with this method whose path contains `path_contains` gets `status`
    /// and `headers` instead of its answer, without being applied.
    pub fn fail_next(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        headers: &[(&str, &str)],
    ) {
        self.lock().failures.push_back(Failure {
            method: method.parse().expect("HTTP method"),
            path_contains: path_contains.to_owned(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    }

    /// Makes `user` a member of the group shown as `group` (`[Project]\Group`) in the identity
    /// API.
    pub fn add_group_member(&self, user: &str, group: &str) {
        let mut s = self.lock();
        let descriptor = format!("Microsoft.TeamFoundation.Identity;S-1-9-{}", s.next_id);
        s.next_id += 1;
        s.groups
            .entry(user.to_ascii_lowercase())
            .or_default()
            .push((descriptor, group.to_owned()));
    }

    /// Makes the identity search find two identities with `user`'s account name.
    pub fn duplicate_identity(&self, user: &str) {
        self.lock().duplicated.push(user.to_ascii_lowercase());
    }

    /// Makes the identity search answer `id` for `user` (an identity that is someone else).
    pub fn set_identity_id(&self, user: &str, id: &str) {
        self.lock()
            .identity_ids
            .insert(user.to_ascii_lowercase(), id.to_owned());
    }

    /// Replaces the text of comment `comment` (from 1) of a thread, as an edit on the server.
    pub fn edit_comment(&self, thread: u64, comment: usize, content: &str) {
        let mut s = self.lock();
        if let Some(slot) = s.threads.iter_mut().find(|t| t.id == thread) {
            if let Some(slot) = slot.comments.get_mut(comment.wrapping_sub(1)) {
                *slot = content.to_owned();
            }
            slot.first_written = now_rfc3339();
        }
    }

    /// Adds a commit by `email` (author; the committer is a build agent) to the PR's commit list.
    pub fn add_pull_commit(&self, repo: &str, pr: u64, email: &str) {
        self.lock()
            .commits
            .entry((repo.to_string(), pr))
            .or_default()
            .push(email.to_string());
    }

    /// Sets what `GET .../pullRequests/{pr}` answers (a `GitPullRequest` JSON). A service-hook
    /// `resource` lacks fields the REST answer always has (`isDraft`, the project's
    /// `visibility`); they are filled in as the API has them.
    pub fn set_pull(&self, repo: &str, pr: u64, mut pull: Value) {
        if pull["isDraft"].is_null() {
            pull["isDraft"] = json!(false);
        }
        if pull["repository"]["project"]["visibility"].is_null() {
            pull["repository"]["project"]["visibility"] = json!("private");
        }
        self.lock().pulls.insert((repo.to_owned(), pr), pull);
    }

    /// Adds a user's thread (as the comment a command came in); returns its id.
    pub fn add_user_thread(&self, repo: &str, pr: u64, content: &str) -> u64 {
        self.add_user_thread_by(repo, pr, PARTICIPANT, content)
    }

    /// Adds `author`'s thread; returns its id.
    pub fn add_user_thread_by(&self, repo: &str, pr: u64, author: &str, content: &str) -> u64 {
        let mut s = self.lock();
        s.next_id += 1;
        let id = s.next_id;
        s.threads.push(Thread {
            id,
            repo: repo.to_owned(),
            pr,
            status: "active".to_owned(),
            anchor: None,
            comments: vec![content.to_owned()],
            parents: vec![0],
            first_by_user: true,
            first_author: author.to_owned(),
            first_written: now_rfc3339(),
        });
        id
    }

    /// Seeds a `thoth/policy` status in `state` on an iteration, as an earlier evaluation left it.
    pub fn add_status(&self, repo: &str, pr: u64, iteration: u64, state: &str) {
        self.lock().statuses.push(Status {
            repo: repo.to_owned(),
            pr,
            state: state.to_owned(),
            genre: "thoth".to_owned(),
            name: "policy".to_owned(),
            iteration_id: Some(iteration),
            target_url: None,
            description: "seeded".to_owned(),
        });
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.lock().statuses.clone()
    }

    pub fn threads(&self) -> Vec<Thread> {
        self.lock().threads.clone()
    }

    /// The bot's current vote on a pull request.
    pub fn vote(&self, repo: &str, pr: u64) -> Option<i64> {
        self.lock()
            .votes
            .get(&(repo.to_owned(), pr, BOT_ID.to_owned()))
            .copied()
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(b)) = (bytes[i], hex) {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `api-version=7.1`, `7.1-preview` or `7.1-preview.N`: what Azure DevOps serves 7.1 under.
fn api_version_7_1(kv: &str) -> bool {
    let Some(v) = kv.strip_prefix("api-version=") else {
        return false;
    };
    let v = percent_decode(v);
    v == "7.1"
        || v.strip_prefix("7.1-preview").is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix('.')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn basic_password(auth: &str) -> Option<String> {
    use base64::Engine as _;
    let encoded = auth.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = percent_decode(uri.path());
    let query = uri.query().unwrap_or("").to_owned();
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let (status, out, extra) = if basic_password(auth).as_deref() != Some(s.token.as_str()) {
        (
            401,
            json!({ "message": "TF400813: not authorized" }),
            Vec::new(),
        )
    } else if !query.split('&').any(api_version_7_1) {
        (
            400,
            json!({ "message": "api-version=7.1 expected" }),
            Vec::new(),
        )
    } else {
        let failure_at = s
            .failures
            .iter()
            .position(|f| f.method == method && path.contains(&f.path_contains));
        match failure_at.and_then(|i| s.failures.remove(i)) {
            Some(f) => (f.status, json!({ "message": "injected" }), f.headers),
            None => {
                let (st, v) = route(&mut s, &method, &path, &query, &json_body);
                (st, v, Vec::new())
            }
        }
    };
    s.calls.push(Call {
        method: method.to_string(),
        path,
        query,
        status,
        body: json_body,
        at: Instant::now(),
    });
    drop(s);
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

fn identities(s: &Inner, query: &str) -> (u16, Value) {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(percent_decode)
    };
    if let Some(user) = param("filterValue") {
        let lower = user.to_ascii_lowercase();
        let Some(groups) = s.groups.get(&lower) else {
            return (200, json!({ "count": 0, "value": [] }));
        };
        let member_of: Vec<&String> = groups.iter().map(|(d, _)| d).collect();
        let id = s
            .identity_ids
            .get(&lower)
            .cloned()
            .unwrap_or_else(|| user_id(&user));
        let identity = |id: &str| {
            json!({
                "id": id,
                "descriptor": format!("Microsoft.IdentityModel.Claims.ClaimsIdentity;{user}"),
                "providerDisplayName": "Some User",
                "isActive": true,
                "properties": { "Account": { "$type": "System.String", "$value": user } },
                "memberOf": member_of,
            })
        };
        let mut value = vec![identity(&id)];
        if s.duplicated.contains(&lower) {
            value.push(identity(&user_id(&format!("{user}#2"))));
        }
        return (200, json!({ "count": value.len(), "value": value }));
    }
    if let Some(list) = param("descriptors") {
        let value: Vec<Value> =
            list.split(',')
                .filter_map(|d| {
                    s.groups.values().flatten().find(|(desc, _)| desc == d).map(
                        |(desc, name)| json!({ "descriptor": desc, "providerDisplayName": name }),
                    )
                })
                .collect();
        return (200, json!({ "count": value.len(), "value": value }));
    }
    (
        400,
        json!({ "message": "filterValue or descriptors expected" }),
    )
}

/// The identity id of comment `i` (from 0) of a thread.
fn author_id(t: &Thread, i: usize) -> String {
    if i == 0 && t.first_by_user {
        user_id(&t.first_author)
    } else {
        BOT_ID.to_owned()
    }
}

/// A `Comment` as `GET .../threads/{t}/comments/{c}` answers it (the documented shape).
fn comment_json(t: &Thread, i: usize) -> Value {
    let (name, unique) = if i == 0 && t.first_by_user {
        (t.first_author.clone(), t.first_author.clone())
    } else {
        ("thoth-bot".to_owned(), "thoth-bot@example.com".to_owned())
    };
    let id = author_id(t, i);
    let now = &t.first_written;
    json!({
        "id": i + 1,
        "parentCommentId": t.parents.get(i).copied().unwrap_or(0),
        "author": {
            "displayName": name,
            "url": format!("https://vssps.example/_apis/Identities/{id}"),
            "id": id,
            "uniqueName": unique,
            "imageUrl": format!("https://example/_api/_common/identityImage?id={id}"),
        },
        "content": t.comments[i],
        "publishedDate": now,
        "lastUpdatedDate": now,
        "lastContentUpdatedDate": now,
        "commentType": "text",
        "usersLiked": [],
    })
}

/// `$top` / `$skip` of a list request.
fn page_of(query: &str) -> (usize, usize) {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| percent_decode(k) == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    (param("$top").unwrap_or(100), param("$skip").unwrap_or(0))
}

/// The organization-wide lists reconciliation walks: `GET _apis/projects` (the projects that
/// have pull requests here) and `GET {project}/_apis/git/pullrequests?searchCriteria.status=`
/// (`GitPullRequest`s with their repository and project), paged with `$top` / `$skip`.
fn lists(s: &Inner, method: &Method, seg: &[&str], query: &str) -> Option<(u16, Value)> {
    if method != Method::GET {
        return None;
    }
    let (top, skip) = page_of(query);
    let page = |all: Vec<Value>| {
        let value: Vec<Value> = all.into_iter().skip(skip).take(top).collect();
        (200, json!({ "count": value.len(), "value": value }))
    };
    match seg {
        [_, "_apis", "projects"] => {
            let mut names: Vec<&str> = s
                .pulls
                .keys()
                .filter_map(|(repo, _)| repo.split_once('/').map(|(p, _)| p))
                .collect();
            names.sort();
            names.dedup();
            Some(page(
                names
                    .iter()
                    .map(|n| {
                        json!({ "id": user_id(n), "name": n, "state": "wellFormed",
                                "visibility": "private", "revision": 7,
                                "url": format!("https://dev.azure.com/org/_apis/projects/{}", user_id(n)) })
                    })
                    .collect(),
            ))
        }
        [_, project, "_apis", "git", list] if list.eq_ignore_ascii_case("pullrequests") => {
            let wanted = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("searchCriteria.status="))
                .unwrap_or("active");
            let mut keys: Vec<&(String, u64)> = s
                .pulls
                .keys()
                .filter(|(repo, _)| repo.split_once('/').is_some_and(|(p, _)| p == *project))
                .collect();
            keys.sort();
            let all = keys
                .into_iter()
                .filter_map(|k| {
                    let v = &s.pulls[k];
                    (v["status"].as_str().unwrap_or("active") == wanted).then(|| v.clone())
                })
                .collect();
            Some(page(all))
        }
        _ => None,
    }
}

fn not_found() -> (u16, Value) {
    (404, json!({ "message": "not found" }))
}

fn route(s: &mut Inner, method: &Method, path: &str, query: &str, body: &Value) -> (u16, Value) {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    // ["org", "_apis", "identities"]: the identity API, by unique name or by descriptors.
    if seg.len() == 3 && seg[1] == "_apis" && seg[2] == "identities" && method == Method::GET {
        return identities(s, query);
    }
    // ["org", "_apis", "connectionData"]
    if seg.len() == 3 && seg[1] == "_apis" && seg[2] == "connectionData" {
        return (200, json!({ "authenticatedUser": { "id": BOT_ID } }));
    }
    if let Some(answer) = lists(s, method, &seg, query) {
        return answer;
    }
    // ["org", PROJECT, "_apis", "git", "repositories", REPO, "pullRequests", PR, ...rest]
    // Route names are case-insensitive, as on Azure DevOps (the documented paths and the crate
    // write both `pullRequests` and `pullrequests`).
    if seg.len() < 8
        || seg[2] != "_apis"
        || seg[4] != "repositories"
        || !seg[6].eq_ignore_ascii_case("pullRequests")
    {
        return not_found();
    }
    let repo = format!("{}/{}", seg[1], seg[5]);
    let Ok(pr) = seg[7].parse::<u64>() else {
        return not_found();
    };
    let rest = &seg[8..];
    match (method.as_str(), rest) {
        ("GET", []) => match s.pulls.get(&(repo, pr)) {
            Some(v) => (200, v.clone()),
            None => not_found(),
        },
        ("GET", [threads, t, comments, c]) if *threads == "threads" && *comments == "comments" => {
            let thread = s
                .threads
                .iter()
                .find(|x| x.repo == repo && x.pr == pr && t.parse() == Ok(x.id));
            let i = c.parse::<usize>().ok().and_then(|c| c.checked_sub(1));
            match (thread, i) {
                (Some(th), Some(i)) if i < th.comments.len() => (200, comment_json(th, i)),
                _ => not_found(),
            }
        }
        ("POST", [threads, t, comments]) if *threads == "threads" && *comments == "comments" => {
            let Some(thread) = s
                .threads
                .iter_mut()
                .find(|x| x.repo == repo && x.pr == pr && t.parse() == Ok(x.id))
            else {
                return not_found();
            };
            thread
                .comments
                .push(body["content"].as_str().unwrap_or("").to_owned());
            thread
                .parents
                .push(body["parentCommentId"].as_u64().unwrap_or(0));
            let id = thread.comments.len();
            (
                200,
                json!({ "id": id, "parentCommentId": body["parentCommentId"] }),
            )
        }
        ("GET", ["commits"]) => {
            // `GitCommitRef` as the API documents it.
            let list = s.commits.get(&(repo, pr)).cloned().unwrap_or_default();
            let value: Vec<Value> = list
                .iter()
                .enumerate()
                .map(|(i, email)| {
                    json!({
                        "commitId": format!("{:040x}", i + 1),
                        "author": { "name": "Someone", "email": email, "date": "2026-11-30T10:00:00Z" },
                        "committer": { "name": "Build", "email": "build@agent.local", "date": "2026-11-30T10:00:00Z" },
                        "comment": "change",
                    })
                })
                .collect();
            (200, json!({ "count": value.len(), "value": value }))
        }
        ("GET", ["iterations"]) => {
            let list = s.iterations.get(&(repo, pr)).cloned().unwrap_or_default();
            let value: Vec<Value> = list
                .iter()
                .enumerate()
                .map(|(i, c)| json!({ "id": i + 1, "sourceRefCommit": { "commitId": c } }))
                .collect();
            (200, json!({ "count": value.len(), "value": value }))
        }
        ("GET", ["statuses"]) => {
            // `GitPullRequestStatus` as the API documents it.
            let value: Vec<Value> = s
                .statuses
                .iter()
                .enumerate()
                .filter(|(_, st)| st.repo == repo && st.pr == pr)
                .map(|(i, st)| {
                    json!({ "id": i + 1, "state": st.state, "description": st.description,
                            "context": { "genre": st.genre, "name": st.name },
                            "iterationId": st.iteration_id, "targetUrl": st.target_url })
                })
                .collect();
            (200, json!({ "count": value.len(), "value": value }))
        }
        ("POST", ["statuses"]) => {
            let status = Status {
                repo,
                pr,
                state: body["state"].as_str().unwrap_or("").to_owned(),
                genre: body["context"]["genre"].as_str().unwrap_or("").to_owned(),
                name: body["context"]["name"].as_str().unwrap_or("").to_owned(),
                iteration_id: body["iterationId"].as_u64(),
                target_url: body["targetUrl"].as_str().map(str::to_owned),
                description: body["description"].as_str().unwrap_or("").to_owned(),
            };
            s.statuses.push(status);
            let id = s.statuses.len();
            (201, json!({ "id": id, "state": body["state"] }))
        }
        ("PUT", ["reviewers", reviewer]) => {
            let vote = body["vote"].as_i64().unwrap_or(0);
            s.votes.insert((repo, pr, reviewer.to_string()), vote);
            (200, json!({ "id": reviewer, "vote": vote }))
        }
        ("GET", ["threads"]) => {
            let value: Vec<Value> = s
                .threads
                .iter()
                .filter(|t| t.repo == repo && t.pr == pr)
                .map(|t| {
                    let comments: Vec<Value> = t
                        .comments
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            json!({ "id": i + 1, "content": c, "author": { "id": author_id(t, i) } })
                        })
                        .collect();
                    json!({ "id": t.id, "status": t.status, "comments": comments })
                })
                .collect();
            (200, json!({ "count": value.len(), "value": value }))
        }
        ("POST", ["threads"]) => {
            s.next_id += 1;
            let id = s.next_id;
            let anchor = body["threadContext"]["filePath"].as_str().map(|f| {
                (
                    f.to_owned(),
                    body["threadContext"]["rightFileStart"]["line"]
                        .as_u64()
                        .unwrap_or(0),
                )
            });
            let comments: Vec<String> = body["comments"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| c["content"].as_str().unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let parents = vec![0; comments.len()];
            s.threads.push(Thread {
                id,
                repo,
                pr,
                status: body["status"].as_str().unwrap_or("active").to_owned(),
                anchor,
                comments,
                parents,
                first_by_user: false,
                first_author: String::new(),
                first_written: now_rfc3339(),
            });
            (200, json!({ "id": id }))
        }
        ("PATCH", [threads, t]) if *threads == "threads" => {
            let Some(thread) = s
                .threads
                .iter_mut()
                .find(|x| x.repo == repo && x.pr == pr && t.parse() == Ok(x.id))
            else {
                return not_found();
            };
            if let Some(st) = body["status"].as_str() {
                thread.status = st.to_owned();
            }
            (200, json!({ "id": thread.id, "status": thread.status }))
        }
        ("PATCH", [threads, t, comments, c])
            if *threads == "threads" && *comments == "comments" =>
        {
            let Some(thread) = s
                .threads
                .iter_mut()
                .find(|x| x.repo == repo && x.pr == pr && t.parse() == Ok(x.id))
            else {
                return not_found();
            };
            let Some(slot) = c
                .parse::<usize>()
                .ok()
                .and_then(|i| thread.comments.get_mut(i.wrapping_sub(1)))
            else {
                return not_found();
            };
            *slot = body["content"].as_str().unwrap_or("").to_owned();
            let id = c.parse::<u64>().unwrap_or(0);
            (
                200,
                json!({ "id": id, "content": slot, "commentType": "text" }),
            )
        }
        _ => not_found(),
    }
}
