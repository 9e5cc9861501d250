//! GitHub behind the evaluation flow's [`Forge`]: a check run marks the head as being judged,
//! the installation token clones, publish completes the run, reviews and edits the summary.

use anyhow::Context;
use async_trait::async_trait;

use super::pipeline::{Access, DeadJob, Forge, dead_summary};
use crate::checkout::Credentials;
use crate::decision::Decision;
use crate::event::PullRequestRef;
use crate::forge::github::{CheckRunId, GithubApp, InstallationClient};
use crate::forge::{CheckConclusion, PublishPlan};
use crate::ids::CommentId;

/// One installation's client, for one job.
pub(super) struct GithubForge {
    client: InstallationClient,
}

impl GithubForge {
    /// The client of the installation the pull request names.
    pub(super) fn new(app: Option<&GithubApp>, pr: &PullRequestRef) -> anyhow::Result<Self> {
        let app = app.context("the GitHub App is not configured")?;
        let installation = pr
            .installation_id
            .context("the delivery names no installation")?;
        Ok(GithubForge {
            client: app.installation(installation)?,
        })
    }
}

/// A stored check-run id; an unreadable one means no run to reuse (a new one is opened).
fn check_run(id: Option<&str>) -> Option<CheckRunId> {
    id.and_then(|s| s.parse().ok()).map(CheckRunId)
}

#[async_trait]
impl Forge for GithubForge {
    type Run = CheckRunId;

    async fn refresh(&self, mut pr: PullRequestRef) -> anyhow::Result<Option<PullRequestRef>> {
        // A signed delivery that carries the pull request is the API's own word; only a
        // delivery without it (check run rerequested) is completed from the API.
        if pr.needs_refresh {
            let api = self.client.pull_request(&pr.repo, pr.pr).await?;
            // A re-requested check run names the commit it is for.
            let head = pr.head_sha.clone();
            pr.apply(api);
            pr.head_sha = head;
        }
        Ok(Some(pr))
    }

    async fn start(
        &self,
        pr: &PullRequestRef,
        in_progress: Option<&str>,
    ) -> anyhow::Result<CheckRunId> {
        match check_run(in_progress) {
            Some(id) => Ok(id),
            None => Ok(self.client.create_check_run(&pr.repo, &pr.head_sha).await?),
        }
    }

    fn run_id(run: &CheckRunId) -> Option<String> {
        Some(run.0.to_string())
    }

    async fn access(&self, _pr: &PullRequestRef) -> anyhow::Result<Access> {
        let token = self.client.installation_token().await?;
        Ok(Access::Granted(Credentials::github_installation(token)))
    }

    async fn fail(&self, pr: &PullRequestRef, run: CheckRunId, cause: &str) -> anyhow::Result<()> {
        let summary =
            format!("thoth-bot could not check out this pull request, so no gate ran: {cause}.");
        self.client
            .complete_check_run(
                &pr.repo,
                run,
                CheckConclusion::Failure,
                "Could not check out the pull request",
                &summary,
                &[],
            )
            .await?;
        Ok(())
    }

    async fn publish(
        &self,
        pr: &PullRequestRef,
        run: CheckRunId,
        plan: &PublishPlan,
        _decision: &Decision,
        summary: Option<CommentId>,
    ) -> anyhow::Result<CommentId> {
        let ids = crate::forge::github::publish::publish(
            &self.client,
            &pr.repo,
            pr.pr,
            &pr.head_sha,
            Some(run),
            plan,
            summary.map(|c| c.0),
        )
        .await?;
        Ok(CommentId(ids.comment_id))
    }

    async fn report_dead(&self, dead: DeadJob<'_>) -> anyhow::Result<()> {
        let pr = dead.pr;
        let id = match check_run(dead.in_progress) {
            Some(id) => id,
            None => self.client.create_check_run(&pr.repo, &pr.head_sha).await?,
        };
        self.client
            .complete_check_run(
                &pr.repo,
                id,
                CheckConclusion::Failure,
                "Evaluation could not complete",
                &dead_summary(dead.cause),
                &[],
            )
            .await?;
        Ok(())
    }
}
