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
mod render;
pub(crate) mod retry;
pub mod suggestion;

pub use ai_section::AiSection;
pub(crate) use render::cap_markdown;
#[cfg(test)]
use render::with_controls;
use render::{code, escape_text, render_review, render_summary, truncate};

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, DecisionKind};
use crate::finding::{CheckReport, Finding, Level};
use crate::ids::CommitSha;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Gate;

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
