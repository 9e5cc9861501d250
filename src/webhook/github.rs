//! GitHub deliveries into [`crate::event`] types.

use serde::Deserialize;
use serde_json::Value;

use crate::event::{CommentEvent, JobPayload, Parsed, PullRequestRef};
use crate::ids::{InstallationId, Platform, PrNumber, RepoId};

/// Why a delivery could not be understood (answered with 400).
#[derive(Debug, thiserror::Error)]
#[error("malformed {event} payload: {message}")]
pub struct PayloadError {
    pub event: String,
    pub message: String,
}

pub use crate::event::github::handles;
use crate::event::github::{EVALUATED_ACTIONS, GitRef, Pull};

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
    clone_url: Option<String>,
}

#[derive(Deserialize)]
struct User {
    login: String,
    id: Option<u64>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: Pull,
    repository: Repository,
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct SuitePr {
    number: u64,
    head: GitRef,
    base: GitRef,
}

#[derive(Deserialize)]
struct CheckSuite {
    #[serde(default)]
    pull_requests: Vec<SuitePr>,
}

#[derive(Deserialize)]
struct CheckSuiteEvent {
    action: String,
    check_suite: CheckSuite,
    repository: Repository,
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct CheckRun {
    name: String,
    #[serde(default)]
    pull_requests: Vec<SuitePr>,
    check_suite: Option<CheckSuite>,
}

#[derive(Deserialize)]
struct CheckRunEvent {
    action: String,
    check_run: CheckRun,
    repository: Repository,
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    pull_request: Option<Value>,
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: User,
    performed_via_github_app: Option<Value>,
    #[serde(default)]
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize)]
struct CommentChanges {
    body: Option<FromValue>,
}

#[derive(Deserialize)]
struct FromValue {
    from: Option<String>,
}

#[derive(Deserialize)]
struct IssueCommentEvent {
    action: String,
    issue: Issue,
    comment: Comment,
    changes: Option<CommentChanges>,
    repository: Repository,
    installation: Option<Installation>,
    sender: Option<User>,
}

fn bad(event: &str, e: impl std::fmt::Display) -> PayloadError {
    PayloadError {
        event: event.to_string(),
        message: e.to_string(),
    }
}

fn decode<T: for<'de> Deserialize<'de>>(event: &str, body: &[u8]) -> Result<T, PayloadError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| bad(event, e))
}

/// Parses a delivery by its `X-GitHub-Event` name.
pub fn parse(event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
    match event {
        "pull_request" => pull_request(body),
        "check_suite" => check_suite(body),
        "check_run" => check_run(body),
        "issue_comment" => issue_comment(body),
        "ping" => Ok(Parsed::Ignore("ping".into())),
        "installation" | "installation_repositories" => {
            let v: Value = decode(event, body)?;
            Ok(Parsed::Ignore(format!(
                "{event}.{} for installation {}",
                v["action"].as_str().unwrap_or("?"),
                v["installation"]["id"]
            )))
        }
        other => Ok(Parsed::Ignore(format!("event `{other}` is not handled"))),
    }
}

fn repo_id(event: &str, r: &Repository) -> Result<RepoId, PayloadError> {
    r.full_name.parse().map_err(|e| bad(event, e))
}

fn pull_request(body: &[u8]) -> Result<Parsed, PayloadError> {
    let e: PullRequestEvent = decode("pull_request", body)?;
    if !EVALUATED_ACTIONS.contains(&e.action.as_str()) {
        return Ok(Parsed::Ignore(format!(
            "pull_request.{} is not evaluated",
            e.action
        )));
    }
    let Some(installation) = e.installation else {
        return Ok(Parsed::Ignore(
            "pull_request without an installation".into(),
        ));
    };
    let repo = repo_id("pull_request", &e.repository)?;
    Ok(Parsed::Job(Box::new(JobPayload::Evaluate {
        pr: e.pull_request.into_ref(
            repo,
            e.repository.clone_url,
            InstallationId(installation.id),
        ),
        reason: format!("pull_request.{}", e.action),
    })))
}

/// A re-run request: one evaluate job per PR of the suite (the first; GitHub lists the PRs
/// whose head is this commit). PR details are fetched by the worker.
fn rerun(
    event: &str,
    prs: Vec<SuitePr>,
    repository: Repository,
    installation: Option<Installation>,
) -> Result<Parsed, PayloadError> {
    let Some(installation) = installation else {
        return Ok(Parsed::Ignore(format!("{event} without an installation")));
    };
    let Some(pr) = prs.into_iter().next() else {
        return Ok(Parsed::Ignore(format!(
            "{event} for a commit without a pull request"
        )));
    };
    Ok(Parsed::Job(Box::new(JobPayload::Evaluate {
        pr: PullRequestRef {
            platform: Platform::GitHub,
            repo: repo_id(event, &repository)?,
            pr: PrNumber(pr.number),
            head_sha: pr.head.sha,
            base_sha: Some(pr.base.sha),
            base_ref: Some(pr.base.name),
            head_ref: Some(pr.head.name),
            author: None,
            labels: Vec::new(),
            draft: false,
            title: None,
            clone_url: repository.clone_url,
            installation_id: Some(InstallationId(installation.id)),
            needs_refresh: true,
        },
        reason: event.to_string(),
    })))
}

fn check_suite(body: &[u8]) -> Result<Parsed, PayloadError> {
    let e: CheckSuiteEvent = decode("check_suite", body)?;
    if e.action != "rerequested" {
        return Ok(Parsed::Ignore(format!(
            "check_suite.{} is not handled",
            e.action
        )));
    }
    rerun(
        "check_suite.rerequested",
        e.check_suite.pull_requests,
        e.repository,
        e.installation,
    )
}

fn check_run(body: &[u8]) -> Result<Parsed, PayloadError> {
    let e: CheckRunEvent = decode("check_run", body)?;
    if e.action != "rerequested" {
        return Ok(Parsed::Ignore(format!(
            "check_run.{} is not handled",
            e.action
        )));
    }
    if e.check_run.name != crate::forge::github::client::CHECK_NAME {
        return Ok(Parsed::Ignore(format!(
            "check_run.rerequested for another check ({})",
            e.check_run.name
        )));
    }
    let mut prs = e.check_run.pull_requests;
    if prs.is_empty() {
        prs = e
            .check_run
            .check_suite
            .map(|s| s.pull_requests)
            .unwrap_or_default();
    }
    rerun("check_run.rerequested", prs, e.repository, e.installation)
}

fn issue_comment(body: &[u8]) -> Result<Parsed, PayloadError> {
    let e: IssueCommentEvent = decode("issue_comment", body)?;
    if e.action != "created" && e.action != "edited" {
        return Ok(Parsed::Ignore(format!(
            "issue_comment.{} is not handled",
            e.action
        )));
    }
    if e.issue.pull_request.is_none() {
        return Ok(Parsed::Ignore(
            "comment on an issue, not a pull request".into(),
        ));
    }
    let Some(installation) = e.installation else {
        return Ok(Parsed::Ignore(
            "issue_comment without an installation".into(),
        ));
    };
    let author_is_bot = e.comment.user.kind.as_deref() == Some("Bot")
        || e.comment.user.login.ends_with("[bot]")
        || e.comment
            .performed_via_github_app
            .as_ref()
            .is_some_and(|v| !v.is_null());
    let edited = e.action == "edited";
    // An edit's commands were written when it was edited.
    let written_at = if edited {
        e.comment.updated_at.or(e.comment.created_at)
    } else {
        e.comment.created_at
    };
    // An edit without a sender is treated as someone else's: its commands do not run.
    let editor = edited.then(|| e.sender.map(|s| s.login).unwrap_or_default());
    Ok(Parsed::Job(Box::new(JobPayload::Command {
        comment: CommentEvent {
            platform: Platform::GitHub,
            repo: repo_id("issue_comment", &e.repository)?,
            pr: PrNumber(e.issue.number),
            comment_id: e.comment.id.to_string(),
            body: e.comment.body.unwrap_or_default(),
            previous_body: e.changes.and_then(|c| c.body).and_then(|b| b.from),
            author: e.comment.user.login,
            author_id: e.comment.user.id,
            author_is_bot,
            installation_id: Some(InstallationId(installation.id)),
            clone_url: e.repository.clone_url,
            editor,
            written_at,
        },
    })))
}
