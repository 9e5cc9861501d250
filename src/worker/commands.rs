//! `/thoth` comment commands: parse (only new commands of an edit, each line once, at most ten),
//! authorize, act within the user's budget, acknowledge, and answer with one reply per comment
//! listing every command's result. The logic is the same on every forge; what differs (reading the
//! pull request, acknowledging, replying, "may write", checkout credentials) sits behind
//! [`CommandForge`], implemented in [`github`] and [`azure`].
//!
//! Every effect is idempotent so a retried job does no harm: follow-up jobs are enqueued under
//! a delivery id derived from the comment's job, replies carry a hidden marker and are posted
//! only if no reply of the bot's own with that marker exists, reactions are idempotent on
//! GitHub, and audit records get ids derived from the job.
//!
//! Anyone who can comment may try to flood the bot or get a PR approved: an edit runs only when
//! its author made it, `rerun`, `review`, `explain` and `help` count against a per-user, per-PR hourly
//! budget kept in the store, and an override binds to the evaluation the overrider saw.

mod actions;
mod azure;
mod budget;
mod github;
mod reply;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::WorkerContext;
use super::checkout::Checkout;
use crate::command::{
    Command, OverrideDecision, ParsedLine, help_text_for, limit_commands, new_commands,
};
use crate::config::{CommandSettings, OverrideAfterPush};
use crate::event::{CommentEvent, PullRequest, PullRequestRef};
use crate::ids::{CommitSha, DecisionId, Platform, RepoId};
use crate::store::{DecisionRecord, Job, Override};

/// Cached answers of "may this user override on this repository?" (per repo and user).
#[derive(Default)]
pub struct PermissionCache {
    entries: Mutex<HashMap<(String, String), (bool, Instant)>>,
}

impl PermissionCache {
    fn get(&self, key: &(String, String), ttl: Duration) -> Option<bool> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(v, _)| *v)
    }

    fn put(&self, key: (String, String), allowed: bool) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(key, (allowed, Instant::now()));
    }
}

/// How a command is acknowledged on the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ack {
    /// Answered or applied.
    Done,
    /// An evaluation was queued.
    Started,
    /// Not understood or not allowed.
    Refused,
}

/// What a forge does for comment commands, bound to one comment.
#[async_trait]
pub(super) trait CommandForge: Send + Sync {
    /// The pull request as it is now.
    async fn pull(&self) -> anyhow::Result<PullRequest>;
    /// Acknowledges on the comment itself; `false` if the forge cannot (a reply is posted).
    async fn react(&self, ack: Ack) -> anyhow::Result<bool>;
    /// The comment's id as reply markers name it.
    fn reply_key(&self) -> String;
    /// Posts `body` (which holds `marker`) unless a reply with `marker` exists already.
    async fn reply_once(&self, marker: &str, body: &str) -> anyhow::Result<()>;
    /// Whether a reply with `marker` exists.
    async fn has_reply(&self, marker: &str) -> anyhow::Result<bool>;
    /// Who pushed commits to the pull request (authors and committers), as `author` names users.
    async fn pushers(&self) -> anyhow::Result<Vec<String>>;
    /// Does the forge itself grant `actor` the right to override (write access, teams)?
    async fn is_writer(&self, settings: &CommandSettings, actor: &str) -> anyhow::Result<bool>;
    /// How a reply names a user.
    fn mention(&self, user: &str) -> String;
    /// Checks out the pull request with this forge's credentials.
    async fn checkout(&self, ctx: &WorkerContext, pr: &PullRequestRef) -> anyhow::Result<Checkout>;
}

/// Handles one comment.
pub async fn handle(
    ctx: &WorkerContext,
    job: &Job,
    mut comment: CommentEvent,
) -> anyhow::Result<()> {
    // Who wrote what comes from the API on Azure DevOps (GitHub signs its deliveries).
    let mut azure_author = None;
    if comment.platform == Platform::AzureDevOps {
        match azure::confirm(ctx, &mut comment).await? {
            Some(id) => azure_author = Some(id),
            None => return Ok(()),
        }
    }
    if comment.author_is_bot {
        info!(author = %comment.author, "comment by a bot ignored");
        return Ok(());
    }
    let commands = new_commands(&comment.body, comment.previous_body.as_deref());
    if commands.is_empty() {
        return Ok(());
    }
    if let Some(editor) = comment.editor.as_deref()
        && !editor.eq_ignore_ascii_case(&comment.author)
    {
        return actions::refuse_foreign_edit(ctx, job, &comment, editor, &commands).await;
    }
    let (commands, over_limit) = limit_commands(commands);
    let forge: Box<dyn CommandForge + '_> = match comment.platform {
        Platform::GitHub => Box::new(github::GithubForge::new(ctx, &comment)?),
        Platform::AzureDevOps => Box::new(azure::AzureForge::new(ctx, &comment, azure_author)?),
    };
    let pull = forge.pull().await?;
    let run = Run {
        ctx,
        job,
        forge: forge.as_ref(),
        comment: &comment,
        pull: &pull,
        commands: &commands,
        sections: Mutex::new(Vec::new()),
    };
    let mut ran = 0;
    for (i, parsed) in commands.iter().enumerate() {
        // Azure DevOps deliveries of an edited comment carry no previous body, so every command
        // of the comment comes again; on Azure every command is listed in a reply of the bot's,
        // so a reply with this command's marker means it already ran.
        if comment.platform == Platform::AzureDevOps && forge.has_reply(&run.marker(parsed)).await?
        {
            info!(line = %parsed.line, "command already handled");
            continue;
        }
        info!(line = %parsed.line, "command");
        run.one(i, parsed).await?;
        ran += 1;
    }
    // An Azure DevOps edit repeats the whole comment: its refused commands were listed already
    // unless something new ran.
    if !over_limit.is_empty() && ran > 0 {
        warn!(
            count = over_limit.len(),
            "commands over the per-comment limit refused"
        );
        run.react(Ack::Refused).await?;
        run.push_section(reply::over_limit(&over_limit), true);
    }
    run.finish().await
}

struct Run<'a> {
    ctx: &'a WorkerContext,
    job: &'a Job,
    forge: &'a dyn CommandForge,
    comment: &'a CommentEvent,
    pull: &'a PullRequest,
    /// The commands being run (index `i` in the methods below).
    commands: &'a [ParsedLine],
    /// Each command's result, for the one reply ([`Run::finish`]).
    sections: Mutex<Vec<reply::Section>>,
}

impl Run<'_> {
    async fn one(&self, i: usize, parsed: &ParsedLine) -> anyhow::Result<()> {
        let cmd = match &parsed.result {
            Ok(cmd) => cmd,
            Err(e) => {
                self.react(Ack::Refused).await?;
                return self.reply(i, &e.reply()).await;
            }
        };
        if !matches!(cmd, Command::Override { .. }) && !self.within_budget(i).await? {
            return Ok(());
        }
        match cmd {
            Command::Help => {
                self.react(Ack::Done).await?;
                self.reply(i, &help_text_for(self.ctx.ai.is_some())).await
            }
            Command::Rerun => {
                self.enqueue_evaluation(i, "comment.rerun").await?;
                self.ack_only(i, Ack::Started, "Evaluating the head commit again.")
                    .await
            }
            Command::Review if self.ctx.ai.is_none() => {
                self.react(Ack::Refused).await?;
                let text = format!(
                    "> {}\n\nNo AI model is configured on this thoth-bot server, so there is no AI review to run.",
                    self.line(i)
                );
                self.reply(i, &text).await
            }
            Command::Review => {
                self.enqueue_evaluation(i, super::ai::REVIEW_REASON).await?;
                self.ack_only(
                    i,
                    Ack::Started,
                    "Evaluating the head commit again, with the AI review.",
                )
                .await
            }
            Command::Explain { rule_id } => {
                let text = self.explain(rule_id).await?;
                self.react(Ack::Done).await?;
                self.reply(i, &text).await
            }
            Command::Override { decision, reason } => {
                self.override_decision(i, *decision, reason).await
            }
        }
    }

    async fn override_decision(
        &self,
        i: usize,
        decision: OverrideDecision,
        reason: &str,
    ) -> anyhow::Result<()> {
        let c = self.comment;
        let verdict = authorize(
            &self.ctx.commands,
            &self.ctx.permission_cache,
            self.forge,
            &c.repo,
            &c.author,
            self.pull.author.as_deref().unwrap_or_default(),
        )
        .await?;
        // The evaluation the overrider saw: the last one recorded before the comment was
        // written. The override binds to its head and findings, never to a later push.
        let seen = self.seen_evaluation().await?;
        let mut record = DecisionRecord {
            id: self.record_id(i),
            at: Utc::now(),
            platform: c.platform,
            repo: c.repo.clone(),
            pr: c.pr,
            head_sha: self.pull.head_sha.clone(),
            decision: format!("override:{decision}"),
            risk: 0,
            confidence: 1.0,
            reasons: vec![format!("reason: {reason}")],
            findings_digest: String::new(),
            actor: c.author.clone(),
            downgraded_from: None,
            dry_run: false,
        };
        if let Err(who) = verdict {
            warn!(actor = %c.author, "override refused");
            record.decision = format!("override-refused:{decision}");
            record.reasons.push(who.clone());
            self.ctx.store.record_decision(&record).await?;
            self.react(Ack::Refused).await?;
            let text = format!(
                "> {}\n\n{}, your override was not applied: {who}",
                self.line(i),
                self.forge.mention(&c.author)
            );
            return self.reply(i, &text).await;
        }
        let (head_sha, digest) = match seen {
            Some(seen) => (seen.head_sha, seen.findings_digest),
            None => {
                // No evaluation recorded before the comment (not evaluated yet, or dry run):
                // the head as it is now, and its findings if it was evaluated meanwhile.
                let state = self.ctx.store.pr_state(c.platform, &c.repo, c.pr).await?;
                let digest = state
                    .filter(|s| s.last_head_sha.as_ref() == Some(&self.pull.head_sha))
                    .and_then(|s| s.last_findings_digest)
                    .unwrap_or_default();
                (self.pull.head_sha.clone(), digest)
            }
        };
        if head_sha != self.pull.head_sha
            && self.ctx.commands.override_after_push == OverrideAfterPush::Drop
        {
            warn!(actor = %c.author, seen = %head_sha, now = %self.pull.head_sha, "override of a head pushed over refused");
            record.decision = format!("override-stale:{decision}");
            record.head_sha = head_sha.clone();
            self.ctx.store.record_decision(&record).await?;
            self.react(Ack::Refused).await?;
            let text = format!(
                "> {}\n\n{}, your override was not applied: commits were pushed after the evaluation you saw (`{}`, now `{}`). Look at the new evaluation and override again if it still holds.",
                self.line(i),
                self.forge.mention(&c.author),
                short_sha(&head_sha),
                short_sha(&self.pull.head_sha),
            );
            return self.reply(i, &text).await;
        }
        record.head_sha = head_sha.clone();
        record.findings_digest = digest.clone();
        self.ctx.store.record_decision(&record).await?;
        self.ctx
            .store
            .put_override(&Override {
                platform: c.platform,
                repo: c.repo.clone(),
                pr: c.pr,
                head_sha,
                decision,
                reason: reason.to_string(),
                actor: c.author.clone(),
                findings_digest: digest,
                at: Utc::now(),
            })
            .await?;
        info!(actor = %c.author, %decision, "override accepted");
        // Publishing goes through a normal evaluation of the head, which applies the override
        // (check conclusion, review, summary) and keeps everything in one code path.
        self.enqueue_evaluation(i, "comment.override").await?;
        let note = format!(
            "Override `{decision}` by {} recorded; evaluating again to apply it.",
            self.forge.mention(&c.author)
        );
        self.ack_only(i, Ack::Done, &note).await
    }

    fn line(&self, i: usize) -> String {
        self.commands
            .get(i)
            .map(|p| p.line.clone())
            .unwrap_or_default()
    }

    /// The hidden marker of a command in the reply: the comment, the line's hash and its
    /// occurrence, so the same command keeps its marker when an edit adds or moves other lines.
    fn marker(&self, p: &ParsedLine) -> String {
        let hash = Sha256::digest(p.line.as_bytes());
        let short: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "<!-- thoth-bot:cmd:{}:{short}-{} -->",
            self.forge.reply_key(),
            p.occurrence
        )
    }

    async fn react(&self, ack: Ack) -> anyhow::Result<()> {
        self.forge.react(ack).await.map(drop)
    }

    /// Acknowledges a command that has no reply of its own: a reaction where the forge has
    /// them (the note is then listed only if the comment gets a reply anyway), else `note`.
    async fn ack_only(&self, i: usize, ack: Ack, note: &str) -> anyhow::Result<()> {
        let reacted = self.forge.react(ack).await?;
        self.push_command(i, format!("> {}\n\n{note}", self.line(i)), !reacted);
        Ok(())
    }

    /// Adds this command's answer to the comment's one reply.
    async fn reply(&self, i: usize, text: &str) -> anyhow::Result<()> {
        self.push_command(i, text.to_string(), true);
        Ok(())
    }

    fn push_command(&self, i: usize, text: String, needs_reply: bool) {
        let marker = self.commands.get(i).map(|p| self.marker(p));
        let mut sections = self.sections.lock().unwrap_or_else(|p| p.into_inner());
        sections.push(reply::Section {
            marker,
            text,
            needs_reply,
        });
    }

    fn push_section(&self, text: String, needs_reply: bool) {
        let mut sections = self.sections.lock().unwrap_or_else(|p| p.into_inner());
        sections.push(reply::Section {
            marker: None,
            text,
            needs_reply,
        });
    }

    /// Posts the comment's one reply unless it exists already (a retried job), when any
    /// result needs one.
    async fn finish(&self) -> anyhow::Result<()> {
        let sections =
            std::mem::take(&mut *self.sections.lock().unwrap_or_else(|p| p.into_inner()));
        let Some((marker, body)) = reply::compose(&self.forge.reply_key(), &sections) else {
            return Ok(());
        };
        self.forge.reply_once(&marker, &body).await
    }

    /// Audit ids derived from the job and command index, so a retry does not add a record.
    fn record_id(&self, i: usize) -> DecisionId {
        derived_id(self.job, &format!("cmd{i}"))
    }
}

/// What a refused overrider is told. It does not say who may: a list of the accounts that can
/// approve is a target list for whoever wants to get a change through.
pub(super) const NOT_ALLOWED: &str =
    "you are not allowed to override thoth-bot on this repository; ask a maintainer.";

/// An audit id derived from the job, so a retried job does not add a second record.
fn derived_id(job: &Job, what: &str) -> DecisionId {
    let name = format!("{}#{what}", job.id);
    let hash = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    DecisionId(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

fn short_sha(sha: &CommitSha) -> &str {
    sha.as_str().get(..7).unwrap_or(sha.as_str())
}

/// May `actor` override on `repo`? `Err` carries the reply saying why not.
pub(super) async fn authorize(
    settings: &CommandSettings,
    cache: &PermissionCache,
    forge: &dyn CommandForge,
    repo: &RepoId,
    actor: &str,
    pr_author: &str,
) -> anyhow::Result<Result<(), String>> {
    if actor.eq_ignore_ascii_case(pr_author) && !settings.allow_self_override {
        return Ok(Err(
            "the author of a pull request may not override the bot on it; ask a reviewer with write access."
                .into(),
        ));
    }
    // Whoever pushed commits to the PR is one of its authors too.
    if !settings.allow_self_override
        && forge
            .pushers()
            .await?
            .iter()
            .any(|p| p.eq_ignore_ascii_case(actor))
    {
        return Ok(Err(
            "you pushed commits to this pull request, so you may not override the bot on it; ask a reviewer with write access."
                .into(),
        ));
    }
    if settings
        .override_users
        .iter()
        .any(|u| u.trim_start_matches('@').eq_ignore_ascii_case(actor))
    {
        return Ok(Ok(()));
    }
    let key = (repo.to_string(), actor.to_ascii_lowercase());
    let ttl = Duration::from_secs(settings.permission_cache_secs);
    let allowed = match cache.get(&key, ttl) {
        Some(v) => v,
        None => {
            let allowed = forge.is_writer(settings, actor).await?;
            cache.put(key, allowed);
            allowed
        }
    };
    if allowed {
        return Ok(Ok(()));
    }
    Ok(Err(NOT_ALLOWED.into()))
}
