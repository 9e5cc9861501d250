//! Recovery after an outage: what the bot does so that no pull request stays without a thoth
//! result when webhook deliveries were lost (the store was down and intake answered 503, or no
//! replica answered at all). GitHub never redelivers a failed delivery by itself, and Azure
//! DevOps gives up on a failing subscription after a while.
//!
//! Three periodic scans, each run at start and then every interval, each under a lease in the
//! store so one replica runs it at a time, each resuming from a cursor in the store:
//! - [`github_redeliver`]: the App's webhook delivery log; failed deliveries of events the bot
//!   handles are redelivered by GitHub with their GUID, so intake's dedupe keeps them
//!   exactly-once (`redeliver_interval_secs`).
//! - [`github_reconcile`] and [`azure`]: the open pull requests; a head without a completed
//!   thoth result and without a queued or running job gets an evaluation job with the reason
//!   `reconcile` (`reconcile_interval_secs`), for what never reached the delivery log or is
//!   older than its retention.
//!
//! A scan never blocks intake or `/readyz`: it runs in its own task and only reads and enqueues.

pub mod azure;
pub mod github_reconcile;
pub mod github_redeliver;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::{Instrument, info, info_span, warn};

use crate::event::{JobPayload, PullRequestRef};
use crate::ids::{CommitSha, Platform, PrNumber, RepoId};
use crate::store::{EnqueueOutcome, JobKind, JobState, ScanCursor, Store, StoreError};

/// Scan names: lease and cursor keys in the store, and the `scan` label of the age gauge.
pub const GITHUB_REDELIVER: &str = "github_redeliver";
pub const GITHUB_RECONCILE: &str = "github_reconcile";
pub const AZURE_RECONCILE: &str = "azure_reconcile";

/// The job reason of reconciliation, in logs and in the audit trail.
pub const REASON: &str = "reconcile";

/// How long a scan's lease lasts; the scan renews it at every page, so it only runs out when
/// the replica holding it died.
pub const LEASE: Duration = Duration::from_secs(300);

/// Queued and running jobs looked at to skip pull requests already being evaluated.
const ACTIVE_JOBS_LIMIT: usize = 10_000;

/// A scan's hold on its lease, renewed between pages.
pub struct Lease {
    store: Arc<dyn Store>,
    name: &'static str,
    owner: String,
}

/// Why a scan stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Another replica took the lease (this one was too slow to renew it).
    #[error("the scan lease was lost to another replica")]
    LeaseLost,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Lease {
    /// A hold on the lease `name` for `owner`; [`run_every`] makes one per scan task. Taking
    /// the lease is up to the caller (`acquire_scan_lease`, or [`Lease::renew`]).
    pub fn new(store: Arc<dyn Store>, name: &'static str, owner: String) -> Lease {
        Lease { store, name, owner }
    }

    /// Extends the lease; [`ScanError::LeaseLost`] when another replica holds it now.
    pub async fn renew(&self) -> Result<(), ScanError> {
        let held = self
            .store
            .acquire_scan_lease(self.name, &self.owner, LEASE, Utc::now())
            .await?;
        if held {
            Ok(())
        } else {
            Err(ScanError::LeaseLost)
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The scan's cursor, or an empty one.
    pub async fn cursor(&self) -> Result<ScanCursor, StoreError> {
        Ok(self
            .store
            .scan_cursor(self.name)
            .await?
            .unwrap_or(ScanCursor {
                position: String::new(),
                last_success: None,
            }))
    }

    /// Saves where the scan stopped; `completed` also stamps the time of success.
    pub async fn save(&self, mut cursor: ScanCursor, completed: bool) -> Result<(), StoreError> {
        if completed {
            cursor.last_success = Some(Utc::now());
        }
        self.store.put_scan_cursor(self.name, &cursor).await
    }

    /// Ends a reconciliation run begun at `cursor`: saves where it stopped (`stopped_at`, none
    /// when it went through; `completed` also stamps the time of success) and logs what it
    /// enqueued.
    pub async fn finish(
        &self,
        cursor: &ScanCursor,
        stopped_at: Option<&str>,
        completed: bool,
        (pulls, enqueued): (usize, usize),
    ) -> Result<(), StoreError> {
        let next = ScanCursor {
            position: stopped_at.unwrap_or_default().to_string(),
            last_success: cursor.last_success,
        };
        self.save(next, completed).await?;
        if enqueued > 0 {
            info!(
                scan = self.name,
                pulls, enqueued, "pull requests reconciled"
            );
        }
        Ok(())
    }
}

/// What one reconciliation run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub requests: usize,
    pub pulls: usize,
    pub enqueued: usize,
    /// Stopped early (budget or rate limit); the next run resumes.
    pub stopped_at: Option<String>,
}

/// Runs `scan` at start and then every `every` until `shutdown`, each time under the lease
/// `name` (skipped when another replica holds it).
pub async fn run_every<F, Fut>(
    store: Arc<dyn Store>,
    name: &'static str,
    owner: String,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
    scan: F,
) where
    F: Fn(Arc<Lease>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let lease = Arc::new(Lease::new(store.clone(), name, owner));
    loop {
        let span = info_span!("scan", scan = name);
        async {
            match store
                .acquire_scan_lease(name, &lease.owner, LEASE, Utc::now())
                .await
            {
                Ok(true) => {
                    if let Err(e) = scan(lease.clone()).await {
                        warn!(
                            error = format!("{e:#}"),
                            "recovery scan failed; next interval retries"
                        );
                    }
                    if let Err(e) = store.release_scan_lease(name, &lease.owner).await {
                        warn!(error = %e, "cannot release the scan lease; it expires by itself");
                    }
                }
                Ok(false) => info!("another replica is running this scan"),
                Err(e) => warn!(error = %e, "cannot take the scan lease (store unavailable?)"),
            }
        }
        .instrument(span)
        .await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
}

/// What the scans need from `serve`.
pub struct Recovery {
    pub store: Arc<dyn Store>,
    pub github: Option<Arc<crate::forge::github::GithubApp>>,
    pub azure: Option<Arc<crate::forge::azure::AzureContext>>,
    /// Intake's: a reconciled job is claimed at once.
    pub wake: Arc<tokio::sync::Notify>,
    /// This process, as lease owner.
    pub owner: String,
    /// `redeliver_interval_secs` (0: off).
    pub redeliver_every: Duration,
    /// `reconcile_interval_secs` (0: off).
    pub reconcile_every: Duration,
}

/// Starts the scans that are configured: GitHub ones with a GitHub App, the Azure DevOps one
/// with an organization.
pub fn spawn(r: Recovery, shutdown: &watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if let Some(app) = r.github.clone() {
        let redeliver_app = app.clone();
        tasks.extend(r.start(
            GITHUB_REDELIVER,
            r.redeliver_every,
            shutdown,
            move |lease| {
                let app = redeliver_app.clone();
                async move { github_redeliver::scan(&app, &lease).await.map(drop) }
            },
        ));
        let wake = r.wake.clone();
        tasks.extend(r.start(
            GITHUB_RECONCILE,
            r.reconcile_every,
            shutdown,
            move |lease| {
                let (app, wake) = (app.clone(), wake.clone());
                async move { github_reconcile::scan(&app, &lease, &wake).await.map(drop) }
            },
        ));
    }
    if let Some(azure) = r.azure.clone() {
        let wake = r.wake.clone();
        tasks.extend(
            r.start(AZURE_RECONCILE, r.reconcile_every, shutdown, move |lease| {
                let (azure, wake) = (azure.clone(), wake.clone());
                async move { azure::scan(&azure.client, &lease, &wake).await.map(drop) }
            }),
        );
    }
    tasks
}

impl Recovery {
    /// Runs `scan` under the lease `name` every `every`; nothing when `every` is zero (off).
    fn start<F, Fut>(
        &self,
        name: &'static str,
        every: Duration,
        shutdown: &watch::Receiver<bool>,
        scan: F,
    ) -> Option<tokio::task::JoinHandle<()>>
    where
        F: Fn(Arc<Lease>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        (!every.is_zero()).then(|| {
            tokio::spawn(run_every(
                self.store.clone(),
                name,
                self.owner.clone(),
                every,
                shutdown.clone(),
                scan,
            ))
        })
    }
}

/// `(scan, seconds since it last completed)` for the metrics; scans never completed are left
/// out, and so is everything when the store does not answer.
pub async fn scan_ages(store: &dyn Store) -> Vec<(&'static str, f64)> {
    let mut ages = Vec::new();
    for name in [GITHUB_REDELIVER, GITHUB_RECONCILE, AZURE_RECONCILE] {
        if let Ok(Some(ScanCursor {
            last_success: Some(at),
            ..
        })) = store.scan_cursor(name).await
        {
            let age = (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0;
            ages.push((name, age));
        }
    }
    ages
}

/// The pull request heads that have a queued or running job (these are not reconciled: their
/// result is on its way).
pub async fn active_heads(
    store: &dyn Store,
) -> Result<HashSet<(Platform, RepoId, PrNumber, CommitSha)>, StoreError> {
    let mut heads = HashSet::new();
    for state in [JobState::Queued, JobState::Running] {
        for job in store.jobs_by_state(state, ACTIVE_JOBS_LIMIT).await? {
            if job.kind == JobKind::Evaluate {
                heads.insert((job.platform, job.repo, job.pr, job.head_sha));
            }
        }
    }
    Ok(heads)
}

/// Enqueues the evaluation of `pr` with the reason `reconcile`, through the same path as
/// webhook jobs. The delivery id is derived from the head, so two scans (or two replicas) that
/// find the same head create one job. `true` when a job was stored.
pub async fn enqueue(
    store: &dyn Store,
    wake: &tokio::sync::Notify,
    pr: PullRequestRef,
) -> Result<bool, StoreError> {
    let delivery = reconcile_delivery(&pr)
        .parse()
        .map_err(|e| StoreError::Invalid(format!("reconcile delivery id: {e}")))?;
    let platform = pr.platform;
    let (repo, number, head) = (pr.repo.clone(), pr.pr, pr.head_sha.clone());
    let payload = JobPayload::Evaluate {
        pr,
        reason: REASON.to_string(),
    };
    let job = crate::queue::new_job(&payload, delivery);
    match store.enqueue(job, Utc::now()).await? {
        EnqueueOutcome::Enqueued(id) => {
            info!(reason = REASON, %platform, %repo, pr = %number, head = %head, job = %id,
                "job enqueued: no thoth result on this head");
            crate::metrics::reconciled(platform.as_str());
            wake.notify_one();
            Ok(true)
        }
        EnqueueOutcome::Duplicate => Ok(false),
    }
}

/// `reconcile-PLATFORM-PR-HEAD-REPOHASH`: bounded whatever the repository's name.
fn reconcile_delivery(pr: &PullRequestRef) -> String {
    use sha2::Digest as _;
    let repo = hex::encode(sha2::Sha256::digest(pr.repo.as_str().as_bytes()));
    format!(
        "reconcile-{}-{}-{}-{}",
        pr.platform,
        pr.pr,
        pr.head_sha,
        &repo[..16]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_delivery_ids_are_bounded_and_per_head() {
        let pr = |repo: &str, head: char| {
            PullRequestRef::bare(
                Platform::AzureDevOps,
                repo.parse().unwrap(),
                PrNumber(7),
                head.to_string().repeat(40).parse().unwrap(),
            )
        };
        let long = format!("org/{}/repo", "p".repeat(300));
        let id = reconcile_delivery(&pr(&long, 'a'));
        assert!(id.len() < crate::ids::DeliveryId::MAX_LEN, "{id}");
        assert!(id.parse::<crate::ids::DeliveryId>().is_ok());
        assert_ne!(id, reconcile_delivery(&pr(&long, 'b')));
        assert_ne!(id, reconcile_delivery(&pr("org/p/other", 'a')));
    }
}
