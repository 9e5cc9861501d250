//! Publishing results to a forge (GitHub now, Azure DevOps later).
//!
//! [`plan_from`] turns a [`CheckReport`] and a [`Decision`] into a platform-neutral
//! [`PublishPlan`]: the merge-gate conclusion, the rendered markdown, the file:line annotations,
//! the review to post and the body of the one summary comment. Each forge module then performs
//! the plan with its own API ([`github::publish::publish`]).
//!
//! The conclusion follows the GATES, never the decision: any blocking finding (Error / Failure)
//! fails the check even when the review was downgraded to a comment, and a draft pull request
//! still gets a real conclusion (design §3).

pub mod ai_section;
pub mod azure;
pub mod github;
pub(crate) mod retry;
pub mod suggestion;

pub use ai_section::AiSection;

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, DecisionKind};
use crate::finding::{CheckReport, Finding, Gate, Level};
use crate::ids::CommitSha;

/// How a project is named in the summary: its folder, or `(root)`.
fn project_name(p: &str) -> &str {
    if p == "." { "(root)" } else { p }
}

/// The projects table of a repository that holds several: each one's result and counts.
fn render_projects(out: &mut String, report: &CheckReport) {
    out.push_str(
        "\n### Projects\n\n| Project | Result | Failures | Warnings |\n|---|---|---:|---:|\n",
    );
    for p in &report.projects {
        let of = |level: fn(Level) -> bool| {
            report
                .findings()
                .filter(|f| f.project.as_deref() == Some(p.as_str()) && level(f.level))
                .count()
        };
        let failures = of(Level::is_blocking);
        let warnings = of(|l| l == Level::Warning);
        let result = if failures > 0 { "**failed**" } else { "passed" };
        let _ = writeln!(
            out,
            "| {} | {result} | {failures} | {warnings} |",
            code(project_name(p))
        );
    }
}

/// The message cell: the message, then the compliance controls its rule maps to.
fn with_controls(f: &Finding) -> String {
    if f.controls.is_empty() {
        escape_text(&f.message)
    } else {
        format!(
            "{} <br>**Controls:** {}",
            escape_text(&f.message),
            escape_text(&f.controls.join(", "))
        )
    }
}

/// Hidden marker that identifies the bot's summary comment, so it is edited in place instead of
/// a new comment being posted per push.
pub const SUMMARY_MARKER: &str = "<!-- thoth-bot:summary -->";

/// GitHub rejects a check-run summary or a comment body longer than this (65535 characters; we
/// count bytes, which is never more than characters, so the cap always holds).
pub const MAX_BODY_BYTES: usize = 65_535;

/// Findings listed in the summary table; the rest are counted ("and N more").
pub const MAX_TABLE_ROWS: usize = 100;

/// Annotations sent per check run. Each 50 cost one write request; past this the summary still
/// counts them, and the write budget is kept for the review and the comment.
pub const MAX_ANNOTATIONS: usize = 500;

/// Why a forge call failed, in the shapes callers branch on. Messages never carry tokens.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// Still rate limited after the allowed retries, or the forge asked for a longer wait than
    /// the client will sleep: retry the job after `retry_after`.
    #[error("rate limited by the forge; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// The credentials were rejected (401) or lack a permission (403): retrying will not help.
    #[error("the forge rejected the app's credentials or permissions: {0}")]
    Auth(String),
    /// The resource does not exist (or the installation cannot see it).
    #[error("not found: {0}")]
    NotFound(String),
    /// Any other HTTP error status.
    #[error("the forge answered {status}: {message}")]
    Http { status: u16, message: String },
    /// No usable answer: connection, timeout, TLS, or a body we could not read. A write may or
    /// may not have been applied.
    #[error("could not talk to the forge: {0}")]
    Transport(String),
    /// The request could not be built (e.g. a repository id that is not `owner/name`): a bug in
    /// the caller, never retried.
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// The merge-gate result of a check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckConclusion {
    Success,
    Failure,
    Neutral,
    ActionRequired,
}

impl CheckConclusion {
    /// GitHub's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckConclusion::Success => "success",
            CheckConclusion::Failure => "failure",
            CheckConclusion::Neutral => "neutral",
            CheckConclusion::ActionRequired => "action_required",
        }
    }
}

/// How loud an annotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationLevel {
    Notice,
    Warning,
    Failure,
}

impl AnnotationLevel {
    /// Error and Failure findings fail the gate, so both are `failure`; Info is a `notice`.
    pub fn from_level(level: Level) -> Self {
        match level {
            Level::Error | Level::Failure => AnnotationLevel::Failure,
            Level::Warning => AnnotationLevel::Warning,
            Level::Info => AnnotationLevel::Notice,
        }
    }

    /// GitHub's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationLevel::Notice => "notice",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Failure => "failure",
        }
    }
}

/// A message at file:line. Serializes as a GitHub check-run annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub annotation_level: AnnotationLevel,
    pub title: String,
    pub message: String,
}

/// The review posted on the pull request. Azure DevOps maps it to a reviewer vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewEvent {
    Approve,
    RequestChanges,
    Comment,
}

impl ReviewEvent {
    /// GitHub's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewEvent::Approve => "APPROVE",
            ReviewEvent::RequestChanges => "REQUEST_CHANGES",
            ReviewEvent::Comment => "COMMENT",
        }
    }
}

/// Everything to publish for one evaluated head commit.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishPlan {
    /// Follows the gates: any blocking finding => failure.
    pub conclusion: CheckConclusion,
    /// One line for the check run title.
    pub title: String,
    /// The check run summary (markdown, capped at [`MAX_BODY_BYTES`]).
    pub summary_markdown: String,
    /// Findings that have a file and a line (the others are only in the summary).
    pub annotations: Vec<Annotation>,
    /// `None` when the decision is a plain comment: the summary comment already says it, and a
    /// COMMENT review per push would be the noise the one-comment rule avoids.
    pub review: Option<(ReviewEvent, String)>,
    /// The summary comment, carrying [`SUMMARY_MARKER`] (capped at [`MAX_BODY_BYTES`]).
    pub comment_body: String,
    /// The signed link to this evaluation's details page: the check run's `details_url`, the
    /// Azure DevOps status `targetUrl`. `None` without `public_url`.
    pub details_url: Option<String>,
    /// Fixes to offer: GitHub review comments (inside the diff), Azure DevOps threads.
    pub suggestions: Vec<suggestion::Suggestion>,
}

/// What [`plan_from`] needs besides the report and the decision.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// The evaluated head commit, named in the header so a stale summary is recognisable.
    pub head_sha: Option<CommitSha>,
    /// Extra lines shown under the decision (e.g. "overridden by @alice: reason").
    pub notes: Vec<String>,
    /// A human override's conclusion, replacing the one the gates call for.
    pub overridden: Option<CheckConclusion>,
    /// The AI review, when one ran and answered.
    pub ai: Option<AiSection>,
    /// Fixes for the findings (deterministic patterns, then the model's).
    pub suggestions: Vec<suggestion::Suggestion>,
    /// Whether the forge shows suggestions inline (GitHub: only inside the diff); the summary
    /// then lists only the others.
    pub inline_suggestions: bool,
}

/// The check conclusion the gates call for.
pub fn conclusion_of(report: &CheckReport) -> CheckConclusion {
    if report.findings().any(|f| f.level.is_blocking()) {
        CheckConclusion::Failure
    } else {
        CheckConclusion::Success
    }
}

/// Builds the plan. Pure: rendering only.
pub fn plan_from(report: &CheckReport, decision: &Decision, ctx: &PlanContext) -> PublishPlan {
    let conclusion = ctx.overridden.unwrap_or_else(|| {
        if ctx.ai.as_ref().is_some_and(AiSection::blocks) {
            CheckConclusion::Failure
        } else {
            conclusion_of(report)
        }
    });
    let blocking = report.findings().filter(|f| f.level.is_blocking()).count();
    let warnings = report
        .findings()
        .filter(|f| f.level == Level::Warning)
        .count();
    let title = match conclusion {
        CheckConclusion::Failure if blocking == 0 && ctx.overridden.is_none() => {
            "Blocked by AI findings".to_owned()
        }
        CheckConclusion::Failure => format!("{blocking} blocking finding(s)"),
        _ if warnings > 0 => format!("Passed with {warnings} warning(s)"),
        _ => "Passed".to_owned(),
    };

    let summary = render_summary(report, decision, ctx, conclusion);
    let summary_markdown = cap_markdown(summary.clone(), MAX_BODY_BYTES);
    let comment_body = cap_markdown(format!("{SUMMARY_MARKER}\n{summary}"), MAX_BODY_BYTES);

    let annotations = report
        .findings()
        .filter_map(annotation_of)
        .chain(ctx.ai.iter().flat_map(AiSection::annotations))
        .take(MAX_ANNOTATIONS)
        .collect();

    let review = review_event(decision.kind).map(|event| (event, render_review(decision)));

    PublishPlan {
        conclusion,
        title,
        summary_markdown,
        annotations,
        review,
        comment_body,
        details_url: None,
        suggestions: ctx.suggestions.clone(),
    }
}

/// REJECT has no GitHub equivalent: it is a change request (Azure DevOps maps it to -10).
fn review_event(kind: DecisionKind) -> Option<ReviewEvent> {
    match kind {
        DecisionKind::Approve => Some(ReviewEvent::Approve),
        DecisionKind::RequestChanges | DecisionKind::Reject => Some(ReviewEvent::RequestChanges),
        DecisionKind::Comment => None,
    }
}

/// A finding with a file and a line becomes an annotation; others only appear in the summary.
fn annotation_of(f: &Finding) -> Option<Annotation> {
    let path = f.file.as_deref().filter(|p| !p.is_empty())?;
    let line = f.line.filter(|l| *l > 0)?;
    Some(Annotation {
        path: path.to_owned(),
        start_line: line,
        end_line: line,
        annotation_level: AnnotationLevel::from_level(f.level),
        title: truncate(&format!("{} ({})", f.rule_id, f.severity), 255),
        // GitHub caps an annotation message at 64 KiB.
        message: truncate(&f.message, 60_000),
    })
}

fn render_review(decision: &Decision) -> String {
    let mut out = format!("**thoth: {}**\n\n", decision.kind);
    for reason in &decision.reasons {
        let _ = writeln!(out, "- {}", escape_text(reason));
    }
    out.push_str("\nThe summary comment and the `thoth` check run list every finding.");
    out
}

fn render_summary(
    report: &CheckReport,
    decision: &Decision,
    ctx: &PlanContext,
    conclusion: CheckConclusion,
) -> String {
    let mut out = String::new();
    let headline = match (conclusion, ctx.overridden.is_some()) {
        (CheckConclusion::Failure, false) => ":x: **thoth: blocked**",
        (CheckConclusion::Failure, true) => ":x: **thoth: blocked by an override**",
        (_, false) => ":white_check_mark: **thoth: passed**",
        (_, true) => ":white_check_mark: **thoth: passed by an override**",
    };
    let _ = write!(out, "## {headline}");
    if let Some(sha) = &ctx.head_sha {
        let short: String = sha.as_str().chars().take(12).collect();
        let _ = write!(out, " at `{short}`");
    }
    out.push_str("\n\n");

    // One paragraph, lines joined by markdown hard breaks.
    let mut decision_line = format!("**Decision:** {}", decision.kind);
    if let Some(why) = &decision.downgrade {
        let _ = write!(
            decision_line,
            " (proposed: {}; downgraded: {})",
            decision.proposed,
            escape_text(&why.to_string())
        );
    }
    let mut lines = vec![
        decision_line,
        format!(
            "**Risk:** {}/100 · **Confidence:** {:.2}",
            decision.risk, decision.confidence
        ),
    ];
    lines.extend(ctx.notes.iter().map(|n| escape_text(n)));
    let _ = writeln!(out, "{}", lines.join("  \n"));
    if !decision.reasons.is_empty() {
        out.push_str("\n<details><summary>Why</summary>\n\n");
        for reason in &decision.reasons {
            let _ = writeln!(out, "- {}", escape_text(reason));
        }
        out.push_str("\n</details>\n");
    }

    out.push_str("\n| Gate | Result | Checked | Errors | Failures | Warnings | Info |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    for g in &report.gates {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            g.gate,
            if g.passed { "passed" } else { "**failed**" },
            g.checked,
            g.count(Level::Error),
            g.count(Level::Failure),
            g.count(Level::Warning),
            g.count(Level::Info),
        );
    }

    let namespaces: Vec<String> = report
        .gates
        .iter()
        .flat_map(|g| g.namespaces.iter().map(|n| format!("`{}`", escape_text(n))))
        .collect();
    if !namespaces.is_empty() {
        let _ = writeln!(
            out,
            "\nRego namespaces evaluated: {}",
            namespaces.join(", ")
        );
    }

    let sets: Vec<String> = report
        .gates
        .iter()
        .flat_map(|g| g.policy_sets.iter().map(|s| escape_text(s)))
        .collect();
    if !sets.is_empty() {
        let _ = writeln!(out, "\nPolicy sets: {}", sets.join(", "));
    }
    let config: Vec<String> = report
        .gates
        .iter()
        .filter(|g| !g.config_files.is_empty())
        .map(|g| {
            let files: Vec<String> = g
                .config_files
                .iter()
                .map(|f| format!("`{}`", escape_text(f)))
                .collect();
            format!("{} from {}", g.gate, files.join(", "))
        })
        .collect();
    if !config.is_empty() {
        let _ = writeln!(out, "\nConfig: {}", config.join("; "));
    }

    let total = report.findings().count();
    if report.projects.len() > 1 {
        render_projects(&mut out, report);
    }
    if total > 0 {
        out.push_str("\n### Findings\n");
        let mut shown = 0;
        // One group per gate; with several projects, per project and gate.
        let projects: Vec<Option<&str>> = if report.projects.is_empty() {
            vec![None]
        } else {
            report.projects.iter().map(|p| Some(p.as_str())).collect()
        };
        for project in projects {
            for gate in Gate::ALL {
                let mut findings: Vec<&Finding> = report
                    .findings()
                    .filter(|f| f.gate == gate && f.project.as_deref() == project)
                    .collect();
                if findings.is_empty() || shown >= MAX_TABLE_ROWS {
                    continue;
                }
                // Blocking first, then by severity, so a capped table still shows what matters.
                findings.sort_by_key(|f| (f.level, f.severity));
                let heading = match project {
                    Some(p) => format!("{} · {gate}", code(project_name(p))),
                    None => gate.to_string(),
                };
                let _ = write!(
                    out,
                    "\n#### {heading} ({})\n\n| Level | Severity | Rule | Location | Message |\n\
                     |---|---|---|---|---|\n",
                    findings.len()
                );
                for f in findings.into_iter().take(MAX_TABLE_ROWS - shown) {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} |",
                        f.level,
                        f.severity,
                        code(&f.rule_id),
                        location(f),
                        with_controls(f)
                    );
                    shown += 1;
                }
            }
        }
        if total > shown {
            let _ = writeln!(out, "\n_…and {} more finding(s) not shown._", total - shown);
        }
    }
    if let Some(ai) = &ctx.ai {
        ai.render(&mut out);
    }
    suggestion::render_summary(&mut out, &ctx.suggestions, ctx.inline_suggestions);
    out
}

fn location(f: &Finding) -> String {
    let place = match (&f.file, f.line) {
        (Some(file), Some(line)) => Some(code(&format!("{file}:{line}"))),
        (Some(file), None) => Some(code(file)),
        (None, _) => None,
    };
    match (place, &f.resource) {
        (Some(place), Some(res)) => format!("{place} ({})", code(res)),
        (Some(place), None) => place,
        (None, Some(res)) => code(res),
        (None, None) => String::new(),
    }
}

/// Inline code, safe for a table cell. File names come from the pull request, so they must not
/// be able to break out of the cell or inject markup; inside backticks `@` mentions are inert.
fn code(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '|' => '¦',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    format!("`{}`", truncate(&cleaned, 200))
}

/// Plain text for a table cell or list item: one line, no pipes, no HTML, no @-mentions (a
/// policy message must not ping a team on every push).
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in truncate(s, 1_000).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("@\u{2060}"),
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cuts markdown to `max` bytes on a line boundary, saying that it was cut.
pub(crate) fn cap_markdown(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    const NOTE: &str = "\n\n_…summary cut to fit GitHub's size limit._\n";
    let mut end = max - NOTE.len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = s[..end].rfind('\n').unwrap_or(end);
    format!("{}{NOTE}", &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_cells_and_mentions_inert() {
        assert_eq!(escape_text("a|b\n<x>@team"), "a\\|b &lt;x&gt;@\u{2060}team");
        assert_eq!(code("a`b|c"), "`a'b¦c`");
    }

    #[test]
    fn capping_cuts_on_a_line_and_says_so() {
        let long = "line\n".repeat(20_000);
        let capped = cap_markdown(long, MAX_BODY_BYTES);
        assert!(capped.len() <= MAX_BODY_BYTES);
        assert!(capped.ends_with("size limit._\n"));
        assert_eq!(cap_markdown("short".into(), 10), "short");
    }

    #[test]
    fn controls_follow_the_message_escaped() {
        let mut f = Finding::new(
            Gate::Rego,
            "R",
            Level::Failure,
            crate::finding::Severity::High,
            "m|x",
        );
        assert_eq!(with_controls(&f), "m\\|x");
        f.controls = vec!["SOC2 CC6.1".into(), "PCI <1.2>".into()];
        assert_eq!(
            with_controls(&f),
            "m\\|x <br>**Controls:** SOC2 CC6.1, PCI &lt;1.2&gt;"
        );
    }

    #[test]
    fn truncation_is_char_safe() {
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
