//! Azure DevOps behind the evaluation flow's [`Forge`]: the pull request is always read from
//! the API (a hook body is only as trustworthy as the shared hook password), a pending status
//! on the iteration marks the head as being judged, the PAT clones (only from the
//! organization's host), publish posts the status, the vote and the threads.

use async_trait::async_trait;
use tracing::{info, warn};

use super::pipeline::{Access, DeadJob, Forge};
use crate::checkout::Credentials;
use crate::decision::Decision;
use crate::event::{PullRequestRef, PullState};
use crate::forge::azure::publish::Target;
use crate::forge::azure::{
    AzureClient, AzureContext, StatusState, check_clone_url, publish, vote_of,
};
use crate::forge::{ForgeError, PublishPlan};
use crate::ids::CommentId;
use crate::secret::ExposeSecret as _;

/// The organization's client, for one job.
pub(super) struct AzureForge<'a> {
    azure: &'a AzureContext,
}

impl<'a> AzureForge<'a> {
    pub(super) fn new(azure: Option<&'a AzureContext>) -> anyhow::Result<Self> {
        let azure = azure.ok_or_else(|| {
            anyhow::anyhow!(
                "Azure DevOps is not configured (THOTH_AZURE_ORG_URL, THOTH_AZURE_TOKEN)"
            )
        })?;
        Ok(AzureForge { azure })
    }
}

/// The iteration being judged and the link its statuses carry.
pub(super) struct Iteration {
    id: Option<u64>,
    link: String,
}

#[async_trait]
impl Forge for AzureForge<'_> {
    type Run = Iteration;

    async fn refresh(&self, pr: PullRequestRef) -> anyhow::Result<Option<PullRequestRef>> {
        from_api(&self.azure.client, pr).await
    }

    async fn start(
        &self,
        pr: &PullRequestRef,
        _in_progress: Option<&str>,
    ) -> anyhow::Result<Iteration> {
        let client = &self.azure.client;
        let link = client.pr_web_url(&pr.repo, pr.pr);
        let id = client.iteration_for(&pr.repo, pr.pr, &pr.head_sha).await?;
        client
            .post_status(
                &pr.repo,
                pr.pr,
                id,
                StatusState::Pending,
                "thoth is evaluating this iteration",
                &link,
            )
            .await?;
        Ok(Iteration { id, link })
    }

    fn run_id(_run: &Iteration) -> Option<String> {
        // A pending status is replaced by the next one: nothing to reuse after a crash.
        None
    }

    async fn access(&self, pr: &PullRequestRef) -> anyhow::Result<Access> {
        // The PAT goes wherever the bot clones from: only the organization's host gets it.
        let config = self.azure.client.config();
        let clone_url = pr.clone_url.as_deref().unwrap_or_default();
        Ok(match check_clone_url(config, clone_url) {
            Ok(()) => Access::Granted(Credentials::azure_devops(
                config.token.expose_secret().to_string(),
            )),
            Err(why) => Access::Refused(why.to_string()),
        })
    }

    async fn fail(&self, pr: &PullRequestRef, run: Iteration, cause: &str) -> anyhow::Result<()> {
        let description = format!("could not check out the pull request: {cause}");
        self.azure
            .client
            .post_status(
                &pr.repo,
                pr.pr,
                run.id,
                StatusState::Error,
                &description,
                &run.link,
            )
            .await?;
        Ok(())
    }

    async fn publish(
        &self,
        pr: &PullRequestRef,
        _run: Iteration,
        plan: &PublishPlan,
        decision: &Decision,
        summary: Option<CommentId>,
    ) -> anyhow::Result<CommentId> {
        let target = Target {
            repo: &pr.repo,
            pr: pr.pr,
            head_sha: &pr.head_sha,
            summary_thread: summary.map(|c| c.0),
            max_finding_threads: self.azure.max_finding_threads,
        };
        let published = publish(&self.azure.client, &target, plan, vote_of(decision.kind)).await?;
        info!(
            finding_threads = published.finding_threads_posted,
            skipped = published.finding_threads_skipped,
            "threads published"
        );
        Ok(CommentId(published.summary_thread_id))
    }

    async fn report_dead(&self, dead: DeadJob<'_>) -> anyhow::Result<()> {
        let (pr, cause) = (dead.pr, dead.cause);
        let client = &self.azure.client;
        // The hint comes first: Azure DevOps shows only so much of a status description.
        let description: String = format!(
            "thoth could not complete the evaluation of this iteration; comment /thoth rerun to try again. {cause}"
        )
        .chars()
        .take(300)
        .collect();
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
            .await?;
        Ok(())
    }
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
    if api.state != PullState::Open {
        info!(state = ?api.state, "the pull request is not active: not evaluated");
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
    pr.apply(api);
    Ok(Some(pr))
}
