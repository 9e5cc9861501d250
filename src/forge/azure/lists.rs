//! The organization-wide reads of reconciliation (`crate::recovery::azure`), through the crate:
//! project names (`core`), a project's active pull requests, a pull request's iterations and its
//! `thoth/policy` statuses (`git`). Lists are paged with `$top` / `$skip`; the caller walks the
//! pages within its request budget.

use std::future::IntoFuture as _;

use azure_devops_rust_api::git::models::{GitPullRequestIteration, PullRequestStatus, git_status};

use super::client::{AzureClient, PrAt, id32, segment};
use crate::forge::ForgeError;
use crate::forge::retry::Idempotency;
use crate::ids::{PrNumber, RepoId};

/// An active pull request as reconciliation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePull {
    /// The repository's name (in the project listed).
    pub repo: String,
    pub id: u64,
    /// The source commit of its latest merge, if it has one yet.
    pub head: Option<String>,
}

/// A status posted on a pull request (only what reconciliation compares).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrStatus {
    pub genre: Option<String>,
    pub name: Option<String>,
    pub iteration: Option<u64>,
    /// Anything but `pending` is a final state.
    pub pending: bool,
}

impl PrStatus {
    /// Whether it is a final `thoth/policy` status of `iteration` (a `pending` one is an
    /// evaluation that never finished).
    pub fn is_final_thoth(&self, iteration: u64) -> bool {
        self.genre.as_deref() == Some("thoth")
            && self.name.as_deref() == Some("policy")
            && self.iteration == Some(iteration)
            && !self.pending
    }
}

fn page(top: usize, skip: usize) -> Result<(i32, i32), ForgeError> {
    Ok((id32(top as u64)?, id32(skip as u64)?))
}

impl AzureClient {
    /// One page of the organization's project names.
    pub async fn project_names(&self, top: usize, skip: usize) -> Result<Vec<String>, ForgeError> {
        let (top, skip) = page(top, skip)?;
        let what = format!("GET /_apis/projects ($skip={skip})");
        let projects = self.core.projects_client();
        let list = self
            .run(&what, Idempotency::Safe, || {
                projects.list(&self.org).top(top).skip(skip).into_future()
            })
            .await?;
        Ok(list.value.into_iter().map(|p| p.name).collect())
    }

    /// One page of a project's active pull requests.
    pub async fn active_pulls(
        &self,
        project: &str,
        top: usize,
        skip: usize,
    ) -> Result<Vec<ActivePull>, ForgeError> {
        let (top, skip) = page(top, skip)?;
        let what = format!("GET /{project}/_apis/git/pullrequests ($skip={skip})");
        let pulls = self.git.pull_requests_client();
        let project = segment(project);
        let list = self
            .run(&what, Idempotency::Safe, || {
                pulls
                    .get_pull_requests_by_project(&self.org, &project)
                    .search_criteria_status(PullRequestStatus::Active)
                    .top(top)
                    .skip(skip)
                    .into_future()
            })
            .await?;
        Ok(list
            .value
            .into_iter()
            .filter_map(|p| {
                Some(ActivePull {
                    repo: p.repository.name,
                    id: u64::try_from(p.pull_request_id).ok()?,
                    head: p.last_merge_source_commit.and_then(|c| c.commit_id),
                })
            })
            .collect())
    }

    /// The pull request's iterations, oldest first.
    pub(super) async fn iterations(
        &self,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Vec<GitPullRequestIteration>, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let what = format!("GET {}/iterations", at.path);
        let iterations = self.git.pull_request_iterations_client();
        let list = self
            .run(&what, Idempotency::Safe, || {
                iterations
                    .list(&self.org, &at.repo, at.pr, &at.project)
                    .into_future()
            })
            .await?;
        Ok(list.value)
    }

    /// The ids of the pull request's iterations.
    pub async fn iteration_ids(&self, repo: &RepoId, pr: PrNumber) -> Result<Vec<u64>, ForgeError> {
        Ok(self
            .iterations(repo, pr)
            .await?
            .iter()
            .filter_map(|it| u64::try_from(it.id?).ok())
            .collect())
    }

    /// Every status posted on the pull request.
    pub async fn statuses(&self, repo: &RepoId, pr: PrNumber) -> Result<Vec<PrStatus>, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let what = format!("GET {}/statuses", at.path);
        let statuses = self.git.pull_request_statuses_client();
        let list = self
            .run(&what, Idempotency::Safe, || {
                statuses
                    .list(&self.org, &at.repo, at.pr, &at.project)
                    .into_future()
            })
            .await?;
        Ok(list
            .value
            .into_iter()
            .map(|s| {
                let context = s.git_status.context.unwrap_or_default();
                PrStatus {
                    genre: context.genre,
                    name: context.name,
                    iteration: s.iteration_id.and_then(|i| u64::try_from(i).ok()),
                    pending: matches!(s.git_status.state, Some(git_status::State::Pending)),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_final_thoth_status_on_the_iteration_counts() {
        let status = |genre: &str, pending: bool, iteration: u64| PrStatus {
            genre: Some(genre.into()),
            name: Some("policy".into()),
            iteration: Some(iteration),
            pending,
        };
        assert!(status("thoth", false, 3).is_final_thoth(3));
        assert!(!status("thoth", true, 3).is_final_thoth(3));
        assert!(!status("thoth", false, 2).is_final_thoth(3));
        assert!(!status("other", false, 3).is_final_thoth(3));
    }
}
