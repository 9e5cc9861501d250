//! The fixes offered on a pull request: the deterministic patterns for the findings the gates
//! reported (`crate::fix`), then the model's fixes when the AI review answered, each marked
//! with whether it lies inside the pull request's diff (GitHub can only suggest there).

use std::collections::BTreeMap;

use super::checkout::Checkout;
use crate::finding::CheckReport;
use crate::forge::AiSection;
use crate::forge::suggestion::{MAX_SUGGESTIONS, Suggestion};

/// The suggestions for `report` on `co` (blocking file reads and diffs, off the runtime).
pub(super) async fn offered(
    co: &Checkout,
    report: &CheckReport,
    ai: Option<&AiSection>,
) -> Vec<Suggestion> {
    let (head, base) = (co.head.clone(), co.base.clone());
    let report = report.clone();
    let ai_fixes: Vec<Suggestion> = ai
        .map(|a| {
            a.answer
                .fixes
                .iter()
                .map(|f| Suggestion {
                    path: f.file.clone(),
                    start_line: f.start_line,
                    end_line: f.end_line,
                    replacement: f.replacement.clone(),
                    rule_id: f.rule_id.clone(),
                    title: "fix proposed by the AI review".into(),
                    ai: true,
                    in_diff: false,
                })
                .collect()
        })
        .unwrap_or_default();
    let task = tokio::task::spawn_blocking(move || {
        let mut out: Vec<Suggestion> = crate::fix::suggest(&head, &report)
            .into_iter()
            .map(|f| Suggestion {
                path: f.file,
                start_line: f.start_line,
                end_line: f.end_line,
                replacement: f.replacement,
                rule_id: f.rule_id,
                title: f.title,
                ai: false,
                in_diff: false,
            })
            .collect();
        // A model's fix for lines a pattern already fixes would be a second, conflicting edit.
        for a in ai_fixes {
            let overlaps = out.iter().any(|d| {
                d.path == a.path && d.start_line <= a.end_line && a.start_line <= d.end_line
            });
            if !overlaps {
                out.push(a);
            }
        }
        out.truncate(MAX_SUGGESTIONS);
        let mut ranges: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
        for s in &mut out {
            let hunks = ranges
                .entry(s.path.clone())
                .or_insert_with(|| crate::ai::diff::hunk_ranges(base.as_deref(), &head, &s.path));
            s.in_diff = hunks
                .iter()
                .any(|(from, to)| *from <= s.start_line && s.end_line <= *to);
        }
        out
    });
    match task.await {
        Ok(s) => s,
        Err(e) => {
            // Suggestions are a help, never a reason to fail the evaluation.
            tracing::warn!(error = %e, "fix suggestions could not be computed");
            Vec::new()
        }
    }
}
