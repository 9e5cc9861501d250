//! `thoth-bot check --ai`: the AI review of a local project, with the `[ai]` settings of a
//! server config file and the `THOTH_AI_*` variables, as the bot would run it on a pull
//! request. Locally there is no base branch, so the model is shown the project's files as new.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

use super::{AiSettings, ReviewInput, ReviewOutcome, Reviewer};
use crate::check::CheckOptions;
use crate::finding::CheckReport;
use crate::workspace::{Limits, Workspace};

/// Rules whose docs are looked up for the prompt, at most.
const MAX_DOCS: usize = 5;

/// The `[ai]` table of the server config file `path` (defaults without one), switched on, with
/// the environment applied.
pub fn settings(path: Option<&Path>) -> anyhow::Result<AiSettings> {
    let mut settings = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read config file {}", p.display()))?;
            let doc: toml::Table = toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", p.display()))?;
            match doc.get("ai") {
                Some(ai) => ai
                    .clone()
                    .try_into()
                    .with_context(|| format!("invalid [ai] in {}", p.display()))?,
                None => AiSettings::default(),
            }
        }
        None => AiSettings::default(),
    };
    // Asking for it is the opt-in; the key and the values are still checked.
    settings.enabled = true;
    settings.apply_env(&|k| std::env::var(k).ok())?;
    Ok(settings)
}

/// Reviews the project `opts` names, given its gate `report`.
pub fn review(
    settings: &AiSettings,
    opts: &CheckOptions,
    report: &CheckReport,
) -> anyhow::Result<ReviewOutcome> {
    let reviewer = Reviewer::from_settings(settings)?.context("the AI review is not enabled")?;
    let ws = Workspace::open_with(&opts.project_dir, &[".git".into()], Limits::default())?;
    let files: Vec<String> = ws.files().iter().map(|f| f.rel.clone()).collect();
    let diff = super::diff::changed_hunks(None, &opts.project_dir, &files, settings.max_diff_bytes);
    let rules = super::review::failing_rules(report, MAX_DOCS);
    let docs = super::review::policy_docs(opts, rules);
    let model = settings.for_repo(None);
    let input = ReviewInput {
        diff: &diff,
        report,
        policy_docs: &docs,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + settings.deadline();
    Ok(rt.block_on(super::review::review(
        &reviewer.client,
        &model,
        &input,
        deadline,
        &|| {},
    )))
}

/// The review as text for the terminal: risk, confidence, findings, recommendations, fixes.
pub fn render_text(outcome: &ReviewOutcome) -> String {
    use std::fmt::Write as _;
    let clean =
        |s: &str| -> String { s.chars().filter(|c| !c.is_control() || *c == ' ').collect() };
    let mut out = String::new();
    let usage = format!(
        "{} input / {} output tokens",
        outcome.usage.input_tokens, outcome.usage.output_tokens
    );
    match &outcome.result {
        Err(why) => {
            let _ = writeln!(out, "\nAI review unavailable: {}; ({usage})", clean(why));
        }
        Ok(r) => {
            let a = &r.answer;
            let _ = writeln!(
                out,
                "\nAI review ({}): risk {}/100, confidence {:.2} ({usage})",
                clean(&r.model),
                a.risk_score,
                a.confidence
            );
            for f in &a.findings {
                let place = match f.line {
                    Some(l) => format!("{}:{l}", f.file),
                    None => f.file.clone(),
                };
                let _ = writeln!(
                    out,
                    "  AI  {}  {}  {}: {}",
                    f.severity,
                    clean(&place),
                    clean(&f.title),
                    clean(&f.explanation)
                );
            }
            for rec in &a.recommendations {
                let _ = writeln!(out, "  recommendation: {}", clean(rec));
            }
            for f in &a.fixes {
                let _ = writeln!(
                    out,
                    "  fix: {} lines {}-{} ({})",
                    clean(&f.file),
                    f.start_line,
                    f.end_line,
                    clean(&f.rule_id)
                );
            }
        }
    }
    out
}

/// The review as JSON for `--format json` (`"ai"`).
pub fn to_json(outcome: &ReviewOutcome) -> serde_json::Value {
    let usage = serde_json::json!({
        "input_tokens": outcome.usage.input_tokens,
        "output_tokens": outcome.usage.output_tokens,
        "calls": outcome.calls,
    });
    match &outcome.result {
        Ok(r) => serde_json::json!({"model": r.model, "answer": r.answer, "usage": usage}),
        Err(why) => serde_json::json!({"unavailable": why, "usage": usage}),
    }
}
