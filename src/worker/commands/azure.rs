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
//! `override_teams` written `[Project]\Group` for the pull request's project (read from the
//! identity API) may override. An unqualified name is ignored with a warning: `Group` alone
//! would match a group of that name in any project, whose administrators are not this one's.
//!
//! The comment's author and text are read from the API ([`confirm`]) before anything runs: the
//! hook body says who wrote it, but anyone holding the hook password could say anything.

use anyhow::Context;
use async_trait::async_trait;
use tracing::{info, warn};

use super::{Ack, CommandForge};
use crate::checkout::Credentials;
use crate::config::CommandSettings;
use crate::event::PullRequest;
use crate::event::{CommentEvent, PullRequestRef};
use crate::forge::ForgeError;
use crate::forge::azure::AzureContext;
use crate::forge::azure::identity::{group_matches, project_of};
use crate::forge::azure::{CloneUrlRefused, check_clone_url};
use crate::ids::{PrNumber, RepoId};
use crate::secret::ExposeSecret as _;
use crate::worker::WorkerContext;
use crate::worker::checkout::Checkout;

pub(super) struct AzureForge<'a> {
    azure: &'a AzureContext,
    repo: RepoId,
    pr: PrNumber,
    /// `THREAD/COMMENT` as intake wrote it.
    comment_id: String,
    thread: Option<u64>,
    comment: u64,
    /// The comment author's identity id, as the API gave it ([`confirm`]).
    author_id: Option<String>,
}

impl<'a> AzureForge<'a> {
    pub(super) fn new(
        ctx: &'a WorkerContext,
        c: &CommentEvent,
        author_id: Option<String>,
    ) -> anyhow::Result<Self> {
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
            author_id,
        })
    }
}

/// Replaces the delivery's author, text and date of the comment with the API's. `Ok(None)`: the
/// comment cannot be confirmed (no thread named, deleted, no unique name) and is ignored, with
/// a warning; `Ok(Some(id))`: the author's identity id.
pub(super) async fn confirm(
    ctx: &WorkerContext,
    c: &mut CommentEvent,
) -> anyhow::Result<Option<String>> {
    let azure = ctx
        .azure
        .as_deref()
        .context("Azure DevOps is not configured (THOTH_AZURE_ORG_URL, THOTH_AZURE_TOKEN)")?;
    // Comment ids count from 1 in every thread: without the thread the comment is unknown.
    let ids = c
        .comment_id
        .split_once('/')
        .and_then(|(t, id)| Some((t.parse::<u64>().ok()?, id.parse::<u64>().ok()?)));
    let Some((thread, id)) = ids else {
        warn!(comment = %c.comment_id, "the delivery names no thread: the comment cannot be read from the API, ignored");
        return Ok(None);
    };
    let api = match azure.client.comment(&c.repo, c.pr, thread, id).await {
        Ok(api) => api,
        // Retrying cannot make a comment the server does not know appear.
        Err(ForgeError::NotFound(e)) => {
            warn!(comment = %c.comment_id, error = %e, "the API does not know the delivery's comment: ignored");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let Some(author) = api.author_name().map(str::to_string) else {
        warn!(comment = %c.comment_id, "the API names no author for the comment: ignored");
        return Ok(None);
    };
    if api.is_deleted {
        info!(comment = %c.comment_id, "the comment was deleted: ignored");
        return Ok(None);
    }
    if !author.eq_ignore_ascii_case(&c.author) {
        warn!(hook_author = %c.author, api_author = %author,
            "the delivery's comment author is not the API's; using the API's");
    }
    let body = api.content.clone().unwrap_or_default();
    if body != c.body {
        warn!("the delivery's comment text is not the API's; using the API's");
    }
    let author_id = api.author.as_ref().and_then(|a| a.id.clone());
    let bot = azure.client.bot_id().await?;
    c.author_is_bot = api.is_by(&bot) || api.comment_type.as_deref() == Some("system");
    c.author = author;
    c.body = body;
    c.written_at = api.written_at().or(c.written_at);
    Ok(Some(author_id.unwrap_or_default()))
}

#[async_trait]
impl CommandForge for AzureForge<'_> {
    async fn pull(&self) -> anyhow::Result<PullRequest> {
        Ok(self.azure.client.pull_request(&self.repo, self.pr).await?)
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

    /// Commit authors and committers by e-mail: an Azure DevOps unique name is usually the
    /// account's e-mail address, so a pusher commenting under it is recognised.
    async fn pushers(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .azure
            .client
            .pull_commit_emails(&self.repo, self.pr)
            .await?)
    }

    /// Repository permissions are not looked up on Azure DevOps; members of the configured
    /// groups (`override_teams`) may override.
    async fn is_writer(&self, settings: &CommandSettings, actor: &str) -> anyhow::Result<bool> {
        let project = self.repo.as_str().split('/').nth(1).unwrap_or_default();
        let wanted: Vec<&String> = settings
            .override_teams
            .iter()
            .filter(|t| {
                let ok = project_of(t).is_some();
                if !ok {
                    warn!(team = %t, "override_teams entry without a [Project]\\ prefix ignored on Azure DevOps");
                }
                ok
            })
            .filter(|t| project_of(t).is_some_and(|p| p.eq_ignore_ascii_case(project)))
            .collect();
        if wanted.is_empty() {
            return Ok(false);
        }
        let groups = self
            .azure
            .client
            .groups_of(actor, self.author_id.as_deref().filter(|id| !id.is_empty()))
            .await?;
        Ok(groups
            .iter()
            .any(|g| wanted.iter().any(|w| group_matches(g, w))))
    }

    fn mention(&self, user: &str) -> String {
        user.to_string()
    }

    async fn checkout(&self, ctx: &WorkerContext, pr: &PullRequestRef) -> anyhow::Result<Checkout> {
        let url = pr.clone_url.as_deref().unwrap_or_default();
        check_clone_url(self.azure.client.config(), url).map_err(CloneUrlRefused)?;
        let token = self.azure.client.config().token.expose_secret().to_string();
        crate::worker::checkout::checkout(ctx, pr, Credentials::azure_devops(token))
            .await
            .map_err(|e| e.into_error())
    }
}
