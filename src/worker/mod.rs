//! Workers: claim jobs from the durable queue, keep their lease alive, run them, and record the
//! outcome (done, retry with backoff, or dead with the error kept).

pub mod azure;
pub mod commands;
pub mod evaluate;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::{Instrument, error, info, info_span, warn};

use crate::checkout::{CheckoutLimits, MirrorCache};
use crate::config::CommandSettings;
use crate::decision::safety::BurstLimiter;
use crate::event::JobPayload;
use crate::forge::github::GithubApp;
use crate::ids::Platform;
use crate::queue::{self, FailOutcome};
use crate::store::{Job, Store};

/// How long an idle worker waits before asking the queue again.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What every worker shares.
pub struct WorkerContext {
    pub store: Arc<dyn Store>,
    pub github: Option<Arc<GithubApp>>,
    /// Azure DevOps organization client, when configured.
    pub azure: Option<Arc<azure::AzureContext>>,
    pub mirrors: Arc<MirrorCache>,
    /// Scratch space for materialised checkouts (one temp dir per job inside).
    pub work_dir: PathBuf,
    /// Org policy repository on disk.
    pub policy_repo: Option<PathBuf>,
    pub burst: BurstLimiter,
    pub lease: Duration,
    pub checkout_limits: CheckoutLimits,
    /// Who may override, and the cache of permission lookups.
    pub commands: CommandSettings,
    pub permission_cache: commands::PermissionCache,
}

/// Runs one worker until `shutdown` turns true; a job in hand is finished first.
pub async fn run(ctx: Arc<WorkerContext>, id: String, mut shutdown: watch::Receiver<bool>) {
    info!(worker = %id, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        match ctx.store.claim(&id, ctx.lease, Utc::now()).await {
            Ok(Some(job)) => {
                let span = info_span!("job", job = %job.id, repo = %job.repo, pr = %job.pr, delivery = %job.delivery, kind = %job.kind);
                process(&ctx, &id, job).instrument(span).await;
            }
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
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

/// Runs one claimed job with a heartbeat, then records its outcome.
pub async fn process(ctx: &WorkerContext, worker: &str, job: Job) {
    let heartbeat = {
        let store = ctx.store.clone();
        let (id, worker, lease) = (job.id, worker.to_string(), ctx.lease);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                match store.heartbeat(id, &worker, lease, Utc::now()).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => warn!(error = %e, "heartbeat failed"),
                }
            }
        })
    };
    // Aborted however this function ends (also when the worker task itself is aborted).
    let _heartbeat = AbortOnDrop(heartbeat);
    let result = run_job(ctx, worker, &job).await;
    let now = Utc::now();
    match result {
        Ok(()) => match ctx.store.complete(job.id, worker).await {
            Ok(true) => info!("job done"),
            Ok(false) => warn!("lease lost before completion; another worker owns the job"),
            Err(e) => error!(error = %e, "cannot mark the job done; it will run again"),
        },
        Err(e) => {
            let msg = format!("{e:#}");
            match queue::fail_or_retry(ctx.store.as_ref(), &job, worker, &msg, now).await {
                Ok(FailOutcome::Retrying { at }) => {
                    warn!(error = %msg, retry_at = %at, "job failed, will retry")
                }
                Ok(FailOutcome::Dead) => {
                    error!(error = %msg, "job failed for good");
                    match job.platform {
                        Platform::GitHub => evaluate::report_dead(ctx, &job, &msg).await,
                        Platform::AzureDevOps => azure::report_dead(ctx, &job, &msg).await,
                    }
                }
                Ok(FailOutcome::LeaseLost) => {
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
            Platform::GitHub => evaluate::evaluate(ctx, worker, job, pr, &reason).await,
            Platform::AzureDevOps => azure::evaluate(ctx, worker, job, pr, &reason).await,
        },
        JobPayload::Command { comment } => commands::handle(ctx, job, comment).await,
    }
}
