//! The operators' reports read from the store: `thoth-bot report` (the dashboard's figures as
//! text, JSON or markdown) and `thoth-bot stats` (decisions by action and safety-guard
//! downgrades by reason, like ThothCTL's `configure-decisions --stats`).

pub mod costs;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{TimeDelta, Utc};
use serde::Serialize;

use crate::store::{DecisionRecord, EvaluationRecord};
use crate::web::figures::{self, Figures, human_duration};

/// Output of `report` and `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

/// The arguments of `report` and `stats`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Store URL (`sled:PATH` or `postgres://...`).
    #[arg(long, env = "THOTH_STORE", default_value = "sled:./thoth-data")]
    pub store: String,
    /// How many days back.
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// Output format (`stats` prints markdown as text).
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

/// Records read at most for `stats`.
const MAX_RECORDS: usize = 100_000;

/// `thoth-bot report --days N --format F`.
pub async fn report(store_url: &str, days: i64, format: ReportFormat) -> anyhow::Result<String> {
    let store = crate::store::open(store_url).await?;
    let f = figures::gather(
        store.as_ref(),
        crate::web::store_kind(store_url),
        None,
        days,
        Utc::now(),
    )
    .await?;
    Ok(render_report(&f, format))
}

/// Renders the figures.
pub fn render_report(f: &Figures, format: ReportFormat) -> String {
    if format == ReportFormat::Json {
        return serde_json::to_string_pretty(f).unwrap_or_default() + "\n";
    }
    let md = format == ReportFormat::Markdown;
    let mut out = String::new();
    let h = |out: &mut String, title: &str| {
        if md {
            let _ = writeln!(out, "\n## {title}\n");
        } else {
            let _ = writeln!(out, "\n{title}");
        }
    };
    let row = |out: &mut String, cells: &[String]| {
        if md {
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        } else {
            let _ = writeln!(out, "  {}", cells.join("  "));
        }
    };
    let header = |out: &mut String, cells: &[&str]| {
        if md {
            let _ = writeln!(out, "| {} |", cells.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(cells.len()));
        }
    };
    if md {
        let _ = writeln!(out, "# thoth-bot report, last {} days", f.days);
    } else {
        let _ = writeln!(out, "thoth-bot report, last {} days", f.days);
    }
    let median = f
        .median_time_to_fix_secs
        .map(human_duration)
        .unwrap_or_else(|| "no fix seen".into());
    let queue = f
        .queue_depth
        .map(|q| q.to_string())
        .unwrap_or_else(|| "unknown".into());
    let _ = writeln!(
        out,
        "\nevaluations: {}  median time to fix: {median} ({} fixes)  queue depth: {queue}  store: {}",
        f.evaluations, f.fixes, f.store
    );

    h(&mut out, "Pass rate per repository");
    header(
        &mut out,
        &["Repository", "Evaluations", "Passed", "Pass rate"],
    );
    for r in &f.pass_rates {
        row(
            &mut out,
            &[
                cell(&r.repo, md),
                r.evaluations.to_string(),
                r.passed.to_string(),
                format!("{}%", r.pass_rate),
            ],
        );
    }
    h(&mut out, "Top failing rules");
    header(&mut out, &["Rule", "7 days", "30 days"]);
    for r in &f.top_rules {
        row(
            &mut out,
            &[
                cell(&r.rule_id, md),
                r.last_7_days.to_string(),
                r.last_30_days.to_string(),
            ],
        );
    }
    h(&mut out, "Open overrides");
    header(&mut out, &["Pull request", "Who", "Decision", "Why"]);
    for o in &f.open_overrides {
        row(
            &mut out,
            &[
                cell(&format!("{}#{}", o.repo, o.pr), md),
                cell(&format!("@{}", o.actor), md),
                o.decision.clone(),
                cell(&o.reason, md),
            ],
        );
    }
    h(&mut out, "Recent evaluations");
    header(
        &mut out,
        &["When", "Pull request", "Decision", "Gate", "Findings"],
    );
    for r in &f.recent {
        row(
            &mut out,
            &[
                r.at.format("%Y-%m-%d %H:%M").to_string(),
                cell(&format!("{}#{}", r.repo, r.pr), md),
                r.decision.clone(),
                r.conclusion.clone(),
                r.findings.to_string(),
            ],
        );
    }
    out
}

/// A table cell: one line, no pipes (markdown) and no mentions.
fn cell(s: &str, md: bool) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if md {
        one_line
            .replace('|', "\\|")
            .replace('<', "&lt;")
            .replace('@', "@\u{2060}")
    } else {
        one_line
    }
}

/// What `stats` counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    pub days: i64,
    /// Decision records by action (`approve`, `override:approve`, ...).
    pub by_action: BTreeMap<String, u64>,
    /// Evaluations the safety guard downgraded, by reason (`cooldown`, `daily limit`, ...).
    pub downgrades: BTreeMap<String, u64>,
    pub evaluations: usize,
}

/// Counts decisions and downgrades.
pub fn compute_stats(days: i64, decisions: &[DecisionRecord], evals: &[EvaluationRecord]) -> Stats {
    let mut s = Stats {
        days,
        evaluations: evals.len(),
        ..Stats::default()
    };
    for d in decisions {
        *s.by_action.entry(d.decision.clone()).or_default() += 1;
    }
    for e in evals {
        if let Some(d) = &e.downgrade {
            let reason = d.split_once(':').map_or(d.as_str(), |(r, _)| r);
            *s.downgrades.entry(reason.to_string()).or_default() += 1;
        }
    }
    s
}

/// `thoth-bot stats --days N`.
pub async fn stats(store_url: &str, days: i64, format: ReportFormat) -> anyhow::Result<String> {
    let store = crate::store::open(store_url).await?;
    let since = Utc::now() - TimeDelta::days(days.max(1));
    let decisions = store.decisions(None, since, MAX_RECORDS).await?;
    let evals = store.evaluations(since, MAX_RECORDS).await?;
    let s = compute_stats(days, &decisions, &evals);
    Ok(match format {
        ReportFormat::Json => serde_json::to_string_pretty(&s).unwrap_or_default() + "\n",
        ReportFormat::Text | ReportFormat::Markdown => {
            let mut out = format!(
                "Decisions in the last {} days ({} evaluations)\n",
                s.days, s.evaluations
            );
            if s.by_action.is_empty() {
                out.push_str("  none\n");
            }
            for (action, n) in &s.by_action {
                let _ = writeln!(out, "  {action:<32} {n}");
            }
            out.push_str("Safety-guard downgrades by reason\n");
            if s.downgrades.is_empty() {
                out.push_str("  none\n");
            }
            for (reason, n) in &s.downgrades {
                let _ = writeln!(out, "  {reason:<32} {n}");
            }
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table_or_mention() {
        assert_eq!(cell("a|b\n@team <x>", true), "a\\|b @\u{2060}team &lt;x>");
        assert_eq!(cell("a|b", false), "a|b");
    }
}
