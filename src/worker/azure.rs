//! The evaluation pipeline of one Azure DevOps pull request iteration: pending status, checkout
//! of the source commit (and the target commit, where the config is read from) with the PAT,
//! the same gates and decision as GitHub ([`super::evaluate`]), then status, vote and threads.

use anyhow::Context;
use tracing::{error, info, warn};

use super::WorkerContext;
use super::checkout::{CheckoutFailure, checkout};
use super::decide::decide_and_plan;
use crate::checkout::Credentials;
use crate::event::{JobPayload, PullRequestRef};
use crate::forge::ForgeError;
use crate::forge::azure::publish::Target;
use crate::forge::azure::{AzureClient, StatusState, check_clone_url, publish, vote_of};

use crate::ids::Platform;
use crate::secret::ExposeSecret as _;
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
    let Some(pr) = from_api(client, pr).await? else {
        return Ok(());
    };
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

    // The PAT goes wherever the bot clones from: only the organization's host gets it.
    let clone_url = pr.clone_url.as_deref().unwrap_or_default();
    if let Err(why) = check_clone_url(client.config(), clone_url) {
        error!(reason = %why, "clone URL refused");
        let description = format!("could not check out the pull request: {why}");
        return post_error(client, &pr, iteration, &description, &link).await;
    }
    let token = client.config().token.expose_secret().to_string();
    let started = std::time::Instant::now();
    let checkout_timer = crate::metrics::stage_timer("checkout");
    let checkout = match checkout(ctx, &pr, Credentials::azure_devops(token)).await {
        Ok(c) => c,
        Err(CheckoutFailure::Permanent(e)) => {
            error!(error = %e, "checkout failed for good");
            let description = format!(
                "could not check out the pull request: {}",
                super::cause::of_checkout(&e)
            );
            return post_error(client, &pr, iteration, &description, &link).await;
        }
        Err(CheckoutFailure::Transient(e)) => return Err(e),
    };

    drop(checkout_timer);
    let (report, stages) = super::details::timed_gates(ctx, &checkout, started).await?;
    let (decision, plan, recorded) =
        decide_and_plan(ctx, worker, job, &pr, &checkout, &report, stages).await?;
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
    super::details::finish(ctx, recorded, publish_timer.elapsed()).await;
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

/// The pull request as the API describes it now, in place of what the delivery said: a hook
/// body is only as trustworthy as the shared hook password, the API answers for the PAT. Where
/// they disagree the API wins, and the disagreement is logged (a push since the delivery is
/// normal, another clone URL is not). `None`: the pull request is unknown or no longer active.
async fn from_api(
    client: &AzureClient,
    mut pr: PullRequestRef,
) -> anyhow::Result<Option<PullRequestRef>> {
    let api = match client.pull_request(&pr.repo, pr.pr).await {
        Ok(api) => api,
        // Retrying cannot make a pull request the server does not know appear.
        Err(ForgeError::NotFound(e)) => {
            warn!(error = %e, "the API does not know the delivery's pull request: not evaluated");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(status) = api.status.as_deref().filter(|s| *s != "active") {
        info!(%status, "the pull request is not active: not evaluated");
        return Ok(None);
    }
    if pr.head_sha != api.head_sha || pr.base_sha != api.base_sha {
        warn!(hook_head = %pr.head_sha, api_head = %api.head_sha,
            hook_base = ?pr.base_sha.as_ref().map(|s| s.to_string()),
            api_base = ?api.base_sha.as_ref().map(|s| s.to_string()),
            "the delivery's commits are not the API's; evaluating the API's");
    }
    if api.clone_url.is_some() && pr.clone_url != api.clone_url {
        warn!(hook_url = ?pr.clone_url, api_url = ?api.clone_url,
            "the delivery's clone URL is not the API's; using the API's");
    }
    pr.head_sha = api.head_sha;
    pr.base_sha = api.base_sha;
    pr.head_ref = api.head_ref;
    pr.base_ref = api.base_ref;
    pr.author = api.author;
    pr.labels = api.labels;
    pr.draft = api.draft;
    // Without one from the API, the delivery's still has to pass the host check.
    pr.clone_url = api.clone_url.or(pr.clone_url);
    Ok(Some(pr))
}

/// Ends the iteration's evaluation with an `error` status saying why (the job is done: retrying
/// would not change the answer).
async fn post_error(
    client: &AzureClient,
    pr: &PullRequestRef,
    iteration: Option<u64>,
    description: &str,
    link: &str,
) -> anyhow::Result<()> {
    client
        .post_status(
            &pr.repo,
            pr.pr,
            iteration,
            StatusState::Error,
            description,
            link,
        )
        .await?;
    Ok(())
}

/// Marks the iteration `error` ("could not complete", how to rerun) after a job gave up (best
/// effort: the job is already dead).
pub async fn report_dead(ctx: &WorkerContext, job: &Job, cause: &str) {
    let Ok(JobPayload::Evaluate { pr, .. }) = serde_json::from_value(job.payload.clone()) else {
        return;
    };
    let Some(azure) = ctx.azure.as_ref() else {
        return;
    };
    let client = &azure.client;
    // The hint comes first: Azure DevOps shows only so much of a status description.
    let description: String = format!(
        "thoth could not complete the evaluation of this iteration; comment /thoth rerun to try again. {cause}"
    )
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
