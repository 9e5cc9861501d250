//! The markdown a person reads: the summary comment and check-run text of a [`PublishPlan`],
//! and the review body. Everything from a pull request or a policy is escaped here, so a file
//! name or a finding message cannot break a table, mention a team or inject HTML.

use std::fmt::Write as _;

use super::{CheckConclusion, MAX_TABLE_ROWS, PlanContext, suggestion};
use crate::decision::Decision;
use crate::finding::{CheckReport, Finding, Gate, Level};

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
pub(super) fn with_controls(f: &Finding) -> String {
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

pub(super) fn render_review(decision: &Decision) -> String {
    let mut out = format!("**thoth: {}**\n\n", decision.kind);
    for reason in &decision.reasons {
        let _ = writeln!(out, "- {}", escape_text(reason));
    }
    out.push_str("\nThe summary comment and the `thoth` check run list every finding.");
    out
}

pub(super) fn render_summary(
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
pub(super) fn code(s: &str) -> String {
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
pub(super) fn escape_text(s: &str) -> String {
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
pub(super) fn truncate(s: &str, max: usize) -> String {
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
