//! The AI step of the evaluation, between the gates and the decision: whether the repository
//! gets a review, what the model is shown, and what the summary says when it cannot run. It
//! never fails the job: a model that is down, slow or nonsensical leaves the gates' outcome.

use std::time::Instant;

use chrono::{NaiveDate, Utc};
use tracing::{info, warn};

use super::WorkerContext;
use super::checkout::Checkout;
use crate::ai::{AiSettings, RepoAiConfig, ReviewInput};
use crate::check::CheckOptions;
use crate::decision::config::DecisionConfig;
use crate::event::PullRequestRef;
use crate::finding::CheckReport;
use crate::forge::AiSection;
use crate::store::AiUsage;
use crate::store::ai_usage::{month_start, spent};

/// The reason of an evaluation `/thoth review` asked for: it gets the AI review even where the
/// repository did not opt in (never where it opted out).
pub(super) const REVIEW_REASON: &str = "comment.review";

/// Rules whose docs are looked up for the prompt, at most (each lookup loads the policies).
const MAX_DOCS: usize = 5;

/// What the AI step gives the decision and the summary.
#[derive(Debug, Default)]
pub(super) struct AiOutcome {
    /// The review, when the model answered in the schema.
    pub(super) section: Option<AiSection>,
    /// Lines for the summary (unavailable, skipped, config ignored).
    pub(super) notes: Vec<String>,
}

/// Runs the AI review of `pr` if the server and the repository want one.
pub(super) async fn review(
    ctx: &WorkerContext,
    pr: &PullRequestRef,
    co: &Checkout,
    report: &CheckReport,
    asked: bool,
) -> AiOutcome {
    let mut out = AiOutcome::default();
    let Some(reviewer) = ctx.ai.clone() else {
        return out;
    };
    let settings = &reviewer.settings;
    let repo_setting = co
        .base
        .as_deref()
        .and_then(|b| DecisionConfig::load(b).ok())
        .and_then(|c| c.ai_review);
    let repo_on = repo_setting.unwrap_or(settings.default_on || asked);
    if !repo_on {
        if asked {
            out.notes
                .push("AI review not run: this repository opts out (`ai_review: false`).".into());
        }
        return out;
    }
    let owner = pr.repo.as_str().split('/').next().unwrap_or_default();
    let today = Utc::now().date_naive();
    if let Some(why) = over_budget(ctx, settings, owner, today).await {
        crate::metrics::ai_skipped_over_budget();
        info!(repo = %pr.repo, %why, "AI review skipped");
        out.notes.push(format!(
            "AI review skipped: {why}; the gates' outcome stands."
        ));
        return out;
    }
    let repo_cfg = match co.base.as_deref().map(RepoAiConfig::load).transpose() {
        Ok(c) => c.flatten(),
        Err(e) => {
            warn!(error = %e, "AI config of the repository ignored");
            out.notes.push(format!(
                "{} ignored: {}",
                crate::ai::config::REPO_CONFIG_FILE,
                super::cause::relative_to(
                    &format!("{e:#}"),
                    co.base.as_deref().unwrap_or(&co.head)
                )
            ));
            None
        }
    };
    let model = settings.for_repo(repo_cfg.as_ref());
    let (diff, docs) = match prompt_material(co, report, settings.max_diff_bytes).await {
        Ok(m) => m,
        Err(e) => {
            warn!(error = %e, "AI review input could not be built");
            out.notes
                .push("AI review unavailable: its input could not be built".into());
            return out;
        }
    };
    let input = ReviewInput {
        diff: &diff,
        report,
        policy_docs: &docs,
    };
    let deadline = Instant::now() + settings.deadline();
    let outcome = crate::ai::review::review(&reviewer.client, &model, &input, deadline, &|| {
        crate::metrics::ai_request()
    })
    .await;
    crate::metrics::ai_tokens(outcome.usage);
    let cost_micro_usd = settings
        .price(&model.model)
        .map_or(0, |p| p.cost_micro_usd(outcome.usage));
    crate::metrics::ai_cost_usd(cost_micro_usd);
    if outcome.calls > 0 {
        let usage = AiUsage {
            day: today,
            owner: owner.to_string(),
            repo: pr.repo.to_string(),
            model: model.model.clone(),
            requests: u64::from(outcome.calls),
            input_tokens: outcome.usage.input_tokens,
            output_tokens: outcome.usage.output_tokens,
            cost_micro_usd,
        };
        // Losing one row undercounts the budget a little; it must not fail the evaluation.
        if let Err(e) = ctx.store.add_ai_usage(&usage).await {
            warn!(error = %e, "AI usage not recorded");
        }
    }
    info!(
        repo = %pr.repo,
        model = %model.model,
        calls = outcome.calls,
        input_tokens = outcome.usage.input_tokens,
        output_tokens = outcome.usage.output_tokens,
        ok = outcome.result.is_ok(),
        "AI review"
    );
    match outcome.result {
        Ok(r) => {
            out.section = Some(AiSection {
                model: r.model,
                answer: r.answer,
                findings_block: settings.ai_findings_block,
            })
        }
        Err(why) => out.notes.push(format!(
            "AI review unavailable: {why}; the gates' outcome stands."
        )),
    }
    out
}

/// Why `owner` may not spend more today, if a budget is set and reached. A store that cannot
/// say counts as over budget: an unreadable ledger must not mean unlimited spending.
async fn over_budget(
    ctx: &WorkerContext,
    settings: &AiSettings,
    owner: &str,
    today: NaiveDate,
) -> Option<String> {
    let (daily, monthly) = (settings.daily_budget_usd, settings.monthly_budget_usd);
    if daily <= 0.0 && monthly <= 0.0 {
        return None;
    }
    let rows = match ctx.store.ai_usage(month_start(today)).await {
        Ok(rows) => rows,
        Err(e) => {
            warn!(error = %e, "AI usage could not be read");
            return Some("the AI budget could not be checked".into());
        }
    };
    let (day_spent, month_spent) = spent(&rows, owner, today);
    let usd = |micros: u64| micros as f64 / 1e6;
    // Cents for real budgets; small test or trial budgets need more places to say anything.
    let text = |x: f64| {
        if x >= 1.0 {
            format!("${x:.2}")
        } else {
            format!("${x:.4}")
        }
    };
    if daily > 0.0 && usd(day_spent) >= daily {
        return Some(format!(
            "the daily AI budget of {owner} is spent ({} of {})",
            text(usd(day_spent)),
            text(daily)
        ));
    }
    if monthly > 0.0 && usd(month_spent) >= monthly {
        return Some(format!(
            "the monthly AI budget of {owner} is spent ({} of {})",
            text(usd(month_spent)),
            text(monthly)
        ));
    }
    None
}

/// The capped diff and the docs of the rules that fired (blocking I/O, off the runtime).
async fn prompt_material(
    co: &Checkout,
    report: &CheckReport,
    max_diff_bytes: usize,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let rules = crate::ai::review::failing_rules(report, MAX_DOCS);
    let (base, head, changed) = (co.base.clone(), co.head.clone(), co.changed.clone());
    let org = co.org_dir();
    let material = tokio::task::spawn_blocking(move || {
        let diff = crate::ai::diff::changed_hunks(base.as_deref(), &head, &changed, max_diff_bytes);
        let mut opts = CheckOptions::new(&head);
        opts.config_dir = base;
        opts.org_policy = org;
        (diff, crate::ai::review::policy_docs(&opts, rules))
    })
    .await?;
    Ok(material)
}
