//! One platform-neutral model of what the forges tell us, stored as a job's payload.
//!
//! Intake parses GitHub and Azure DevOps deliveries into these types at the edge, so the worker
//! never looks at a raw webhook payload.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CommitSha, InstallationId, Platform, PrNumber, RepoId};

/// A commit id used where the delivery does not name one (a comment event): the worker looks
/// the head up before acting.
pub const UNKNOWN_SHA: &str = "0000000000000000000000000000000000000000";

/// The pull request a job is about, as far as the delivery tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRef {
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub head_sha: CommitSha,
    /// The base commit the config is read from; `None` when the delivery does not say.
    pub base_sha: Option<CommitSha>,
    pub base_ref: Option<String>,
    pub head_ref: Option<String>,
    /// Login / unique name of the PR author.
    pub author: Option<String>,
    pub labels: Vec<String>,
    pub draft: bool,
    /// The PR's title as the delivery gave it (shown on the details page, always escaped).
    #[serde(default)]
    pub title: Option<String>,
    /// Git URL of the repository the PR targets (forks are fetched through `refs/pull/N/head`).
    pub clone_url: Option<String>,
    /// GitHub App installation that can act on the repository.
    pub installation_id: Option<InstallationId>,
    /// True when the delivery lacked PR details (check_run rerequested): fetch them first.
    pub needs_refresh: bool,
}

/// A PR comment that may carry `/thoth` commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentEvent {
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub comment_id: String,
    pub body: String,
    /// For edits: the body before, so only new commands run.
    pub previous_body: Option<String>,
    pub author: String,
    pub author_id: Option<u64>,
    /// The comment was written by a bot (possibly thoth-bot itself): ignored.
    pub author_is_bot: bool,
    pub installation_id: Option<InstallationId>,
    pub clone_url: Option<String>,
    /// For an edit: who edited (GitHub's `sender`). Commands of an edit run only when that is
    /// the comment's author, so nobody can put words in another user's mouth.
    #[serde(default)]
    pub editor: Option<String>,
    /// When the comment's text was written (the edit's time for an edit), as the forge says:
    /// an override binds to the evaluation that was on the PR then.
    #[serde(default)]
    pub written_at: Option<DateTime<Utc>>,
}

/// Which GitHub deliveries make jobs: intake parses only these, the redelivery scan asks GitHub
/// again only for these.
pub mod github {
    /// `pull_request` actions that change what is judged.
    pub const EVALUATED_ACTIONS: &[&str] = &[
        "opened",
        "synchronize",
        "reopened",
        "ready_for_review",
        "labeled",
        "unlabeled",
    ];

    /// Whether a delivery of `event` with `action` can make a job, as the delivery log names
    /// them.
    pub fn handles(event: &str, action: Option<&str>) -> bool {
        let action = action.unwrap_or_default();
        match event {
            "pull_request" => EVALUATED_ACTIONS.contains(&action),
            "check_suite" | "check_run" => action == "rerequested",
            "issue_comment" => action == "created" || action == "edited",
            _ => false,
        }
    }
}

/// What a job asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobPayload {
    /// Run the gates on the PR head and publish.
    Evaluate {
        pr: PullRequestRef,
        /// Why (for logs and the audit trail): `pull_request.opened`, `check_run.rerequested`...
        reason: String,
    },
    /// Handle `/thoth` commands in a comment.
    Command { comment: CommentEvent },
}

/// The result of parsing one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Enqueue this.
    Job(Box<JobPayload>),
    /// Nothing to do; the reason is logged.
    Ignore(String),
}

impl JobPayload {
    /// The head commit the job is about (comments do not name one: [`UNKNOWN_SHA`]).
    pub fn head_sha(&self) -> CommitSha {
        match self {
            JobPayload::Evaluate { pr, .. } => pr.head_sha.clone(),
            JobPayload::Command { .. } => UNKNOWN_SHA.parse().expect("valid constant"),
        }
    }
}
