//! Workers: claim jobs from the durable queue, keep their lease alive, run them, and record the
//! outcome (done, retry with backoff, or dead with the error kept).

mod ai;
mod azure;
mod cause;
pub mod checkout;
pub mod commands;
pub mod decide;
mod details;
mod gates;
mod github;
mod pipeline;
mod pushed;
mod suggest;
mod unread;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::{Instrument, error, info, info_span, warn};

use self::azure::AzureForge;
use self::github::GithubForge;
use crate::checkout::{CheckoutLimits, MirrorCache};
use crate::config::CommandSettings;
use crate::decision::safety::BurstLimiter;
use crate::event::JobPayload;
use crate::forge::github::GithubApp;
use crate::ids::Platform;
use crate::metrics::JobOutcome;
use crate::queue::{self, Claimed, FailOutcome};
use crate::store::{Job, Store};

/// How long an idle worker waits before asking the queue again.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What every worker shares.
pub struct WorkerContext {
    pub store: Arc<dyn Store>,
    pub github: Option<Arc<GithubApp>>,
    /// Azure DevOps organization client, when configured.
    pub azure: Option<Arc<crate::forge::azure::AzureContext>>,
    pub mirrors: Arc<MirrorCache>,
    /// Scratch space for materialised checkouts (one temp dir per job inside).
    pub work_dir: PathBuf,
    /// Org policy repository: a directory, or a git repository pinned per evaluation.
    pub policy_repo: Option<Arc<crate::checkout::policy_repo::PolicyRepo>>,
    /// How each job's gates run: a child process under these limits.
    pub sandbox: crate::sandbox::SandboxLimits,
    pub burst: BurstLimiter,
    pub lease: Duration,
    /// Claims a job gets before it is dead ([`queue::claim`], [`queue::fail_or_retry`]).
    pub max_attempts: u32,
    pub checkout_limits: CheckoutLimits,
    /// Who may override, and the cache of permission lookups.
    pub commands: CommandSettings,
    pub permission_cache: commands::PermissionCache,
    /// How long a job in hand may run on after shutdown starts before it is released.
    pub shutdown_grace: Duration,
    /// Notified by intake when it enqueued a job, so an idle worker claims it at once instead
    /// of at its next poll.
    pub wake: Arc<tokio::sync::Notify>,
    /// Makes the signed links to details pages; `None` without `public_url` (no link posted).
    pub links: Option<crate::web::links::LinkMaker>,
    /// The AI reviewer; `None` unless `[ai] enabled`.
    pub ai: Option<Arc<crate::ai::Reviewer>>,
}

impl WorkerContext {
    /// The repository's page on its forge, the base of file links on the details page.
    pub fn repo_web_url(&self, pr: &crate::event::PullRequestRef) -> Option<String> {
        match pr.platform {
            Platform::GitHub => pr
                .clone_url
                .as_deref()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(|u| u.trim_end_matches(".git").to_string()),
            Platform::AzureDevOps => self.azure.as_ref().map(|a| {
                let url = a.client.pr_web_url(&pr.repo, pr.pr);
                match url.rsplit_once("/pullrequest/") {
                    Some((repo, _)) => repo.to_string(),
                    None => url,
                }
            }),
        }
    }
}

/// Runs one worker until `shutdown` turns true. A job in hand may finish within
/// [`WorkerContext::shutdown_grace`]; after that it is dropped where it is and released back to
/// the queue (attempt not counted), so another replica, or this one after a restart, runs it.
pub async fn run(ctx: Arc<WorkerContext>, id: String, mut shutdown: watch::Receiver<bool>) {
    info!(worker = %id, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimed = queue::claim(
            ctx.store.as_ref(),
            &id,
            ctx.lease,
            ctx.max_attempts,
            Utc::now(),
        )
        .await;
        match claimed {
            Ok(Some(Claimed::Exhausted(job))) => {
                let span = info_span!("job", job = %job.id, repo = %job.repo, pr = %job.pr, delivery = %job.delivery, kind = %job.kind);
                report_exhausted(&ctx, &job).instrument(span).await;
            }
            Ok(Some(Claimed::Run(job))) => {
                let span = info_span!("job", job = %job.id, repo = %job.repo, pr = %job.pr, delivery = %job.delivery, kind = %job.kind);
                let job_id = job.id;
                let timer = crate::metrics::stage_timer(crate::metrics::Stage::Job);
                let released = tokio::select! {
                    _ = process(&ctx, &id, job).instrument(span.clone()) => false,
                    _ = grace_over(shutdown.clone(), ctx.shutdown_grace) => true,
                };
                if released {
                    // The job future was dropped mid-way (its heartbeat with it). Whatever it
                    // posted is reused or overwritten by the next run: check runs in progress
                    // are found again through the PR state, the summary comment is edited.
                    timer.discard();
                    release(&ctx, &id, job_id).instrument(span).await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = ctx.wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                warn!(worker = %id, error = %e, "cannot claim a job");
                tokio::time::sleep(POLL_INTERVAL * 5).await;
            }
        }
    }
    info!(worker = %id, "worker stopped");
}

/// Tells the pull request that a job was given up without running it again (it is already dead).
async fn report_exhausted(ctx: &WorkerContext, job: &Job) {
    crate::metrics::job(JobOutcome::Dead);
    let msg = job
        .last_error
        .clone()
        .unwrap_or_else(|| queue::exhausted_error(ctx.max_attempts));
    error!(error = %msg, attempts = job.attempts.saturating_sub(1), "job never completed; given up");
    report_dead(ctx, job, &msg).await;
}

/// Posts the "could not complete" result on the job's pull request, through its forge.
async fn report_dead(ctx: &WorkerContext, job: &Job, msg: &str) {
    let Ok(JobPayload::Evaluate { pr, .. }) = serde_json::from_value(job.payload.clone()) else {
        return;
    };
    // Without a forge client there is nobody to tell: the job is dead in the store already.
    match pr.platform {
        Platform::GitHub => match GithubForge::new(ctx.github.as_deref(), &pr) {
            Ok(forge) => pipeline::report_dead(ctx, &forge, job, msg).await,
            Err(e) => warn!(error = %e, "cannot report the failed evaluation on the PR"),
        },
        Platform::AzureDevOps => match AzureForge::new(ctx.azure.as_deref()) {
            Ok(forge) => pipeline::report_dead(ctx, &forge, job, msg).await,
            Err(e) => warn!(error = %e, "cannot report the failed evaluation on the PR"),
        },
    }
}

/// Resolves `grace` after shutdown starts; never while the server runs.
async fn grace_over(mut shutdown: watch::Receiver<bool>, grace: Duration) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        // The sender is gone without a shutdown: nothing will ever ask us to stop.
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(grace).await;
}

/// Gives a job back to the queue at shutdown.
async fn release(ctx: &WorkerContext, worker: &str, job: crate::ids::JobId) {
    match ctx.store.release(job, worker).await {
        Ok(true) => {
            crate::metrics::job(JobOutcome::Released);
            warn!("shutdown grace period over: job released to the queue")
        }
        Ok(false) => warn!("shutdown: the job's lease was already lost"),
        Err(e) => error!(error = %e, "shutdown: cannot release the job; its lease will expire"),
    }
}

/// Runs one claimed job with a heartbeat, then records its outcome.
pub async fn process(ctx: &WorkerContext, worker: &str, job: Job) {
    let heartbeat = {
        let store = ctx.store.clone();
        let (id, worker, lease) = (job.id, worker.to_string(), ctx.lease);
        // In the job's span, so its log lines carry delivery, repo and PR too.
        let span = tracing::Span::current();
        tokio::spawn(
            async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match store.heartbeat(id, &worker, lease, Utc::now()).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => warn!(error = %e, "heartbeat failed"),
                    }
                }
            }
            .instrument(span),
        )
    };
    // Aborted however this function ends (also when the worker task itself is aborted).
    let _heartbeat = AbortOnDrop(heartbeat);
    let result = run_job(ctx, worker, &job).await;
    let now = Utc::now();
    match result {
        Ok(()) => match ctx.store.complete(job.id, worker).await {
            Ok(true) => {
                crate::metrics::job(JobOutcome::Done);
                info!("job done")
            }
            Ok(false) => {
                crate::metrics::job(JobOutcome::LeaseLost);
                warn!("lease lost before completion; another worker owns the job")
            }
            Err(e) => error!(error = %e, "cannot mark the job done; it will run again"),
        },
        Err(e) => {
            let msg = format!("{e:#}");
            let outcome = queue::fail_or_retry(
                ctx.store.as_ref(),
                &job,
                worker,
                &msg,
                ctx.max_attempts,
                now,
            )
            .await;
            match outcome {
                Ok(FailOutcome::Retrying { at }) => {
                    crate::metrics::job(JobOutcome::Retry);
                    warn!(error = %msg, retry_at = %at, "job failed, will retry")
                }
                Ok(FailOutcome::Dead) => {
                    crate::metrics::job(JobOutcome::Dead);
                    error!(error = %msg, "job failed for good");
                    // The pull request gets a short cause; the chain above is for operators.
                    report_dead(ctx, &job, cause::of_error(&e)).await;
                }
                Ok(FailOutcome::LeaseLost) => {
                    crate::metrics::job(JobOutcome::LeaseLost);
                    warn!(error = %msg, "job failed after its lease was lost")
                }
                Err(e) => error!(error = %e, "cannot record the failure; the lease will expire"),
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run_job(ctx: &WorkerContext, worker: &str, job: &Job) -> anyhow::Result<()> {
    let payload: JobPayload = serde_json::from_value(job.payload.clone())
        .map_err(|e| anyhow::anyhow!("job payload is not understood: {e}"))?;
    match payload {
        JobPayload::Evaluate { pr, reason } => match pr.platform {
            Platform::GitHub => {
                let forge = GithubForge::new(ctx.github.as_deref(), &pr)?;
                pipeline::evaluate(ctx, &forge, worker, job, pr, &reason).await
            }
            Platform::AzureDevOps => {
                let forge = AzureForge::new(ctx.azure.as_deref())?;
                pipeline::evaluate(ctx, &forge, worker, job, pr, &reason).await
            }
        },
        JobPayload::Command { comment } => commands::handle(ctx, job, comment).await,
    }
}
