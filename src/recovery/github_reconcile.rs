//! GitHub reconciliation: walks the open pull requests of every repository of every
//! installation of the App, and enqueues an evaluation (reason `reconcile`) for each head that
//! has no completed `thoth` check run from this App and no queued or running job. This covers
//! what the delivery log cannot: deliveries GitHub never logged, or older than its retention.
//!
//! Bounded per run by [`MAX_REQUESTS`] API reads and by the installation's rate limit: when
//! `x-ratelimit-remaining` falls below [`MIN_RATE_LIMIT_LEFT`] the walk stops, and the next run
//! resumes at the repository where it stopped (the cursor in the store).

use http::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::warn;

use std::collections::HashSet;

use super::{Lease, Report, active_heads};
use crate::event::github::Pull;
use crate::forge::ForgeError;
use crate::forge::github::GithubApp;
use crate::forge::github::client::{CHECK_NAME, InstallationClient, repo_path};
use crate::forge::github::retry::Idempotency;
use crate::ids::{CommitSha, InstallationId, Platform, PrNumber, RepoId};

/// API reads per run (pages of lists and check-run lookups together).
pub const MAX_REQUESTS: usize = 1000;

/// The walk stops when the installation has fewer requests left this hour, keeping them for
/// the evaluations themselves.
pub const MIN_RATE_LIMIT_LEFT: u64 = 500;

/// Pages of one list read at most (100 items each).
const MAX_LIST_PAGES: usize = 50;

#[derive(Deserialize)]
struct Installation {
    id: u64,
    /// Set while the installation is suspended: it cannot act, so it is not walked.
    #[serde(default)]
    suspended_at: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
    clone_url: Option<String>,
}

#[derive(Deserialize)]
struct App {
    id: u64,
}

#[derive(Deserialize)]
struct CheckRun {
    status: String,
    app: Option<App>,
}

#[derive(Deserialize)]
struct CheckRuns {
    check_runs: Vec<CheckRun>,
}

/// The request budget of one run, and the stop rule.
struct Budget {
    used: usize,
    low_rate_limit: bool,
}

impl Budget {
    fn exhausted(&self) -> bool {
        self.used >= MAX_REQUESTS || self.low_rate_limit
    }

    async fn get<T: DeserializeOwned>(
        &mut self,
        client: &InstallationClient,
        path: &str,
    ) -> anyhow::Result<T> {
        self.used += 1;
        let reply = client
            .call(Method::GET, path, None, Idempotency::Safe)
            .await?;
        let left = reply
            .headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if left.is_some_and(|left| left < MIN_RATE_LIMIT_LEFT) {
            self.low_rate_limit = true;
        }
        serde_json::from_str(&reply.body)
            .map_err(|e| anyhow::anyhow!("GET {path}: unexpected answer: {e}"))
    }

    /// Every item of a list (`page=1..`), while the budget lasts: the answer itself, or its
    /// `field` (`repositories` of `/installation/repositories`). An item of another shape is
    /// left out rather than failing the walk.
    async fn pages<T: DeserializeOwned>(
        &mut self,
        client: &InstallationClient,
        path: &str,
        field: Option<&str>,
    ) -> anyhow::Result<Vec<T>> {
        let mut all = Vec::new();
        for page in 1..=MAX_LIST_PAGES {
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut answer: Value = self
                .get(client, &format!("{path}{sep}per_page=100&page={page}"))
                .await?;
            let items = match field {
                Some(f) => answer[f].take(),
                None => answer,
            };
            let items = match items {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            let last = items.len() < 100;
            all.extend(
                items
                    .into_iter()
                    .filter_map(|v| serde_json::from_value(v).ok()),
            );
            if last || self.exhausted() {
                break;
            }
        }
        Ok(all)
    }
}

/// One run, under `lease`. `wake` is intake's: enqueued jobs are claimed at once.
pub async fn scan(
    app: &GithubApp,
    lease: &Lease,
    wake: &tokio::sync::Notify,
) -> anyhow::Result<Report> {
    let cursor = lease.cursor().await?;
    let resume = cursor.position.clone();
    let mut budget = Budget {
        used: 0,
        low_rate_limit: false,
    };
    let mut report = Report::default();
    lease.renew().await?;
    let active = active_heads(lease.store()).await?;
    let mut installations: Vec<InstallationId> = budget
        .pages::<Installation>(&app.app_client(), "/app/installations", None)
        .await?
        .into_iter()
        .filter(|i| i.suspended_at.is_none())
        .map(|i| InstallationId(i.id))
        .collect();
    installations.sort_unstable();
    installations.dedup();
    let mut failed = false;
    'walk: for installation in installations {
        // A failing installation (token refused, listing failed) does not stop the others.
        let listed = match app.installation(installation) {
            Ok(client) => budget
                .pages::<Repository>(&client, "/installation/repositories", Some("repositories"))
                .await
                .map(|repos| (client, repos)),
            Err(e) => Err(e.into()),
        };
        let (client, mut repos) = match listed {
            Ok(listed) => listed,
            Err(e) => {
                warn!(
                    %installation,
                    error = format!("{e:#}"),
                    "cannot list the installation's repositories"
                );
                failed = true;
                continue;
            }
        };
        repos.sort_by(|a, b| a.full_name.cmp(&b.full_name));
        for repo in repos {
            let key = format!("{:020}/{}", installation.0, repo.full_name);
            if key < resume {
                continue;
            }
            if budget.exhausted() {
                report.stopped_at = Some(key);
                break 'walk;
            }
            lease.renew().await?;
            let walked = RepoWalk {
                app,
                client: &client,
                installation,
                repo: &repo,
                active: &active,
            };
            match walked.run(&mut budget, lease, wake, &mut report).await {
                Ok(()) => {}
                // A long rate-limit wait: stop here, the next run resumes at this repository.
                Err(e) if matches!(e.downcast_ref(), Some(ForgeError::RateLimited { .. })) => {
                    report.stopped_at = Some(key);
                    break 'walk;
                }
                Err(e) => {
                    warn!(repo = %repo.full_name, error = format!("{e:#}"), "cannot reconcile the repository");
                    failed = true;
                }
            }
        }
    }
    report.requests = budget.used;
    let completed = report.stopped_at.is_none() && !failed;
    if let Some(at) = &report.stopped_at {
        warn!(requests = budget.used, low_rate_limit = budget.low_rate_limit, resume_at = %at,
            "reconciliation stopped early; the next run resumes there");
    }
    let counts = (report.pulls, report.enqueued);
    lease
        .finish(&cursor, report.stopped_at.as_deref(), completed, counts)
        .await?;
    Ok(report)
}

/// One repository's open pull requests.
struct RepoWalk<'a> {
    app: &'a GithubApp,
    client: &'a InstallationClient,
    installation: InstallationId,
    repo: &'a Repository,
    active: &'a HashSet<(Platform, RepoId, PrNumber, CommitSha)>,
}

impl RepoWalk<'_> {
    async fn run(
        &self,
        budget: &mut Budget,
        lease: &Lease,
        wake: &tokio::sync::Notify,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let Ok(id) = self.repo.full_name.parse::<RepoId>() else {
            return Ok(());
        };
        let base = repo_path(&id)?;
        let pulls: Vec<Pull> = budget
            .pages(self.client, &format!("{base}/pulls?state=open"), None)
            .await?;
        let app_id = self.app.app_id();
        for pull in pulls {
            report.pulls += 1;
            let head = pull.head.sha.clone();
            let key = (Platform::GitHub, id.clone(), PrNumber(pull.number), head);
            if self.active.contains(&key) {
                continue;
            }
            let path = format!(
                "{base}/commits/{}/check-runs?check_name={CHECK_NAME}&app_id={app_id}&filter=latest",
                key.3
            );
            let runs: CheckRuns = budget.get(self.client, &path).await?;
            let evaluated = runs
                .check_runs
                .iter()
                .any(|r| r.status == "completed" && r.app.as_ref().is_some_and(|a| a.id == app_id));
            if evaluated {
                continue;
            }
            let pr = pull.into_ref(id.clone(), self.repo.clone_url.clone(), self.installation);
            if super::enqueue(lease.store(), wake, pr).await? {
                report.enqueued += 1;
            }
        }
        Ok(())
    }
}
