//! The one evaluation flow, for every forge: the pull request as the API says it is, the head
//! marked as being judged, checkout with the forge's credentials, gates, decision, publish,
//! PR state, metrics. A forge plugs in behind [`Forge`]; what differs between GitHub and Azure
//! DevOps (a check run or a status, a review or a vote) stays in its implementation.

use async_trait::async_trait;
use tracing::{error, info, warn};

use super::WorkerContext;
use super::checkout::{CheckoutFailure, checkout};
use super::decide::{Evidence, decide_and_plan};
use crate::checkout::Credentials;
use crate::decision::Decision;
use crate::event::{JobPayload, PullRequestRef};
use crate::forge::PublishPlan;
use crate::ids::CommentId;
use crate::store::{Job, PrState};

/// May the bot fetch the pull request, and with what.
pub(super) enum Access {
    Granted(Credentials),
    /// The forge refuses to send its credentials there (why, for the PR).
    Refused(String),
}

/// What the evaluation flow needs from a forge.
#[async_trait]
pub(super) trait Forge: Send + Sync {
    /// What marks the head as being judged until the result is published: a check run in
    /// progress, a pending status on an iteration.
    type Run: Send + Sync;

    /// The pull request as the API describes it now (a delivery may be stale or forged).
    /// `None`: it is not to be evaluated (unknown to the API, no longer open).
    async fn refresh(&self, pr: PullRequestRef) -> anyhow::Result<Option<PullRequestRef>>;
    /// Marks the head as being judged. `in_progress` is what a crashed attempt on this head left
    /// open ([`Forge::run_id`]), reused instead of doubled.
    async fn start(
        &self,
        pr: &PullRequestRef,
        in_progress: Option<&str>,
    ) -> anyhow::Result<Self::Run>;
    /// The id to keep in the PR state while `run` is open, if the forge has one.
    fn run_id(run: &Self::Run) -> Option<String>;
    /// The credentials to check out with, or why not.
    async fn access(&self, pr: &PullRequestRef) -> anyhow::Result<Access>;
    /// Ends `run` when no gate could run (`cause` is short and safe to show).
    async fn fail(&self, pr: &PullRequestRef, run: Self::Run, cause: &str) -> anyhow::Result<()>;
    /// Publishes `plan` (merge gate, review or vote, summary comment, findings) and returns the
    /// summary comment's id; `summary` is the one posted last time, edited rather than doubled.
    async fn publish(
        &self,
        pr: &PullRequestRef,
        run: Self::Run,
        plan: &PublishPlan,
        decision: &Decision,
        summary: Option<CommentId>,
    ) -> anyhow::Result<CommentId>;
    /// After a job gave up: says on the head (ending `in_progress` if there is one) that the
    /// evaluation could not complete, and how to start it again.
    async fn report_dead(&self, dead: DeadJob<'_>) -> anyhow::Result<()>;
}

/// What [`Forge::report_dead`] says, and where.
#[derive(Debug, Clone, Copy)]
pub struct DeadJob<'a> {
    pub pr: &'a PullRequestRef,
    /// The check run left in progress, if the forge has one.
    pub in_progress: Option<&'a str>,
    /// Why the job gave up, for people.
    pub cause: &'a str,
}

/// Evaluates `pr` and publishes the result through `forge`.
pub(super) async fn evaluate<F: Forge>(
    ctx: &WorkerContext,
    forge: &F,
    worker: &str,
    job: &Job,
    pr: PullRequestRef,
    reason: &str,
) -> anyhow::Result<()> {
    let Some(pr) = forge.refresh(pr).await? else {
        return Ok(());
    };
    info!(%reason, head = %pr.head_sha, "evaluating");
    remember_head(ctx, &pr).await;
    let mut state = pr_state(ctx, &pr).await?;
    let in_progress = open_run(&state, &pr).map(str::to_string);
    // Taken up before the first write: updates our own status causes carry this head and are
    // dropped at intake (Azure DevOps' loop guard), and a rerun knows the head was started.
    if state.last_head_sha.as_ref() != Some(&pr.head_sha) {
        state.last_head_sha = Some(pr.head_sha.clone());
        state.check_run_id = None;
        ctx.store.put_pr_state(&state).await?;
    }
    let run = forge.start(&pr, in_progress.as_deref()).await?;
    let run_id = F::run_id(&run);
    if run_id != state.check_run_id {
        state.check_run_id = run_id;
        ctx.store.put_pr_state(&state).await?;
    }

    let credentials = match forge.access(&pr).await? {
        Access::Granted(c) => c,
        Access::Refused(why) => {
            error!(reason = %why, "clone URL refused");
            return fail(ctx, forge, &pr, run, &mut state, &why).await;
        }
    };
    let started = std::time::Instant::now();
    let checkout_timer = crate::metrics::stage_timer(crate::metrics::Stage::Checkout);
    let checkout = match checkout(ctx, &pr, credentials).await {
        Ok(c) => c,
        Err(CheckoutFailure::Permanent(e)) => {
            error!(error = %e, "checkout failed for good");
            let cause = super::cause::of_checkout(&e);
            return fail(ctx, forge, &pr, run, &mut state, cause).await;
        }
        Err(CheckoutFailure::Transient(e)) => return Err(e),
        Err(CheckoutFailure::Policy(e)) => {
            error!(error = %e, "org policy repository could not be fetched");
            return fail(ctx, forge, &pr, run, &mut state, super::cause::POLICY_REPO).await;
        }
    };
    drop(checkout_timer);
    let placed = super::pushed::place(ctx, &pr, &checkout).await?;

    let (report, mut stages) = super::details::timed_gates(ctx, &checkout, started).await?;
    // After the gates, so the model sees their findings; it can only tighten the decision.
    let ai_started = std::time::Instant::now();
    let asked = reason == super::ai::REVIEW_REASON;
    let ai = super::ai::review(ctx, &pr, &checkout, &report, asked).await;
    if ai.section.is_some() || !ai.notes.is_empty() {
        stages.push(crate::store::evaluation::StageTime {
            stage: "ai_review".into(),
            seconds: ai_started.elapsed().as_secs_f64(),
        });
    }
    let evidence = Evidence {
        report: &report,
        stages,
        ai,
        waiting_for_plan: placed.waiting_for_plan(&pr),
    };
    let (decision, plan, recorded) =
        decide_and_plan(ctx, worker, job, &pr, &checkout, evidence).await?;
    let known_summary = state
        .summary_comment_id
        .as_deref()
        .and_then(|s| s.parse().ok());
    let publish_timer = crate::metrics::stage_timer(crate::metrics::Stage::Publish);
    let summary = forge
        .publish(&pr, run, &plan, &decision, known_summary)
        .await?;
    super::details::finish(ctx, recorded, publish_timer.elapsed()).await;
    drop(publish_timer);
    state.summary_comment_id = Some(summary.to_string());
    state.last_findings_digest = Some(decision.findings_digest.clone());
    state.check_run_id = None;
    ctx.store.put_pr_state(&state).await?;
    info!(decision = %decision.kind.as_str(), conclusion = plan.conclusion.as_str(), "published");
    crate::metrics::decision(
        decision.kind.as_str(),
        decision.downgrade.as_ref().map(|d| d.reason()),
    );
    Ok(())
}

/// Remembers the head this pull request is evaluated at, so a plan pushed for it later starts
/// its evaluation again (`crate::api`). Best effort: without it, the plan still waits in the
/// store for the next evaluation of the head.
async fn remember_head(ctx: &WorkerContext, pr: &PullRequestRef) {
    let mut stored = pr.clone();
    // Read again from the forge when a pushed plan starts the evaluation: labels and state
    // may have changed since.
    stored.needs_refresh = true;
    let head = crate::store::PrHead {
        platform: pr.platform,
        repo: pr.repo.clone(),
        pr: pr.pr,
        head_sha: pr.head_sha.clone(),
        pull_request: serde_json::to_value(&stored).unwrap_or_default(),
        at: chrono::Utc::now(),
    };
    if let Err(e) = ctx.store.put_pr_head(&head).await {
        warn!(error = %e, "cannot remember the evaluated head");
    }
}

/// Ends the run without a gate result; the job is done (retrying would not change the answer).
async fn fail<F: Forge>(
    ctx: &WorkerContext,
    forge: &F,
    pr: &PullRequestRef,
    run: F::Run,
    state: &mut PrState,
    cause: &str,
) -> anyhow::Result<()> {
    forge.fail(pr, run, cause).await?;
    if state.check_run_id.take().is_some() {
        ctx.store.put_pr_state(state).await?;
    }
    Ok(())
}

/// Tells the PR that a job gave up. Best effort: the job is already dead in the store.
pub(super) async fn report_dead<F: Forge>(ctx: &WorkerContext, forge: &F, job: &Job, cause: &str) {
    let Ok(JobPayload::Evaluate { pr, .. }) = serde_json::from_value(job.payload.clone()) else {
        return;
    };
    let result = async {
        let mut state = pr_state(ctx, &pr).await?;
        let in_progress = open_run(&state, &pr).map(str::to_string);
        forge
            .report_dead(DeadJob {
                pr: &pr,
                in_progress: in_progress.as_deref(),
                cause,
            })
            .await?;
        // The run is finished: a rerun must open a new one, not reuse this.
        if in_progress.is_some() {
            state.check_run_id = None;
            ctx.store.put_pr_state(&state).await?;
        }
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = result {
        warn!(error = %e, "cannot report the failed evaluation on the PR");
    }
}

/// The PR's state, or a fresh one.
async fn pr_state(ctx: &WorkerContext, pr: &PullRequestRef) -> anyhow::Result<PrState> {
    let state = ctx.store.pr_state(pr.platform, &pr.repo, pr.pr).await?;
    Ok(state.unwrap_or_else(|| PrState {
        platform: pr.platform,
        repo: pr.repo.clone(),
        pr: pr.pr,
        summary_comment_id: None,
        last_findings_digest: None,
        last_head_sha: None,
        check_run_id: None,
    }))
}

/// The run an earlier attempt left open on this head.
fn open_run<'a>(state: &'a PrState, pr: &PullRequestRef) -> Option<&'a str> {
    match (&state.last_head_sha, &state.check_run_id) {
        (Some(sha), Some(id)) if *sha == pr.head_sha => Some(id.as_str()),
        _ => None,
    }
}

/// The text of a dead job: a short cause, never the error chain (that is logged).
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
