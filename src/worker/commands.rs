//! `/thoth` comment commands on GitHub: parse (only new commands of an edit), authorize, act,
//! acknowledge with a reaction, reply once.
//!
//! Every effect is idempotent so a retried job does no harm: follow-up jobs are enqueued under
//! a delivery id derived from the comment's job, replies carry a hidden marker and are posted
//! only if no reply with that marker exists, reactions are idempotent on GitHub, and audit
//! records get ids derived from the job.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::WorkerContext;
use crate::check::{CheckOptions, explain_rule};
use crate::checkout::Credentials;
use crate::commands::{Command, OverrideDecision, ParsedLine, help_text, new_commands};
use crate::config::CommandSettings;
use crate::event::{CommentEvent, JobPayload, PullRequestRef};
use crate::forge::github::{InstallationClient, PullInfo, Reaction};
use crate::ids::{DecisionId, DeliveryId, Platform, RepoId};
use crate::store::{DecisionRecord, EnqueueOutcome, Job, Override};

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

/// Handles one comment.
pub async fn handle(ctx: &WorkerContext, job: &Job, comment: CommentEvent) -> anyhow::Result<()> {
    if comment.author_is_bot {
        info!(author = %comment.author, "comment by a bot ignored");
        return Ok(());
    }
    let commands = new_commands(&comment.body, comment.previous_body.as_deref());
    if commands.is_empty() {
        return Ok(());
    }
    if comment.platform != Platform::GitHub {
        anyhow::bail!(
            "comment commands for {} are not wired yet",
            comment.platform
        );
    }
    let github = ctx
        .github
        .as_ref()
        .context("the GitHub App is not configured")?;
    let client = github.installation(
        comment
            .installation_id
            .context("the delivery names no installation")?,
    )?;
    let comment_id: u64 = comment
        .comment_id
        .parse()
        .context("comment id is not a number")?;
    let pull = client.pull_request(&comment.repo, comment.pr).await?;
    let run = Run {
        ctx,
        job,
        client: &client,
        comment: &comment,
        comment_id,
        pull: &pull,
    };
    for (i, parsed) in commands.iter().enumerate() {
        info!(line = %parsed.line, "command");
        run.one(i, parsed).await?;
    }
    Ok(())
}

struct Run<'a> {
    ctx: &'a WorkerContext,
    job: &'a Job,
    client: &'a InstallationClient,
    comment: &'a CommentEvent,
    comment_id: u64,
    pull: &'a PullInfo,
}

impl Run<'_> {
    async fn one(&self, i: usize, parsed: &ParsedLine) -> anyhow::Result<()> {
        let cmd = match &parsed.result {
            Ok(cmd) => cmd,
            Err(e) => {
                self.react(Reaction::Confused).await?;
                return self.reply(i, &e.reply()).await;
            }
        };
        match cmd {
            Command::Help => {
                self.react(Reaction::PlusOne).await?;
                self.reply(i, &help_text()).await
            }
            Command::Rerun => {
                self.enqueue_evaluation(i, "comment.rerun").await?;
                self.react(Reaction::Rocket).await
            }
            Command::Explain { rule_id } => {
                let text = self.explain(rule_id).await?;
                self.react(Reaction::PlusOne).await?;
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
            self.client,
            &c.repo,
            &c.author,
            &self.pull.author,
        )
        .await?;
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
            self.react(Reaction::Confused).await?;
            let text = format!(
                "> {}\n\n@{}, your override was not applied: {who}",
                self.line(i),
                c.author
            );
            return self.reply(i, &text).await;
        }
        let state = self.ctx.store.pr_state(c.platform, &c.repo, c.pr).await?;
        // The digest of the failing findings the overrider saw; evaluation keeps the override
        // only while the findings stay the same.
        let digest = state
            .filter(|s| s.last_head_sha.as_ref() == Some(&self.pull.head_sha))
            .and_then(|s| s.last_findings_digest)
            .unwrap_or_default();
        record.findings_digest = digest.clone();
        self.ctx.store.record_decision(&record).await?;
        self.ctx
            .store
            .put_override(&Override {
                platform: c.platform,
                repo: c.repo.clone(),
                pr: c.pr,
                head_sha: self.pull.head_sha.clone(),
                decision: decision.as_str().to_string(),
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
        self.react(Reaction::PlusOne).await
    }

    async fn enqueue_evaluation(&self, i: usize, reason: &str) -> anyhow::Result<()> {
        let c = self.comment;
        let p = self.pull;
        let payload = JobPayload::Evaluate {
            pr: PullRequestRef {
                platform: c.platform,
                repo: c.repo.clone(),
                pr: c.pr,
                head_sha: p.head_sha.clone(),
                base_sha: Some(p.base_sha.clone()),
                base_ref: Some(p.base_ref.clone()),
                head_ref: Some(p.head_ref.clone()),
                author: Some(p.author.clone()),
                labels: p.labels.clone(),
                draft: p.draft,
                clone_url: c.clone_url.clone(),
                installation_id: c.installation_id,
                needs_refresh: false,
            },
            reason: reason.to_string(),
        };
        let delivery: DeliveryId = format!("{}#cmd{i}", self.job.delivery)
            .parse()
            .or_else(|_| format!("cmd-{}-{i}", self.job.id).parse())
            .context("follow-up delivery id")?;
        let job = crate::webhook::new_job(&payload, delivery);
        match self.ctx.store.enqueue(job, Utc::now()).await? {
            EnqueueOutcome::Enqueued(id) => info!(job = %id, %reason, "evaluation enqueued"),
            EnqueueOutcome::Duplicate => info!(%reason, "evaluation was enqueued before"),
        }
        Ok(())
    }

    async fn explain(&self, rule_id: &str) -> anyhow::Result<String> {
        let pr = PullRequestRef {
            platform: self.comment.platform,
            repo: self.comment.repo.clone(),
            pr: self.comment.pr,
            head_sha: self.pull.head_sha.clone(),
            base_sha: Some(self.pull.base_sha.clone()),
            base_ref: Some(self.pull.base_ref.clone()),
            head_ref: Some(self.pull.head_ref.clone()),
            author: None,
            labels: Vec::new(),
            draft: false,
            clone_url: self.comment.clone_url.clone(),
            installation_id: self.comment.installation_id,
            needs_refresh: false,
        };
        let token = self.client.installation_token().await?;
        let checkout =
            super::evaluate::checkout(self.ctx, &pr, Credentials::github_installation(token))
                .await
                .map_err(|e| e.into_error())?;
        // Rules are documented by the policies the PR is judged by: the base branch's.
        let mut opts = CheckOptions::new(&checkout.head);
        opts.config_dir = checkout.base.clone();
        opts.org_policy = self.ctx.policy_repo.clone();
        let id = rule_id.to_string();
        let doc = tokio::task::spawn_blocking(move || explain_rule(&opts, &id)).await?;
        Ok(match doc {
            Some(doc) => doc.to_markdown(),
            None => format!(
                "No policy of this repository's base branch, the organisation's policy repository or the built-in library documents `{}`.",
                rule_id.replace('`', "'")
            ),
        })
    }

    fn line(&self, i: usize) -> String {
        new_commands(&self.comment.body, self.comment.previous_body.as_deref())
            .get(i)
            .map(|p| p.line.clone())
            .unwrap_or_default()
    }

    /// The acknowledgement is best effort: a comment deleted meanwhile must not undo the
    /// command, but a rate limit is retried with the job.
    async fn react(&self, reaction: Reaction) -> anyhow::Result<()> {
        match self
            .client
            .add_reaction(&self.comment.repo, self.comment_id, reaction)
            .await
        {
            Ok(()) => Ok(()),
            Err(e @ crate::forge::ForgeError::RateLimited { .. }) => Err(e.into()),
            Err(e) => {
                warn!(error = %e, "cannot react to the comment");
                Ok(())
            }
        }
    }

    /// Posts a reply unless this command's reply exists already (a retried job).
    async fn reply(&self, i: usize, text: &str) -> anyhow::Result<()> {
        let marker = format!("<!-- thoth-bot:reply:{}:{i} -->", self.comment_id);
        let body = format!("{marker}\n{text}");
        self.client
            .post_comment_once(&self.comment.repo, self.comment.pr, &marker, &body)
            .await?;
        Ok(())
    }

    /// Audit ids derived from the job and command index, so a retry does not add a record.
    fn record_id(&self, i: usize) -> DecisionId {
        let name = format!("{}#cmd{i}", self.job.id);
        let hash = Sha256::digest(name.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[..16]);
        DecisionId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

/// May `actor` override on `repo`? `Err` carries the reply saying who may.
pub async fn authorize(
    settings: &CommandSettings,
    cache: &PermissionCache,
    client: &InstallationClient,
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
            let mut allowed = client
                .collaborator_permission(repo, actor)
                .await?
                .can_write();
            let owner = repo.to_string();
            let owner = owner.split('/').next().unwrap_or_default().to_string();
            for team in &settings.override_teams {
                if allowed {
                    break;
                }
                let (org, slug) = team.split_once('/').unwrap_or((owner.as_str(), team));
                allowed = client.is_team_member(org, slug, actor).await?;
            }
            cache.put(key, allowed);
            allowed
        }
    };
    if allowed {
        return Ok(Ok(()));
    }
    let mut who = format!("only users with write, maintain or admin permission on {repo}");
    if !settings.override_users.is_empty() {
        let users: Vec<String> = settings
            .override_users
            .iter()
            .map(|u| format!("@{}", u.trim_start_matches('@')))
            .collect();
        who.push_str(&format!(", {}", users.join(", ")));
    }
    if !settings.override_teams.is_empty() {
        who.push_str(&format!(
            ", or members of {}",
            settings.override_teams.join(", ")
        ));
    }
    who.push_str(" may override thoth-bot.");
    Ok(Err(who))
}
