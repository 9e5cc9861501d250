//! The decision step shared by both forges: the engine's proposal from the findings, a human
//! override when one still holds (its head, or with `[commands] override_after_push =
//! "keep-if-same-findings"` the same failing findings on a later head), otherwise the safety
//! guard; every outcome is an audit record.

use anyhow::bail;
use chrono::Utc;
use tracing::{info, warn};

use super::WorkerContext;
use super::ai::AiOutcome;
use super::checkout::Checkout;
use super::details::{Evaluated, Recorded, record};
use crate::config::OverrideAfterPush;
use crate::decision::ai::tighten;
use crate::decision::config::DecisionConfig;
use crate::decision::human::OverrideDecision;
use crate::decision::safety::{PrContext, guard};
use crate::decision::{Decision, DecisionKind, evaluate as decide};
use crate::event::{JobPayload, PullRequestRef};
use crate::finding::CheckReport;
use crate::forge::{CheckConclusion, PlanContext, PublishPlan, plan_from};
use crate::ids::DecisionId;
use crate::store::evaluation::StageTime;
use crate::store::ledger::StoreLedger;
use crate::store::{DecisionRecord, Job, Override};

/// The decision to publish, notes for the summary, and the override it carries out, if any.
pub(super) struct Decided {
    pub(super) decision: Decision,
    pub(super) notes: Vec<String>,
    pub(super) applied_override: Option<Override>,
}

/// A human override replaces the merge-gate conclusion too: approve passes, the others fail.
pub(super) fn override_conclusion(o: &Override) -> CheckConclusion {
    if o.decision == OverrideDecision::Approve {
        CheckConclusion::Success
    } else {
        CheckConclusion::Failure
    }
}

/// Whether a stored override still applies to an evaluation of `pr` with `digest`. On the head
/// it was given for, the failing findings must be those the overrider saw (the base may have
/// moved); after a push only with `keep-if-same-findings`, and again only with the same
/// findings. An override given before the head was ever evaluated (no digest) holds for that
/// head only.
fn override_holds(
    o: &Override,
    pr: &PullRequestRef,
    digest: &str,
    after_push: OverrideAfterPush,
) -> bool {
    let same_findings = o.findings_digest == digest;
    if o.head_sha == pr.head_sha {
        return o.findings_digest.is_empty() || same_findings;
    }
    after_push == OverrideAfterPush::KeepIfSameFindings
        && !o.findings_digest.is_empty()
        && same_findings
}

/// The audit record's reasons: the decision's, after a line naming the trigger when the
/// evaluation was not caused by a webhook (reconciliation after an outage), so `thoth-bot
/// history` shows why the bot acted without an event.
fn audit_reasons(reasons: &[String], job: &Job) -> Vec<String> {
    let trigger = match serde_json::from_value::<JobPayload>(job.payload.clone()) {
        Ok(JobPayload::Evaluate { reason, .. }) if reason == crate::recovery::REASON => reason,
        _ => return reasons.to_vec(),
    };
    let mut out = vec![format!(
        "trigger: {trigger} (no thoth result on this head after an outage; its webhook was lost)"
    )];
    out.extend(reasons.iter().cloned());
    out
}

pub(super) async fn decide_with_guard(
    ctx: &WorkerContext,
    job: &Job,
    pr: &PullRequestRef,
    co: &Checkout,
    report: &CheckReport,
    ai: &AiOutcome,
    waiting_for_plan: Option<&str>,
) -> anyhow::Result<Decided> {
    let mut notes = ai.notes.clone();
    notes.extend(waiting_for_plan.map(str::to_string));
    let cfg_dir = co
        .base
        .clone()
        .unwrap_or_else(|| co.head.with_file_name("no-base"));
    let org_dir = co.org_dir();
    let org = org_dir.as_deref();
    let domain = crate::gates::structure::load_config(&cfg_dir, None, org)
        .ok()
        .and_then(|c| c.governance.domain);
    let cfg = match crate::decision::org_default::decision_config(&cfg_dir, org, domain.as_deref())
    {
        Ok((c, from)) => {
            // Say so when the thresholds are the org's default, not the repository's own.
            if let Some(from) = from.filter(|f| f.starts_with("org ")) {
                notes.push(format!("decision config from {from}"));
            }
            c
        }
        Err(e) => {
            // A broken decision config must not approve anything: the defaults only comment.
            // The note names the file as the repository does, not where the bot checked it out.
            warn!(error = %e, "decision config ignored");
            notes.push(format!(
                "decision config ignored: {}",
                super::cause::relative_to(&e.to_string(), &cfg_dir)
            ));
            DecisionConfig::default()
        }
    };
    // Several projects: each with its own decision config, the worst one decides.
    let (mut proposed, cfg) = match crate::decision::projects::evaluate_projects(report, &|p| {
        crate::decision::projects::project_config(&cfg_dir, p, org)
    }) {
        Some((d, c)) => (d, c),
        None => (decide(report, &cfg), cfg),
    };
    if let Some(section) = &ai.section {
        proposed = tighten(proposed, &section.answer, &cfg, section.findings_block);
    }
    // Nothing is approved before the plan it is to be judged on has come.
    if waiting_for_plan.is_some() && proposed.kind == DecisionKind::Approve {
        proposed.kind = DecisionKind::Comment;
        proposed.proposed = DecisionKind::Comment;
        proposed.reasons.insert(
            0,
            "waiting for plan: not approved before it is judged".into(),
        );
    }
    match ctx.store.get_override(pr.platform, &pr.repo, pr.pr).await? {
        Some(mut o)
            if override_holds(
                &o,
                pr,
                &proposed.findings_digest,
                ctx.commands.override_after_push,
            ) =>
        {
            let kind = o.decision.kind();
            if o.findings_digest.is_empty() {
                o.findings_digest = proposed.findings_digest.clone();
                ctx.store.put_override(&o).await?;
            }
            notes.push(format!(
                "Overridden by @{} ({}): {}",
                o.actor, o.decision, o.reason
            ));
            // A human decision: not subject to the safety guard's limits, recorded as theirs.
            let decision = Decision {
                kind,
                reasons: vec![format!(
                    "overridden by @{}: {} (the bot proposed {})",
                    o.actor, o.reason, proposed.kind
                )],
                downgrade: None,
                ..proposed
            };
            let record = DecisionRecord {
                id: DecisionId::new(),
                at: Utc::now(),
                platform: pr.platform,
                repo: pr.repo.clone(),
                pr: pr.pr,
                head_sha: pr.head_sha.clone(),
                decision: format!("override-applied:{}", o.decision),
                risk: decision.risk,
                confidence: decision.confidence,
                reasons: audit_reasons(&decision.reasons, job),
                findings_digest: decision.findings_digest.clone(),
                actor: o.actor.clone(),
                downgraded_from: None,
                dry_run: false,
            };
            ctx.store.record_decision(&record).await?;
            return Ok(Decided {
                decision,
                notes,
                applied_override: Some(o),
            });
        }
        Some(o) => {
            ctx.store
                .clear_override(pr.platform, &pr.repo, pr.pr)
                .await?;
            let why = if o.head_sha != pr.head_sha
                && ctx.commands.override_after_push == OverrideAfterPush::Drop
            {
                "commits were pushed after it was given"
            } else {
                "the failing findings changed since it was given"
            };
            info!(actor = %o.actor, why, "override dropped");
            notes.push(format!(
                "The override by @{} ({}) no longer applies: {why}.",
                o.actor, o.decision
            ));
        }
        None => {}
    }
    let pr_ctx = PrContext {
        repo: pr.repo.to_string(),
        author: pr.author.clone().unwrap_or_default(),
        labels: pr.labels.clone(),
        draft: pr.draft,
    };
    let ledger = StoreLedger(ctx.store.clone());
    let now = Utc::now();
    let decision = match guard(proposed.clone(), &pr_ctx, &cfg, &ledger, &ctx.burst, now).await {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "safety guard failed; commenting only");
            notes.push("the safety ledger was unavailable: commenting only".into());
            Decision {
                kind: DecisionKind::Comment,
                ..proposed
            }
        }
    };
    if !cfg.dry_run {
        let record = DecisionRecord {
            id: DecisionId::new(),
            at: now,
            platform: pr.platform,
            repo: pr.repo.clone(),
            pr: pr.pr,
            head_sha: pr.head_sha.clone(),
            decision: decision.kind.as_str().to_string(),
            risk: decision.risk,
            confidence: decision.confidence,
            reasons: audit_reasons(&decision.reasons, job),
            findings_digest: decision.findings_digest.clone(),
            actor: "thoth".into(),
            downgraded_from: (decision.kind != decision.proposed)
                .then(|| decision.proposed.as_str().to_string()),
            dry_run: false,
        };
        ctx.store.record_decision(&record).await?;
    }
    Ok(Decided {
        decision,
        notes,
        applied_override: None,
    })
}

/// What the gates and the AI review found, with the time each stage took.
pub(super) struct Evidence<'a> {
    pub(super) report: &'a CheckReport,
    pub(super) stages: Vec<StageTime>,
    pub(super) ai: AiOutcome,
    /// Set while `require_plan` waits for a pushed plan: the note to show.
    pub(super) waiting_for_plan: Option<String>,
}

/// Decides on the gates' report (tightened by the AI review) and plans what to publish. The
/// lease is checked after the (slow) decision so a worker that lost its job to another never
/// publishes.
pub(super) async fn decide_and_plan(
    ctx: &WorkerContext,
    worker: &str,
    job: &Job,
    pr: &PullRequestRef,
    co: &Checkout,
    evidence: Evidence<'_>,
) -> anyhow::Result<(Decision, PublishPlan, Option<Recorded>)> {
    let Evidence {
        report,
        mut stages,
        ai,
        waiting_for_plan,
    } = evidence;
    let started = std::time::Instant::now();
    let Decided {
        decision,
        notes,
        applied_override,
    } = decide_with_guard(ctx, job, pr, co, report, &ai, waiting_for_plan.as_deref()).await?;
    if !ctx
        .store
        .heartbeat(job.id, worker, ctx.lease, Utc::now())
        .await?
    {
        bail!("the job's lease was lost; another worker will publish");
    }
    let suggestions = super::suggest::offered(co, report, ai.section.as_ref()).await;
    let mut plan = plan_from(
        report,
        &decision,
        &PlanContext {
            head_sha: Some(pr.head_sha.clone()),
            notes: notes.clone(),
            overridden: applied_override.as_ref().map(override_conclusion),
            ai: ai.section,
            suggestions,
            inline_suggestions: pr.platform == crate::ids::Platform::GitHub,
        },
    );
    if let Some(o) = &applied_override {
        plan.title = format!("Overridden by @{}: {}", o.actor, o.decision);
    } else if waiting_for_plan.is_some() {
        wait_for_plan(&mut plan);
    }
    stages.push(StageTime {
        stage: "decide".into(),
        seconds: started.elapsed().as_secs_f64(),
    });
    let evaluated = Evaluated {
        pr,
        co,
        report,
        decision: &decision,
        notes: &notes,
        applied_override: applied_override.as_ref(),
        stages,
    };
    let recorded = record(ctx, evaluated, &mut plan).await;
    // GitHub wants a details link with `action_required`; without a details page (no
    // `public_url`) the pull request itself is where the pipeline's plan is awaited.
    if plan.conclusion == CheckConclusion::ActionRequired
        && plan.details_url.is_none()
        && pr.platform == crate::ids::Platform::GitHub
    {
        plan.details_url = ctx
            .repo_web_url(pr)
            .map(|repo| format!("{repo}/pull/{}", pr.pr));
    }
    Ok((decision, plan, recorded))
}

/// Holds the merge gate while `require_plan` waits: a result that would pass becomes
/// `action_required` on GitHub (a required check that does not pass) and a `pending` status on
/// Azure DevOps, titled "Waiting for plan"; blocking findings still fail it at once. The summary
/// says "waiting for plan" (the decision's note).
pub(super) fn wait_for_plan(plan: &mut PublishPlan) {
    if plan.conclusion != CheckConclusion::Failure {
        plan.conclusion = CheckConclusion::ActionRequired;
        plan.title = "Waiting for plan".into();
        plan.summary_markdown = format!("**Waiting for plan.**\n\n{}", plan.summary_markdown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Platform, PrNumber};

    fn pr(head: char) -> PullRequestRef {
        PullRequestRef::bare(
            Platform::GitHub,
            "acme/infra".parse().unwrap(),
            PrNumber(7),
            head.to_string().repeat(40).parse().unwrap(),
        )
    }

    fn given(head: char, digest: &str) -> Override {
        let p = pr(head);
        Override {
            platform: p.platform,
            repo: p.repo,
            pr: p.pr,
            head_sha: p.head_sha,
            decision: OverrideDecision::Approve,
            reason: "r".into(),
            actor: "m".into(),
            findings_digest: digest.into(),
            at: Utc::now(),
        }
    }

    #[test]
    fn a_push_ends_an_override_unless_kept_with_the_same_findings() {
        use OverrideAfterPush::{Drop, KeepIfSameFindings};
        let o = given('a', "d1");
        for mode in [Drop, KeepIfSameFindings] {
            assert!(override_holds(&o, &pr('a'), "d1", mode));
            // The base moved under the same head: other findings than the overrider saw.
            assert!(!override_holds(&o, &pr('a'), "d2", mode));
        }
        assert!(!override_holds(&o, &pr('b'), "d1", Drop));
        assert!(override_holds(&o, &pr('b'), "d1", KeepIfSameFindings));
        assert!(!override_holds(&o, &pr('b'), "d2", KeepIfSameFindings));
        // Given before any evaluation: that head only, whatever the mode.
        let early = given('a', "");
        assert!(override_holds(&early, &pr('a'), "d9", Drop));
        assert!(!override_holds(&early, &pr('b'), "", KeepIfSameFindings));
    }
}
