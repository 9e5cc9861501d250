//! GitHub's side of the event model: which deliveries make jobs (intake parses only these, the
//! redelivery scan asks GitHub again only for these), and GitHub's pull request object, read
//! once here for intake, the forge client and reconciliation, which all receive that shape.

use serde::Deserialize;

use super::{PullRequest, PullRequestRef, PullState};
use crate::ids::{CommitSha, InstallationId, Platform, PrNumber, RepoId};

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

/// A branch end of a pull request (`head`, `base`).
#[derive(Debug, Deserialize)]
pub struct GitRef {
    pub sha: CommitSha,
    /// The branch name, without `refs/heads/`.
    #[serde(rename = "ref")]
    pub name: String,
}

/// An account, by login.
#[derive(Debug, Deserialize)]
pub struct Login {
    pub login: String,
}

#[derive(Debug, Deserialize)]
pub struct Label {
    pub name: String,
}

/// The fields of GitHub's pull request object the bot reads.
#[derive(Debug, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub head: GitRef,
    pub base: GitRef,
    pub user: Option<Login>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub title: Option<String>,
    /// `open` or `closed`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub merged: bool,
}

impl Pull {
    /// The job's view of this pull request of `repo` (`clone_url`: the repository's own).
    pub fn into_ref(
        mut self,
        repo: RepoId,
        clone_url: Option<String>,
        installation: InstallationId,
    ) -> PullRequestRef {
        let (pr, title) = (PrNumber(self.number), self.title.take());
        let api = self.into_api_view();
        let mut pull = PullRequestRef::bare(Platform::GitHub, repo, pr, api.head_sha.clone());
        pull.title = title;
        pull.clone_url = clone_url;
        pull.installation_id = Some(installation);
        pull.apply(api);
        pull
    }

    /// What the pull request API says of it now.
    pub fn into_api_view(self) -> PullRequest {
        let state = match (self.state.as_deref(), self.merged) {
            (_, true) => PullState::Merged,
            (Some("open"), _) => PullState::Open,
            _ => PullState::Closed,
        };
        PullRequest {
            head_sha: self.head.sha,
            base_sha: Some(self.base.sha),
            base_ref: Some(self.base.name),
            head_ref: Some(self.head.name),
            author: self.user.map(|u| u.login),
            labels: self.labels.into_iter().map(|l| l.name).collect(),
            draft: self.draft,
            // The delivery's repository URL is the one to clone (forks through refs/pull/N/head).
            clone_url: None,
            state,
        }
    }
}
