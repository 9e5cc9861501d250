//! What commands do besides answering: queue an evaluation, document a rule, find the
//! evaluation an overrider saw, and audit commands edited into someone else's comment.

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use tracing::{info, warn};

use super::{Run, derived_id};
use crate::check::{CheckOptions, explain_rule};
use crate::command::ParsedLine;
use crate::event::{CommentEvent, JobPayload, PullRequestRef, UNKNOWN_SHA};
use crate::forge::azure::CloneUrlRefused;
use crate::ids::DeliveryId;
use crate::store::{DecisionRecord, EnqueueOutcome, Job};
use crate::worker::WorkerContext;

/// Someone else edited commands into `comment` (maintainers can edit any comment): running them
/// would act in the author's name. Nothing runs; the audit trail says who tried.
pub(super) async fn refuse_foreign_edit(
    ctx: &WorkerContext,
    job: &Job,
    comment: &CommentEvent,
    editor: &str,
    commands: &[ParsedLine],
) -> anyhow::Result<()> {
    warn!(%editor, author = %comment.author, "commands edited in by someone else ignored");
    let record = DecisionRecord {
        id: derived_id(job, "edited-by-other"),
        at: Utc::now(),
        platform: comment.platform,
        repo: comment.repo.clone(),
        pr: comment.pr,
        head_sha: UNKNOWN_SHA.parse()?,
        decision: "command-refused:edited-by-other".into(),
        risk: 0,
        confidence: 1.0,
        reasons: vec![format!(
            "{editor} edited a comment of {} to add: {}",
            comment.author,
            commands
                .iter()
                .map(|p| p.line.chars().take(200).collect::<String>())
                .collect::<Vec<_>>()
                .join(" | ")
        )],
        findings_digest: String::new(),
        actor: editor.to_string(),
        downgraded_from: None,
        dry_run: false,
    };
    ctx.store.record_decision(&record).await?;
    Ok(())
}

/// Audit records of an evaluation (the bot's decision or an applied override), not of a
/// command.
fn is_evaluation(decision: &str) -> bool {
    ![
        "override:",
        "override-refused:",
        "override-stale:",
        "command-",
    ]
    .iter()
    .any(|p| decision.starts_with(p))
}

impl Run<'_> {
    pub(super) async fn enqueue_evaluation(&self, i: usize, reason: &str) -> anyhow::Result<()> {
        let payload = JobPayload::Evaluate {
            pr: PullRequestRef::of_comment(self.comment, self.pull),
            reason: reason.to_string(),
        };
        let delivery: DeliveryId = format!("{}#cmd{i}", self.job.delivery)
            .parse()
            .or_else(|_| format!("cmd-{}-{i}", self.job.id).parse())
            .context("follow-up delivery id")?;
        let job = crate::queue::new_job(&payload, delivery);
        match self.ctx.store.enqueue(job, Utc::now()).await? {
            EnqueueOutcome::Enqueued(id) => {
                info!(job = %id, %reason, "evaluation enqueued");
                self.ctx.wake.notify_one();
            }
            EnqueueOutcome::Duplicate => info!(%reason, "evaluation was enqueued before"),
        }
        Ok(())
    }

    pub(super) async fn explain(&self, rule_id: &str) -> anyhow::Result<String> {
        let pr = PullRequestRef::of_comment(self.comment, self.pull);
        let checkout = match self.forge.checkout(self.ctx, &pr).await {
            Ok(c) => c,
            // Retrying cannot change the answer: say why instead of failing the job.
            Err(e) if e.downcast_ref::<CloneUrlRefused>().is_some() => {
                warn!(error = %e, "explain: clone URL refused");
                return Ok(format!("Cannot check out this pull request: {e}"));
            }
            Err(e) => return Err(e),
        };
        // Rules are documented by the policies the PR is judged by: the base branch's.
        let mut opts = CheckOptions::new(&checkout.head);
        opts.config_dir = checkout.base.clone();
        opts.org_policy = checkout.org_dir();
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

    /// The last evaluation of the PR recorded at or before the comment was written.
    pub(super) async fn seen_evaluation(&self) -> anyhow::Result<Option<DecisionRecord>> {
        let c = self.comment;
        let Some(at) = c.written_at else {
            return Ok(None);
        };
        let since = at - TimeDelta::days(30);
        let records = self
            .ctx
            .store
            .decisions(Some(&c.repo), since, 2_000)
            .await?;
        Ok(records.into_iter().find(|r| {
            r.platform == c.platform && r.pr == c.pr && r.at <= at && is_evaluation(&r.decision)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::is_evaluation;

    #[test]
    fn commands_records_are_not_evaluations() {
        for d in ["reject", "comment", "approve", "override-applied:approve"] {
            assert!(is_evaluation(d), "{d}");
        }
        for d in [
            "override:approve",
            "override-refused:approve",
            "override-stale:approve",
            "command-refused:edited-by-other",
        ] {
            assert!(!is_evaluation(d), "{d}");
        }
    }
}
