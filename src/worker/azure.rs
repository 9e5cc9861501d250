//! The evaluation pipeline of one Azure DevOps pull request iteration: pending status, checkout
//! of the source commit (and the target commit, where the config is read from) with the PAT,
//! the same gates and decision as GitHub ([`super::evaluate`]), then status, vote and threads.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tracing::{info, warn};

use super::WorkerContext;
use super::decide::decide_and_plan;
use super::evaluate::{Checkout, run_gates};
use crate::checkout::{CheckoutError, CheckoutLimits, Credentials, MirrorCache};
use crate::event::{JobPayload, PullRequestRef};
use crate::forge::azure::publish::Target;
use crate::forge::azure::{AzureClient, StatusState, publish, vote_of};

use crate::ids::Platform;
use crate::store::{Job, PrState};

/// What Azure DevOps jobs need.
pub struct AzureContext {
    pub client: AzureClient,
    /// Finding threads opened per pull request at most (the rest stay in the summary).
    pub max_finding_threads: usize,
}

/// Evaluates an Azure DevOps pull request and publishes the result.
pub async fn evaluate(
    ctx: &WorkerContext,
    worker: &str,
    job: &Job,
    pr: PullRequestRef,
    reason: &str,
) -> anyhow::Result<()> {
    let azure = ctx
        .azure
        .as_ref()
        .context("Azure DevOps is not configured (THOTH_AZURE_ORG_URL, THOTH_AZURE_TOKEN)")?;
    let client = &azure.client;
    info!(%reason, head = %pr.head_sha, "evaluating");
    let mut state = ctx
        .store
        .pr_state(Platform::AzureDevOps, &pr.repo, pr.pr)
        .await?
        .unwrap_or(PrState {
            platform: Platform::AzureDevOps,
            repo: pr.repo.clone(),
            pr: pr.pr,
            summary_comment_id: None,
            last_findings_digest: None,
            last_head_sha: None,
            check_run_id: None,
        });
    // Taken up before the first write: the updates our own status and vote cause carry this
    // source commit and are dropped at intake (loop guard).
    if state.last_head_sha.as_ref() != Some(&pr.head_sha) {
        state.last_head_sha = Some(pr.head_sha.clone());
        ctx.store.put_pr_state(&state).await?;
    }
    let link = client.pr_web_url(&pr.repo, pr.pr);
    let iteration = client.iteration_for(&pr.repo, pr.pr, &pr.head_sha).await?;
    client
        .post_status(
            &pr.repo,
            pr.pr,
            iteration,
            StatusState::Pending,
            "thoth is evaluating this iteration",
            &link,
        )
        .await?;

    let token = client.config().token.expose().to_string();
    let checkout_timer = crate::metrics::stage_timer("checkout");
    let checkout = match checkout(ctx, &pr, Credentials::azure_devops(token)).await {
        Ok(c) => c,
        Err(Failure::Permanent(e)) => {
            warn!(error = %e, "checkout failed for good");
            let description = format!("could not check out the pull request: {e}");
            client
                .post_status(
                    &pr.repo,
                    pr.pr,
                    iteration,
                    StatusState::Error,
                    &description,
                    &link,
                )
                .await?;
            return Ok(());
        }
        Err(Failure::Transient(e)) => return Err(e),
    };

    drop(checkout_timer);
    let report = run_gates(ctx, &checkout).await?;
    let (decision, plan) = decide_and_plan(ctx, worker, job, &pr, &checkout, &report).await?;
    let target = Target {
        repo: &pr.repo,
        pr: pr.pr,
        head_sha: &pr.head_sha,
        summary_thread: state
            .summary_comment_id
            .as_deref()
            .and_then(|s| s.parse().ok()),
        max_finding_threads: azure.max_finding_threads,
    };
    let publish_timer = crate::metrics::stage_timer("publish");
    let published = publish(client, &target, &plan, vote_of(decision.kind)).await?;
    drop(publish_timer);
    state.summary_comment_id = Some(published.summary_thread_id.to_string());
    state.last_findings_digest = Some(decision.findings_digest.clone());
    ctx.store.put_pr_state(&state).await?;
    info!(
        decision = %decision.kind.as_str(),
        conclusion = plan.conclusion.as_str(),
        finding_threads = published.finding_threads_posted,
        "published"
    );
    Ok(())
}

pub(super) enum Failure {
    /// Will not get better by retrying (bad credentials, missing ref, too large, unsafe tree).
    Permanent(CheckoutError),
    Transient(anyhow::Error),
}

impl Failure {
    pub(super) fn into_error(self) -> anyhow::Error {
        match self {
            Failure::Permanent(e) => anyhow::Error::new(e).context("checkout"),
            Failure::Transient(e) => e,
        }
    }
}

/// Fetches the source and target branches with `creds` and materialises the named commits.
pub(super) async fn checkout(
    ctx: &WorkerContext,
    pr: &PullRequestRef,
    creds: Credentials,
) -> Result<Checkout, Failure> {
    let url = pr
        .clone_url
        .clone()
        .ok_or_else(|| Failure::Transient(anyhow::anyhow!("no clone URL")))?;
    let dir = tempfile::TempDir::new_in(&ctx.work_dir)
        .or_else(|_| tempfile::TempDir::new())
        .map_err(|e| Failure::Transient(e.into()))?;
    let mirrors = ctx.mirrors.clone();
    let limits = ctx.checkout_limits;
    let refs = Refs {
        key: pr.repo.to_string(),
        head_sha: pr.head_sha.to_string(),
        base_sha: pr.base_sha.as_ref().map(|s| s.to_string()),
        head_ref: pr.head_ref.clone(),
        base_ref: pr.base_ref.clone(),
    };
    let root = dir.path().to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        fetch_and_materialize(&mirrors, &url, &creds, &refs, &root, &limits)
    })
    .await
    .map_err(|e| Failure::Transient(e.into()))?;
    match result {
        Ok((head, base, changed)) => Ok(Checkout {
            _dir: dir,
            head,
            base,
            changed,
        }),
        Err(
            e @ (CheckoutError::Auth(_)
            | CheckoutError::NotFound(_)
            | CheckoutError::TooLarge(_)
            | CheckoutError::UnsafePath(_)
            | CheckoutError::InvalidInput(_)),
        ) => Err(Failure::Permanent(e)),
        Err(e) => Err(Failure::Transient(
            anyhow::Error::new(e).context("checkout"),
        )),
    }
}

struct Refs {
    key: String,
    head_sha: String,
    base_sha: Option<String>,
    /// Branch names without `refs/heads/`.
    head_ref: Option<String>,
    base_ref: Option<String>,
}

/// Azure DevOps has no fetchable `refs/pull/N/head` on every server, and fetching by sha needs
/// a server setting: the source and target branches are fetched and the exact commits the
/// delivery named are materialised. A source branch that moved on since still holds the
/// commit unless it was force-pushed away (then the newer update event evaluates the new one).
fn fetch_and_materialize(
    mirrors: &MirrorCache,
    url: &str,
    creds: &Credentials,
    refs: &Refs,
    root: &Path,
    limits: &CheckoutLimits,
) -> Result<(PathBuf, Option<PathBuf>, Vec<String>), CheckoutError> {
    let key = refs.key.as_str();
    let need_head = !mirrors.has_commit(key, &refs.head_sha);
    let need_base = refs
        .base_sha
        .as_deref()
        .is_some_and(|b| !mirrors.has_commit(key, b));
    if need_head || need_base {
        let mut specs = Vec::new();
        if let Some(h) = &refs.head_ref {
            specs.push(format!("+refs/heads/{h}:refs/thoth/source/{h}"));
        }
        if let Some(b) = &refs.base_ref {
            specs.push(format!("+refs/heads/{b}:refs/thoth/base/{b}"));
        }
        if specs.is_empty() {
            return Err(CheckoutError::InvalidInput(
                "the delivery names no source or target branch".into(),
            ));
        }
        mirrors.fetch(key, url, Some(creds), &specs, limits)?;
    }
    let head = root.join("head");
    mirrors.materialize(key, &refs.head_sha, &head, limits)?;
    let mut changed = Vec::new();
    let base = match refs.base_sha.as_deref() {
        Some(b) if mirrors.has_commit(key, b) => {
            let dir = root.join("base");
            mirrors.materialize(key, b, &dir, limits)?;
            changed = mirrors.changed_paths(key, b, &refs.head_sha)?;
            Some(dir)
        }
        _ => None,
    };
    Ok((head, base, changed))
}

/// Marks the iteration `error` after a job gave up (best effort: the job is already dead).
pub async fn report_dead(ctx: &WorkerContext, job: &Job, error: &str) {
    let Ok(JobPayload::Evaluate { pr, .. }) = serde_json::from_value(job.payload.clone()) else {
        return;
    };
    let Some(azure) = ctx.azure.as_ref() else {
        return;
    };
    let client = &azure.client;
    let description: String = format!("thoth gave up evaluating this iteration: {error}")
        .chars()
        .take(300)
        .collect();
    let result = async {
        let iteration = client.iteration_for(&pr.repo, pr.pr, &pr.head_sha).await?;
        let link = client.pr_web_url(&pr.repo, pr.pr);
        client
            .post_status(
                &pr.repo,
                pr.pr,
                iteration,
                StatusState::Error,
                &description,
                &link,
            )
            .await
    }
    .await;
    if let Err(e) = result {
        warn!(error = %e, "cannot report the failed evaluation on the PR");
    }
}
