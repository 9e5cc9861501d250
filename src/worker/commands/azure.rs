//! The Azure DevOps side of comment commands: the PAT's client, replies posted into the
//! command's thread and found again by marker among the threads, and group membership for
//! overrides.
//!
//! Azure DevOps has no reactions the PAT can set at the stable API version, so commands that
//! GitHub acknowledges with a reaction alone get a short reply here.
//!
//! Repository permissions are not looked up: the bot's PAT would need rights to read security
//! namespaces, and "contributor" on Azure DevOps is far broader than GitHub's write access.
//! The unique names in `[commands] override_users` and the members of the groups in
//! `override_teams` (`[Project]\Group` or just `Group`, read from the identity API) may override.

use anyhow::Context;
use async_trait::async_trait;

use super::{Ack, CommandForge, PrInfo};
use crate::checkout::Credentials;
use crate::config::CommandSettings;
use crate::event::{CommentEvent, PullRequestRef};
use crate::forge::azure::identity::group_matches;
use crate::ids::{PrNumber, RepoId};
use crate::secret::ExposeSecret as _;
use crate::worker::WorkerContext;
use crate::worker::azure::AzureContext;
use crate::worker::checkout::Checkout;

pub(super) struct AzureForge<'a> {
    azure: &'a AzureContext,
    repo: RepoId,
    pr: PrNumber,
    /// `THREAD/COMMENT` as intake wrote it.
    comment_id: String,
    thread: Option<u64>,
    comment: u64,
}

impl<'a> AzureForge<'a> {
    pub(super) fn new(ctx: &'a WorkerContext, c: &CommentEvent) -> anyhow::Result<Self> {
        let azure = ctx
            .azure
            .as_deref()
            .context("Azure DevOps is not configured (THOTH_AZURE_ORG_URL, THOTH_AZURE_TOKEN)")?;
        let (thread, comment) = match c.comment_id.split_once('/') {
            Some((t, id)) => (Some(t.parse().context("thread id")?), id),
            None => (None, c.comment_id.as_str()),
        };
        Ok(AzureForge {
            azure,
            repo: c.repo.clone(),
            pr: c.pr,
            comment_id: c.comment_id.clone(),
            thread,
            comment: comment.parse().context("comment id is not a number")?,
        })
    }
}

#[async_trait]
impl CommandForge for AzureForge<'_> {
    async fn pull(&self) -> anyhow::Result<PrInfo> {
        let p = self.azure.client.pull_request(&self.repo, self.pr).await?;
        Ok(PrInfo {
            head_sha: p.head_sha,
            base_sha: p.base_sha,
            head_ref: p.head_ref,
            base_ref: p.base_ref,
            author: p.author.unwrap_or_default(),
            labels: p.labels,
            draft: p.draft,
            clone_url: p.clone_url,
        })
    }

    async fn react(&self, _ack: Ack) -> anyhow::Result<bool> {
        Ok(false)
    }

    fn reply_key(&self) -> String {
        self.comment_id.clone()
    }

    /// Only comments the PAT's identity wrote count: a participant quoting a marker must not
    /// make the bot skip a command or its reply.
    async fn has_reply(&self, marker: &str) -> anyhow::Result<bool> {
        let bot = self.azure.client.bot_id().await?;
        let threads = self.azure.client.threads(&self.repo, self.pr).await?;
        Ok(threads.iter().flat_map(|t| &t.comments).any(|c| {
            c.is_by(&bot)
                && c.content
                    .as_deref()
                    .is_some_and(|text| text.contains(marker))
        }))
    }

    /// In the command's thread; a new thread when the delivery named none.
    async fn reply_once(&self, marker: &str, body: &str) -> anyhow::Result<()> {
        if self.has_reply(marker).await? {
            return Ok(());
        }
        let client = &self.azure.client;
        match self.thread {
            Some(t) => client
                .reply(&self.repo, self.pr, t, self.comment, body)
                .await
                .map(drop)?,
            None => client
                .create_thread(&self.repo, self.pr, body, "closed", None)
                .await
                .map(drop)?,
        }
        Ok(())
    }

    /// Commits on Azure DevOps carry git names and e-mails, not the unique names commands are
    /// authorized by, so only the PR's creator is held to the self-override rule here.
    async fn pushers(&self) -> anyhow::Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Repository permissions are not looked up on Azure DevOps; members of the configured
    /// groups (`override_teams`) may override.
    async fn is_writer(&self, settings: &CommandSettings, actor: &str) -> anyhow::Result<bool> {
        if settings.override_teams.is_empty() {
            return Ok(false);
        }
        let groups = self.azure.client.groups_of(actor).await?;
        Ok(groups.iter().any(|g| {
            settings
                .override_teams
                .iter()
                .any(|wanted| group_matches(g, wanted))
        }))
    }

    fn mention(&self, user: &str) -> String {
        user.to_string()
    }

    async fn checkout(&self, ctx: &WorkerContext, pr: &PullRequestRef) -> anyhow::Result<Checkout> {
        let token = self.azure.client.config().token.expose_secret().to_string();
        crate::worker::checkout::checkout(ctx, pr, Credentials::azure_devops(token))
            .await
            .map_err(|e| e.into_error())
    }
}
