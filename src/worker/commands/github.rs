//! The GitHub side of comment commands: an installation client, reactions as acknowledgement,
//! replies found again by marker among the issue comments, collaborator permission and team
//! membership as "may write".

use async_trait::async_trait;
use tracing::warn;

use super::{Ack, CommandForge};
use crate::checkout::Credentials;
use crate::config::CommandSettings;
use crate::event::PullRequest;
use crate::event::{CommentEvent, PullRequestRef};
use crate::forge::ForgeError;
use crate::forge::github::{InstallationClient, Reaction};
use crate::ids::{PrNumber, RepoId};
use crate::worker::WorkerContext;
use crate::worker::checkout::Checkout;

pub(super) struct GithubForge {
    client: InstallationClient,
    repo: RepoId,
    pr: PrNumber,
    comment_id: u64,
}

impl GithubForge {
    pub(super) fn new(ctx: &WorkerContext, c: &CommentEvent) -> anyhow::Result<Self> {
        use anyhow::Context;
        let github = ctx
            .github
            .as_ref()
            .context("the GitHub App is not configured")?;
        let client = github.installation(
            c.installation_id
                .context("the delivery names no installation")?,
        )?;
        Ok(GithubForge {
            client,
            repo: c.repo.clone(),
            pr: c.pr,
            comment_id: c.comment_id.parse().context("comment id is not a number")?,
        })
    }
}

#[async_trait]
impl CommandForge for GithubForge {
    async fn pull(&self) -> anyhow::Result<PullRequest> {
        Ok(self.client.pull_request(&self.repo, self.pr).await?)
    }

    /// Best effort: a comment deleted meanwhile must not undo the command, but a rate limit is
    /// retried with the job.
    async fn react(&self, ack: Ack) -> anyhow::Result<bool> {
        let reaction = match ack {
            Ack::Done => Reaction::PlusOne,
            Ack::Started => Reaction::Rocket,
            Ack::Refused => Reaction::Confused,
        };
        match self
            .client
            .add_reaction(&self.repo, self.comment_id, reaction)
            .await
        {
            Ok(()) => {}
            Err(e @ ForgeError::RateLimited { .. }) => return Err(e.into()),
            Err(e) => warn!(error = %e, "cannot react to the comment"),
        }
        Ok(true)
    }

    fn reply_key(&self) -> String {
        self.comment_id.to_string()
    }

    async fn reply_once(&self, marker: &str, body: &str) -> anyhow::Result<()> {
        self.client
            .post_comment_once(&self.repo, self.pr, marker, body)
            .await?;
        Ok(())
    }

    async fn has_reply(&self, marker: &str) -> anyhow::Result<bool> {
        Ok(self
            .client
            .find_marked_comment(&self.repo, self.pr, marker)
            .await?
            .is_some())
    }

    async fn pushers(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.client.pull_commit_logins(&self.repo, self.pr).await?)
    }

    async fn is_writer(&self, settings: &CommandSettings, actor: &str) -> anyhow::Result<bool> {
        if self
            .client
            .collaborator_permission(&self.repo, actor)
            .await?
            .can_write()
        {
            return Ok(true);
        }
        let owner = self.repo.to_string();
        let owner = owner.split('/').next().unwrap_or_default().to_string();
        for team in &settings.override_teams {
            let (org, slug) = team.split_once('/').unwrap_or((owner.as_str(), team));
            if self.client.is_team_member(org, slug, actor).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn mention(&self, user: &str) -> String {
        format!("@{user}")
    }

    async fn checkout(&self, ctx: &WorkerContext, pr: &PullRequestRef) -> anyhow::Result<Checkout> {
        let token = self.client.installation_token().await?;
        crate::worker::checkout::checkout(ctx, pr, Credentials::github_installation(token))
            .await
            .map_err(|e| e.into_error())
    }
}
