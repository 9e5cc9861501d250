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

/// Where a pull request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullState {
    /// Open (GitHub), active (Azure DevOps): judged.
    Open,
    /// Closed without merging (GitHub), abandoned (Azure DevOps).
    Closed,
    /// Merged (GitHub), completed (Azure DevOps).
    Merged,
}

/// A pull request as its forge's API describes it now: the one shape both forges' lookups
/// return. Where a delivery and the API disagree, the API wins ([`PullRequestRef::apply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub head_sha: CommitSha,
    /// The target branch's commit, when the forge computed one.
    pub base_sha: Option<CommitSha>,
    /// Branch names without `refs/heads/`.
    pub head_ref: Option<String>,
    pub base_ref: Option<String>,
    /// Login (GitHub) or unique name (Azure DevOps) of the author.
    pub author: Option<String>,
    pub labels: Vec<String>,
    pub draft: bool,
    /// Where to clone from, when the API says (GitHub's is the delivery's repository URL).
    pub clone_url: Option<String>,
    pub state: PullState,
}

impl PullRequestRef {
    /// Takes what the API says over what the delivery said. A clone URL only the delivery
    /// named is kept (it still has to pass the forge's host check).
    pub fn apply(&mut self, api: PullRequest) {
        self.head_sha = api.head_sha;
        self.base_sha = api.base_sha;
        self.head_ref = api.head_ref;
        self.base_ref = api.base_ref;
        self.author = api.author;
        self.labels = api.labels;
        self.draft = api.draft;
        self.clone_url = api.clone_url.or(self.clone_url.take());
        self.needs_refresh = false;
    }

    /// The pull request a comment is on, as the API describes it now.
    pub fn of_comment(c: &CommentEvent, api: &PullRequest) -> Self {
        let mut pr = PullRequestRef::bare(c.platform, c.repo.clone(), c.pr, api.head_sha.clone());
        pr.clone_url = c.clone_url.clone();
        pr.installation_id = c.installation_id;
        pr.apply(api.clone());
        pr
    }

    /// A pull request known only by its head: the worker reads the rest from the API before it
    /// acts (what reconciliation finds, what tests build on).
    pub fn bare(platform: Platform, repo: RepoId, pr: PrNumber, head_sha: CommitSha) -> Self {
        PullRequestRef {
            platform,
            repo,
            pr,
            head_sha,
            base_sha: None,
            base_ref: None,
            head_ref: None,
            author: None,
            labels: Vec::new(),
            draft: false,
            title: None,
            clone_url: None,
            installation_id: None,
            needs_refresh: false,
        }
    }
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

pub mod github;

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
