//! How an AI review appears in what the bot publishes: a section of the summary where every
//! finding is marked AI, and annotations (GitHub) / threads (Azure DevOps) titled `AI: ...`.
//! Everything the model wrote is escaped like any PR-provided text.

use std::fmt::Write as _;

use super::{Annotation, AnnotationLevel, code, escape_text, truncate};
use crate::ai::AiAnswer;
use crate::finding::Severity;

/// The AI review to publish with the gates' result.
#[derive(Debug, Clone, PartialEq)]
pub struct AiSection {
    pub model: String,
    pub answer: AiAnswer,
    /// `[ai] ai_findings_block`: high and critical AI findings fail the merge gate.
    pub findings_block: bool,
}

/// The marker every AI item carries.
pub const AI_MARK: &str = "🤖 AI";

impl AiSection {
    /// Whether the AI findings fail the merge gate.
    pub fn blocks(&self) -> bool {
        self.findings_block && crate::decision::ai::blocking_findings(&self.answer) > 0
    }

    fn level(&self, s: Severity) -> AnnotationLevel {
        if self.findings_block && matches!(s, Severity::Critical | Severity::High) {
            AnnotationLevel::Failure
        } else {
            AnnotationLevel::Warning
        }
    }

    /// The AI findings that have a file and a line.
    pub fn annotations(&self) -> Vec<Annotation> {
        self.answer
            .findings
            .iter()
            .filter_map(|f| {
                let line = f.line.filter(|l| *l > 0)?;
                let path = f.file.trim_start_matches("./");
                if path.is_empty() {
                    return None;
                }
                Some(Annotation {
                    path: path.to_owned(),
                    start_line: line,
                    end_line: line,
                    annotation_level: self.level(f.severity),
                    title: truncate(&format!("AI: {} ({})", f.title, f.severity), 255),
                    message: truncate(
                        &format!("[{AI_MARK} finding, {}] {}", self.model, f.explanation),
                        60_000,
                    ),
                })
            })
            .collect()
    }

    /// The summary's AI section.
    pub fn render(&self, out: &mut String) {
        let a = &self.answer;
        let _ = writeln!(
            out,
            "\n### {AI_MARK} review ({})\n\n**AI risk:** {}/100 · **AI confidence:** {:.2}. {}",
            escape_text(&self.model),
            a.risk_score,
            a.confidence,
            if self.findings_block {
                "High and critical AI findings block the merge."
            } else {
                "AI findings are advisory: they can raise the risk, never approve."
            }
        );
        if !a.findings.is_empty() {
            out.push_str("\n| | Severity | Location | Finding |\n|---|---|---|---|\n");
            for f in &a.findings {
                let place = match f.line {
                    Some(l) => code(&format!("{}:{l}", f.file)),
                    None => code(&f.file),
                };
                let _ = writeln!(
                    out,
                    "| {AI_MARK} | {} | {place} | **{}**: {} |",
                    f.severity,
                    escape_text(&f.title),
                    escape_text(&f.explanation)
                );
            }
        }
        if !a.recommendations.is_empty() {
            out.push_str("\n**AI recommendations:**\n");
            for r in &a.recommendations {
                let _ = writeln!(out, "- {AI_MARK}: {}", escape_text(r));
            }
        }
        if !a.fixes.is_empty() {
            out.push_str("\n**AI fix suggestions:**\n");
            for f in &a.fixes {
                let _ = writeln!(
                    out,
                    "- {AI_MARK}: {} lines {}-{} ({})",
                    code(&f.file),
                    f.start_line,
                    f.end_line,
                    code(&f.rule_id)
                );
            }
        }
    }
}
