//! Azure DevOps reconciliation: walks the active pull requests of every project of the
//! configured organization (`git/pullrequests?searchCriteria.status=active`) and enqueues an
//! evaluation (reason `reconcile`) for each one whose latest iteration has no final
//! `thoth/policy` status and that has no queued or running job. Azure DevOps retries a failing
//! service hook only for a while before it puts the subscription on probation; this is what
//! catches the rest.
//!
//! Bounded per run by [`MAX_REQUESTS`] API reads (rate limits are waited out by the client);
//! the next run resumes at the project and pull request where the walk stopped.

use tracing::warn;

use super::{Lease, Report, active_heads};
use crate::event::PullRequestRef;
use crate::forge::ForgeError;
use crate::forge::azure::AzureClient;
use crate::ids::{CommitSha, Platform, PrNumber, RepoId};

/// API reads per run (list pages, iterations and statuses together).
pub const MAX_REQUESTS: usize = 1000;

/// Items per page, and pages of one list read at most.
const PAGE: usize = 100;
const MAX_LIST_PAGES: usize = 50;

/// One run, under `lease`, from where the last one stopped; `wake` is intake's.
pub async fn scan(
    client: &AzureClient,
    lease: &Lease,
    wake: &tokio::sync::Notify,
) -> anyhow::Result<Report> {
    let org = crate::forge::azure::org_name(&client.config().org_url);
    let cursor = lease.cursor().await?;
    let mut walk = Walk { client, used: 0 };
    let mut report = Report::default();
    lease.renew().await?;
    let active = active_heads(lease.store()).await?;
    let mut projects: Vec<String> = walk
        .list(|top, skip| client.project_names(top, skip))
        .await?;
    projects.sort();
    'walk: for project in projects {
        lease.renew().await?;
        let mut pulls: Vec<(String, u64, String)> = walk
            .list(|top, skip| client.active_pulls(&project, top, skip))
            .await?
            .into_iter()
            .filter_map(|p| Some((p.repo, p.id, p.head?)))
            .collect();
        pulls.sort();
        for (repo_name, number, head) in pulls {
            let key = format!("{project}/{repo_name}/{number:020}");
            if key < cursor.position {
                continue;
            }
            if walk.used + 2 > MAX_REQUESTS {
                report.stopped_at = Some(key);
                break 'walk;
            }
            let (Ok(repo), Ok(head)) = (
                format!("{org}/{project}/{repo_name}").parse::<RepoId>(),
                head.parse::<CommitSha>(),
            ) else {
                continue;
            };
            report.pulls += 1;
            let pr = PrNumber(number);
            if active.contains(&(Platform::AzureDevOps, repo.clone(), pr, head.clone())) {
                continue;
            }
            if evaluated(&mut walk, &repo, pr).await? {
                continue;
            }
            // The worker reads the rest from the API before it acts.
            let job = PullRequestRef::bare(Platform::AzureDevOps, repo, pr, head);
            if super::enqueue(lease.store(), wake, job).await? {
                report.enqueued += 1;
            }
        }
    }
    report.requests = walk.used;
    if let Some(at) = &report.stopped_at {
        warn!(requests = walk.used, resume_at = %at,
            "reconciliation stopped at its request budget; the next run resumes there");
    }
    let completed = report.stopped_at.is_none();
    let counts = (report.pulls, report.enqueued);
    lease
        .finish(&cursor, report.stopped_at.as_deref(), completed, counts)
        .await?;
    Ok(report)
}

/// Whether the latest iteration of the pull request has a final `thoth/policy` status (a
/// `pending` one is an evaluation that never finished).
async fn evaluated(walk: &mut Walk<'_>, repo: &RepoId, pr: PrNumber) -> anyhow::Result<bool> {
    walk.used += 1;
    let Some(latest) = walk.client.iteration_ids(repo, pr).await?.into_iter().max() else {
        return Ok(false);
    };
    walk.used += 1;
    let statuses = walk.client.statuses(repo, pr).await?;
    Ok(statuses.iter().any(|s| s.is_final_thoth(latest)))
}

/// The walk of one run: the client and the API reads used so far.
struct Walk<'a> {
    client: &'a AzureClient,
    used: usize,
}

impl Walk<'_> {
    /// Every item of a paged list (`page(top, skip)` reads one page), while the budget lasts.
    async fn list<T, F, Fut>(&mut self, mut page: F) -> Result<Vec<T>, ForgeError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, ForgeError>>,
    {
        let mut all = Vec::new();
        for n in 0..MAX_LIST_PAGES {
            self.used += 1;
            let items = page(PAGE, n * PAGE).await?;
            let last = items.len() < PAGE;
            all.extend(items);
            if last || self.used >= MAX_REQUESTS {
                break;
            }
        }
        Ok(all)
    }
}
