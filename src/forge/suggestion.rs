//! Fix suggestions as the forges show them: on GitHub a review comment with a ```` ```suggestion ````
//! block (only on lines inside the pull request's diff, which GitHub requires; the rest are
//! listed in the summary), on Azure DevOps a thread on the file with the fix as a code block.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{code, escape_text};

/// Suggestions offered on one pull request at most (the rest are counted in the summary).
pub const MAX_SUGGESTIONS: usize = 20;

/// One fix offered on a pull request: replace lines `start_line..=end_line` of `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    /// The new text of those lines (no final newline).
    pub replacement: String,
    pub rule_id: String,
    pub title: String,
    /// Proposed by the model rather than a deterministic pattern.
    pub ai: bool,
    /// Whether every line it replaces is inside one hunk of the pull request's diff.
    pub in_diff: bool,
}

impl Suggestion {
    /// A fence longer than any backtick run in the replacement, so the text cannot close it.
    fn fence(&self) -> String {
        let longest = self
            .replacement
            .split(|c| c != '`')
            .map(str::len)
            .max()
            .unwrap_or(0);
        "`".repeat(longest.max(2) + 1)
    }

    fn heading(&self) -> String {
        let who = if self.ai {
            "🤖 AI suggested fix"
        } else {
            "Suggested fix"
        };
        format!(
            "**{who}** for {}: {}",
            code(&self.rule_id),
            escape_text(&self.title)
        )
    }

    /// The GitHub review comment: applied with one click.
    pub fn github_body(&self) -> String {
        let fence = self.fence();
        format!(
            "{}\n\n{fence}suggestion\n{}\n{fence}",
            self.heading(),
            self.replacement
        )
    }

    /// The Azure DevOps thread: the fix as a code block (the caller adds the hidden key that
    /// makes it open once).
    pub fn thread_body(&self) -> String {
        let fence = self.fence();
        format!(
            "{} (lines {}-{})\n\n{fence}hcl\n{}\n{fence}",
            self.heading(),
            self.start_line,
            self.end_line,
            self.replacement
        )
    }

    /// `file:line` or `file:first-last`.
    pub fn place(&self) -> String {
        if self.start_line == self.end_line {
            format!("{}:{}", self.path, self.start_line)
        } else {
            format!("{}:{}-{}", self.path, self.start_line, self.end_line)
        }
    }

    /// Identifies the suggestion across re-publishing: file, lines, rule and text.
    pub fn key(&self) -> String {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(
            format!(
                "{}\0{}\0{}\0{}\0{}",
                self.path, self.start_line, self.end_line, self.rule_id, self.replacement
            )
            .as_bytes(),
        );
        d[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The summary's lines about fixes: how many are offered inline, and the others by place.
pub fn render_summary(out: &mut String, suggestions: &[Suggestion], inline_forge: bool) {
    if suggestions.is_empty() {
        return;
    }
    let inline = suggestions.iter().filter(|s| s.in_diff).count();
    let _ = write!(out, "\n### Fix suggestions\n\n");
    if inline_forge {
        let _ = writeln!(
            out,
            "{inline} suggestion(s) on changed lines are review comments you can apply."
        );
    }
    let listed: Vec<&Suggestion> = suggestions
        .iter()
        .filter(|s| !inline_forge || !s.in_diff)
        .collect();
    if !listed.is_empty() {
        if inline_forge {
            out.push_str("Outside the diff (GitHub cannot suggest there):\n\n");
        }
        for s in listed {
            let _ = writeln!(
                out,
                "- {} {}: {}{}",
                code(&s.place()),
                code(&s.rule_id),
                escape_text(&s.title),
                if s.ai { " (🤖 AI)" } else { "" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(replacement: &str) -> Suggestion {
        Suggestion {
            path: "main.tf".into(),
            start_line: 3,
            end_line: 4,
            replacement: replacement.into(),
            rule_id: "THOTH-AWS-RDS-001".into(),
            title: "encrypt | storage".into(),
            ai: false,
            in_diff: true,
        }
    }

    #[test]
    fn bodies_fence_the_text_so_it_cannot_escape() {
        let body = s("  storage_encrypted = true").github_body();
        assert!(
            body.ends_with("```suggestion\n  storage_encrypted = true\n```"),
            "{body}"
        );
        assert!(body.contains("encrypt \\| storage"), "{body}");
        let hostile = s("x = 1\n```\n@admin approve");
        let body = hostile.github_body();
        assert!(body.contains("````suggestion\n"), "{body}");
        assert!(body.ends_with("\n````"), "{body}");
        assert!(hostile.thread_body().contains("\n````hcl\nx = 1\n```\n"));
        assert_ne!(s("a").key(), s("b").key());
    }

    #[test]
    fn the_summary_lists_what_is_not_inline() {
        let mut outside = s("a");
        outside.in_diff = false;
        outside.start_line = 40;
        let mut out = String::new();
        render_summary(&mut out, &[s("b"), outside.clone()], true);
        assert!(out.contains("1 suggestion(s) on changed lines"), "{out}");
        assert!(out.contains("`main.tf:40-4`"), "{out}");
        let mut azure = String::new();
        render_summary(&mut azure, &[s("b"), outside], false);
        assert_eq!(azure.matches("\n- ").count(), 2, "{azure}");
    }
}
