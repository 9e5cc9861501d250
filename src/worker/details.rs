//! The hook between an evaluation and its details page: [`record`] stores the evaluation (findings,
//! decision, policy sets, stage times) and puts the signed link to its page into the publish plan
//! (the check run's `details_url`, the Azure DevOps status `targetUrl`, a line in the summary);
//! [`finish`] adds the publish time once the forge has it. Both forges call them the same way.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use tracing::warn;

use super::WorkerContext;
use super::checkout::Checkout;
use crate::check::{CheckOptions, policy_sources};
use crate::decision::Decision;
use crate::decision::safety::Downgrade;
use crate::event::PullRequestRef;
use crate::finding::{CheckReport, Finding, Gate};
use crate::forge::{MAX_BODY_BYTES, PublishPlan, SUMMARY_MARKER, cap_markdown};
use crate::gates::rego::explain::Explainer;
use crate::gates::rego::{LoadOptions, PolicySet, PolicySource};
use crate::store::evaluation::{
    AppliedOverride, MAX_STORED_FINDINGS, PolicySetRun, StageTime, StoredFinding,
};
use crate::store::{EvaluationId, EvaluationRecord, Override};

/// Distinct rules whose `explain` text is looked up per evaluation.
const MAX_EXPLAINED_RULES: usize = 30;

/// What the summary says when no link can be posted.
pub const NO_PUBLIC_URL_HINT: &str = "_A details page with every finding is available once \
     `public_url` (or `THOTH_PUBLIC_URL`) is set to the address users reach thoth-bot at._";

/// An evaluation stored by [`record`], for [`finish`].
pub(super) struct Recorded(EvaluationRecord);

/// What [`record`] needs besides the worker context.
pub(super) struct Evaluated<'a> {
    pub pr: &'a PullRequestRef,
    pub co: &'a Checkout,
    pub report: &'a CheckReport,
    pub decision: &'a Decision,
    pub notes: &'a [String],
    pub applied_override: Option<&'a Override>,
    pub stages: Vec<StageTime>,
}

/// Stores the evaluation and links the plan to its page. A store failure only costs the link:
/// the merge gate must not wait on the details page.
pub(super) async fn record(
    ctx: &WorkerContext,
    ev: Evaluated<'_>,
    plan: &mut PublishPlan,
) -> Option<Recorded> {
    let rec = build(ctx, &ev, plan).await;
    if let Err(e) = ctx.store.put_evaluation(&rec).await {
        warn!(error = %e, "cannot store the evaluation; no details link");
        return None;
    }
    match &ctx.links {
        Some(links) => {
            let url = links.link(rec.id, Utc::now());
            add_line(plan, &format!("[Details of this evaluation]({url})"));
            plan.details_url = Some(url);
        }
        None => add_line(plan, NO_PUBLIC_URL_HINT),
    }
    Some(Recorded(rec))
}

/// Adds the publish time to the stored evaluation (best effort).
pub(super) async fn finish(ctx: &WorkerContext, recorded: Option<Recorded>, publish: Duration) {
    let Some(Recorded(mut rec)) = recorded else {
        return;
    };
    rec.stages.push(StageTime {
        stage: "publish".into(),
        seconds: publish.as_secs_f64(),
    });
    if let Err(e) = ctx.store.put_evaluation(&rec).await {
        warn!(error = %e, "cannot store the evaluation's publish time");
    }
}

/// Runs the gates; the stage times so far: `checkout` since `started`, then `gates`.
pub(super) async fn timed_gates(
    ctx: &WorkerContext,
    co: &Checkout,
    started: std::time::Instant,
) -> anyhow::Result<(CheckReport, Vec<StageTime>)> {
    let checkout = started.elapsed();
    let gates_started = std::time::Instant::now();
    let report = super::gates::run_gates(ctx, co).await?;
    let stages = vec![
        StageTime {
            stage: "checkout".into(),
            seconds: checkout.as_secs_f64(),
        },
        StageTime {
            stage: "gates".into(),
            seconds: gates_started.elapsed().as_secs_f64(),
        },
    ];
    Ok((report, stages))
}

fn add_line(plan: &mut PublishPlan, line: &str) {
    plan.summary_markdown = cap_markdown(
        format!("{}\n\n{line}\n", plan.summary_markdown.trim_end()),
        MAX_BODY_BYTES,
    );
    let body = plan
        .comment_body
        .strip_prefix(SUMMARY_MARKER)
        .unwrap_or(&plan.comment_body);
    plan.comment_body = cap_markdown(
        format!("{SUMMARY_MARKER}{}\n\n{line}\n", body.trim_end()),
        MAX_BODY_BYTES,
    );
}

/// The safety guard's outcome in a few words, then its full text.
pub fn guard_outcome(d: &Downgrade) -> String {
    let short = match d {
        Downgrade::Disabled => "disabled",
        Downgrade::DryRun => "dry run",
        Downgrade::EmergencyLabel(_) => "emergency label",
        Downgrade::TrustedBot(_) => "trusted bot",
        Downgrade::Draft => "draft",
        Downgrade::DailyLimit { .. } => "daily limit",
        Downgrade::Cooldown { .. } => "cooldown",
        Downgrade::BurstLimited => "burst limit",
    };
    format!("{short}: comment only ({d})")
}

async fn build(ctx: &WorkerContext, ev: &Evaluated<'_>, plan: &PublishPlan) -> EvaluationRecord {
    let d = ev.decision;
    let mut opts = CheckOptions::new(&ev.co.head);
    opts.config_dir = ev.co.base.clone();
    opts.org_policy = ev.co.org_dir();
    let org_commit = ev.co.org_policy.as_ref().and_then(|p| p.commit.clone());
    let rules: Vec<String> = {
        let mut seen = std::collections::BTreeSet::new();
        ev.report
            .findings()
            .filter(|f| f.gate == Gate::Rego && seen.insert(f.rule_id.clone()))
            .map(|f| f.rule_id.clone())
            .take(MAX_EXPLAINED_RULES)
            .collect()
    };
    let (policy_sets, explained) =
        tokio::task::spawn_blocking(move || policies_and_explanations(&opts, org_commit, &rules))
            .await
            .unwrap_or_default();
    let findings = ev
        .report
        .findings()
        .take(MAX_STORED_FINDINGS)
        .map(|f| stored(f, &explained))
        .collect();
    let c = &d.counts;
    EvaluationRecord {
        id: EvaluationId::new(),
        at: Utc::now(),
        platform: ev.pr.platform,
        repo: ev.pr.repo.clone(),
        pr: ev.pr.pr,
        title: ev.pr.title.clone(),
        head_sha: ev.pr.head_sha.clone(),
        base_sha: ev.pr.base_sha.clone(),
        web_url: ctx.repo_web_url(ev.pr),
        decision: d.kind.as_str().to_string(),
        proposed: d.proposed.as_str().to_string(),
        downgrade: d.downgrade.as_ref().map(guard_outcome),
        conclusion: plan.conclusion.as_str().to_string(),
        risk: d.risk,
        confidence: d.confidence,
        counts: [c.critical, c.high, c.medium, c.low, c.compliance_violations],
        reasons: d.reasons.clone(),
        notes: ev.notes.to_vec(),
        findings_digest: d.findings_digest.clone(),
        findings,
        findings_total: ev.report.findings().count(),
        policy_sets,
        stages: ev.stages.clone(),
        applied_override: ev.applied_override.map(|o| AppliedOverride {
            actor: o.actor.clone(),
            decision: o.decision.to_string(),
            reason: o.reason.clone(),
            at: o.at,
        }),
    }
}

fn stored(f: &Finding, explained: &BTreeMap<String, String>) -> StoredFinding {
    StoredFinding {
        gate: f.gate.as_str().to_string(),
        rule_id: f.rule_id.clone(),
        level: f.level.as_str().to_string(),
        severity: f.severity.as_str().to_string(),
        message: f.message.clone(),
        file: f.file.clone(),
        line: f.line,
        resource: f.resource.clone(),
        pattern: f.pattern.clone(),
        explain: explained.get(&f.rule_id).cloned(),
    }
}

/// The policy sets this evaluation ran (as the gate child chose them) and the `explain` text of
/// `rules`, from those sets, else from the built-in library.
fn policies_and_explanations(
    opts: &CheckOptions,
    org_commit: Option<String>,
    rules: &[String],
) -> (Vec<PolicySetRun>, BTreeMap<String, String>) {
    let cfg = crate::gates::structure::load_config(
        opts.config_dir.as_deref().unwrap_or(&opts.project_dir),
        opts.repo_root.as_deref(),
        opts.org_policy.as_deref(),
    )
    .unwrap_or_default();
    let (sources, _) = policy_sources(opts, &cfg);
    // A pinned git policy repository names its commit; a local one may be a git work tree.
    let org_commit = org_commit.or_else(|| opts.org_policy.as_deref().and_then(head_commit));
    let sets = sources
        .iter()
        .filter_map(|s| match s {
            PolicySource::Embedded(files) => Some(PolicySetRun {
                kind: "built-in".into(),
                label: "built-in".into(),
                commit: None,
                policies: count_rego(files.iter().map(|(p, _)| p.as_str())),
            }),
            PolicySource::Dir { path, label } => {
                let org = label.starts_with("org:");
                Some(PolicySetRun {
                    kind: if org { "org" } else { "project" }.into(),
                    label: label.clone(),
                    commit: if org { org_commit.clone() } else { None },
                    policies: rego_files_in(path),
                })
            }
            // Data-only sources (`verify --data`) hold no policies to list.
            PolicySource::Data { .. } => None,
        })
        .collect();
    let mut explained = BTreeMap::new();
    if rules.is_empty() {
        return (sets, explained);
    }
    let set = PolicySet::load(&sources, LoadOptions::default());
    let mut explainer = Explainer::new(&set);
    let builtin = std::cell::OnceCell::new();
    let mut builtin_explainer = None;
    for rule in rules {
        let doc = explainer.explain(rule).or_else(|| {
            let b = builtin.get_or_init(|| {
                PolicySet::load(
                    &[crate::gates::rego::policy::builtin_library()],
                    LoadOptions::default(),
                )
            });
            builtin_explainer
                .get_or_insert_with(|| Explainer::new(b))
                .explain(rule)
        });
        if let Some(doc) = doc {
            let text = [
                doc.title,
                doc.description,
                doc.remediation.map(|r| format!("Fix: {r}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" — ");
            if !text.is_empty() {
                explained.insert(rule.clone(), text);
            }
        }
    }
    (sets, explained)
}

fn count_rego<'a>(paths: impl Iterator<Item = &'a str>) -> u32 {
    paths
        .filter(|p| p.ends_with(".rego") && !p.ends_with("_test.rego"))
        .count() as u32
}

/// Rego files under `dir` (not tests), at most a few levels down.
fn rego_files_in(dir: &Path) -> u32 {
    fn walk(dir: &Path, depth: u32, n: &mut u32) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() && depth < 8 {
                walk(&path, depth + 1, n);
            } else if kind.is_file() {
                *n += count_rego(path.to_str().into_iter());
            }
        }
    }
    let mut n = 0;
    walk(dir, 0, &mut n);
    n
}

/// The commit checked out in the org policy repository, if it is a git work tree.
fn head_commit(dir: &Path) -> Option<String> {
    let repo = git2::Repository::open(dir).ok()?;
    let oid = repo.head().ok()?.target()?;
    Some(oid.to_string())
}
