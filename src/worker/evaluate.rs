//! The evaluation pipeline of one pull request head: check run in progress, checkout (head and
//! base), gates with config from the base, decision behind the safety guard, audit record,
//! publish, PR state.

use anyhow::Context;
use tracing::{error, info, warn};

use super::WorkerContext;
use super::checkout::{Checkout, CheckoutFailure, checkout};
use super::decide::decide_and_plan;
use crate::checkout::Credentials;
use crate::event::{JobPayload, PullRequestRef};
use crate::finding::{CheckReport, Finding, Gate, GateReport, Level, Severity};
use crate::forge::CheckConclusion;
use crate::forge::github::{CheckRunId, InstallationClient};
use crate::ids::Platform;
use crate::sandbox::{GateRequest, run_isolated};
use crate::store::{Job, PrState};

/// Files whose change in a PR only takes effect after merge (config is read from the base).
const CONFIG_PATHS: &[&str] = &[
    ".thothcf.toml",
    ".thothcf_project.toml",
    ".driftpolicy",
    ".thothctl/",
    "policy/",
];

/// Evaluates `pr` and publishes the result.
pub async fn evaluate(
    ctx: &WorkerContext,
    worker: &str,
    job: &Job,
    mut pr: PullRequestRef,
    reason: &str,
) -> anyhow::Result<()> {
    let github = ctx
        .github
        .as_ref()
        .context("the GitHub App is not configured")?;
    let installation = pr
        .installation_id
        .context("the delivery names no installation")?;
    let client = github.installation(installation)?;
    if pr.needs_refresh {
        let info = client.pull_request(&pr.repo, pr.pr).await?;
        pr.author = Some(info.author);
        pr.labels = info.labels;
        pr.draft = info.draft;
        pr.base_sha = Some(info.base_sha);
        pr.base_ref = Some(info.base_ref);
        pr.head_ref = Some(info.head_ref);
        pr.needs_refresh = false;
    }
    info!(%reason, head = %pr.head_sha, "evaluating");

    let state = ctx
        .store
        .pr_state(Platform::GitHub, &pr.repo, pr.pr)
        .await?;
    let mut state = state.unwrap_or(PrState {
        platform: Platform::GitHub,
        repo: pr.repo.clone(),
        pr: pr.pr,
        summary_comment_id: None,
        last_findings_digest: None,
        last_head_sha: None,
        check_run_id: None,
    });
    // A check run left in progress for this head by a crashed attempt is reused, not doubled.
    let check_run = match (&state.last_head_sha, &state.check_run_id) {
        (Some(sha), Some(id)) if *sha == pr.head_sha => CheckRunId(id.parse().unwrap_or(0)),
        _ => {
            let id = client.create_check_run(&pr.repo, &pr.head_sha).await?;
            state.last_head_sha = Some(pr.head_sha.clone());
            state.check_run_id = Some(id.0.to_string());
            ctx.store.put_pr_state(&state).await?;
            id
        }
    };

    let token = client.installation_token().await?;
    let started = std::time::Instant::now();
    let checkout_timer = crate::metrics::stage_timer("checkout");
    let checkout = match checkout(ctx, &pr, Credentials::github_installation(token)).await {
        Ok(c) => c,
        Err(CheckoutFailure::Permanent(e)) => {
            error!(error = %e, "checkout failed for good");
            let summary = format!(
                "thoth-bot could not check out this pull request, so no gate ran: {}.",
                super::cause::of_checkout(&e)
            );
            client
                .complete_check_run(
                    &pr.repo,
                    check_run,
                    CheckConclusion::Failure,
                    "Could not check out the pull request",
                    &summary,
                    &[],
                )
                .await?;
            state.check_run_id = None;
            ctx.store.put_pr_state(&state).await?;
            return Ok(());
        }
        Err(CheckoutFailure::Transient(e)) => return Err(e),
    };

    drop(checkout_timer);
    let (report, stages) = super::details::timed_gates(ctx, &checkout, started).await?;
    let (decision, plan, recorded) =
        decide_and_plan(ctx, worker, job, &pr, &checkout, &report, stages).await?;
    let known_comment = state
        .summary_comment_id
        .as_deref()
        .and_then(|s| s.parse().ok());
    let publish_timer = crate::metrics::stage_timer("publish");
    let ids = crate::forge::github::publish::publish(
        &client,
        &pr.repo,
        pr.pr,
        &pr.head_sha,
        Some(check_run),
        &plan,
        known_comment,
    )
    .await?;
    super::details::finish(ctx, recorded, publish_timer.elapsed()).await;
    drop(publish_timer);
    state.summary_comment_id = Some(ids.comment_id.to_string());
    state.last_findings_digest = Some(decision.findings_digest.clone());
    state.check_run_id = None;
    ctx.store.put_pr_state(&state).await?;
    info!(decision = %decision.kind.as_str(), conclusion = plan.conclusion.as_str(), "published");
    crate::metrics::decision(&decision);
    Ok(())
}

pub(super) async fn run_gates(ctx: &WorkerContext, co: &Checkout) -> anyhow::Result<CheckReport> {
    // Config and project policies come from the base: the PR must not judge itself by its own
    // rules. Without a base (first commit), an empty directory gives the defaults.
    let empty = co.head.with_file_name("no-base");
    let config_dir = match &co.base {
        Some(b) => b.clone(),
        None => {
            std::fs::create_dir_all(&empty)?;
            empty
        }
    };
    let request = GateRequest {
        project_dir: co.head.clone(),
        config_dir: Some(config_dir),
        org_policy: ctx.policy_repo.clone(),
    };
    let changed = co.changed.clone();
    let timer = crate::metrics::stage_timer("gates");
    let mut report = run_isolated(&request, &ctx.sandbox).await;
    drop(timer);
    // The child's own lines stay in the child; this one carries the job's fields.
    tracing::debug!(
        findings = report.findings().count(),
        passed = report.passed,
        "gates done"
    );
    for finding in super::unread::unread_findings(
        &co.head,
        &changed,
        &co.head_stats,
        ctx.checkout_limits.max_file_bytes / (1024 * 1024),
        &report,
    ) {
        add_finding(&mut report, finding);
    }
    let config_changes: Vec<&String> = changed
        .iter()
        .filter(|p| {
            CONFIG_PATHS
                .iter()
                .any(|c| p.as_str() == *c || (c.ends_with('/') && p.starts_with(c)))
        })
        .collect();
    if !config_changes.is_empty() {
        let finding = Finding::new(
            Gate::Structure,
            "config-changed",
            Level::Info,
            Severity::Info,
            format!(
                "this pull request changes thoth configuration ({}); it was judged by the base branch's configuration and the change takes effect after merge",
                config_changes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        add_finding(&mut report, finding);
    }
    Ok(report)
}

fn add_finding(report: &mut CheckReport, finding: Finding) {
    let gate = finding.gate;
    match report.gates.iter_mut().find(|g| g.gate == gate) {
        Some(g) => {
            let mut findings = std::mem::take(&mut g.findings);
            findings.push(finding);
            let namespaces = std::mem::take(&mut g.namespaces);
            *g = GateReport::new(gate, g.checked, findings);
            g.namespaces = namespaces;
        }
        None => report.gates.push(GateReport::new(gate, 0, vec![finding])),
    }
    *report = CheckReport::new(std::mem::take(&mut report.gates));
}

/// Tells the PR that a job gave up: its check run (the one a crashed attempt left in progress,
/// else a new one) ends failed with the error and how to start again. Best effort: the job is
/// already dead in the store.
pub async fn report_dead(ctx: &WorkerContext, job: &Job, cause: &str) {
    let Ok(JobPayload::Evaluate { pr, .. }) = serde_json::from_value(job.payload.clone()) else {
        return;
    };
    let (Some(github), Some(inst)) = (ctx.github.as_ref(), pr.installation_id) else {
        return;
    };
    let Ok(client) = github.installation(inst) else {
        return;
    };
    if let Err(e) = report_error(ctx, &client, &pr, cause).await {
        warn!(error = %e, "cannot report the failed evaluation on the PR");
    }
}

async fn report_error(
    ctx: &WorkerContext,
    client: &InstallationClient,
    pr: &PullRequestRef,
    cause: &str,
) -> anyhow::Result<()> {
    let mut state = ctx
        .store
        .pr_state(Platform::GitHub, &pr.repo, pr.pr)
        .await?;
    let in_progress = state
        .as_ref()
        .and_then(|s| match (&s.last_head_sha, &s.check_run_id) {
            (Some(sha), Some(id)) if *sha == pr.head_sha => id.parse().ok().map(CheckRunId),
            _ => None,
        });
    let id = match in_progress {
        Some(id) => id,
        None => client.create_check_run(&pr.repo, &pr.head_sha).await?,
    };
    client
        .complete_check_run(
            &pr.repo,
            id,
            CheckConclusion::Failure,
            "Evaluation could not complete",
            &dead_summary(cause),
            &[],
        )
        .await?;
    if let Some(state) = state.as_mut().filter(|_| in_progress.is_some()) {
        // The run is finished: a rerun must open a new one, not reuse this.
        state.check_run_id = None;
        ctx.store.put_pr_state(state).await?;
    }
    Ok(())
}

/// The check run text of a dead job: a short cause, never the error chain (that is logged).
pub(crate) fn dead_summary(cause: &str) -> String {
    format!(
        "thoth-bot could not complete the evaluation of this commit ({cause}), so no gate \
         result is available. The server log has the details.\n\nComment `/thoth rerun` on the \
         pull request to try again."
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dead_summary_says_could_not_complete_and_how_to_rerun() {
        let s = super::dead_summary("evaluation did not complete after 5 attempts");
        assert!(s.contains("could not complete"), "{s}");
        assert!(s.contains("`/thoth rerun`"), "{s}");
        assert!(s.contains("after 5 attempts"), "{s}");
    }
}
