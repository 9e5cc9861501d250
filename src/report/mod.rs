//! Report renderers: turn a [`CheckReport`] into what `thoth-bot check --format ...` prints.
//!
//! Every renderer is a pure function of the report, so the same report always renders to the
//! same bytes (CI diffs and golden files stay stable). One file per format:
//!
//! - [`Format::Text`]: for people at a terminal (`text.rs`).
//! - [`Format::Json`]: one JSON document for scripts (`json.rs`).
//! - [`Format::Sarif`]: SARIF 2.1.0 for code-scanning UIs (`sarif.rs`).
//! - [`Format::Junit`]: JUnit XML for CI test-result panels (`junit.rs`).

use crate::finding::{CheckReport, Finding};
use std::cmp::Ordering;
use std::fmt;

mod json;
mod junit;
mod sarif;
mod text;

/// An output format of `thoth-bot check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by file.
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).
    Sarif,
    /// JUnit XML (CI test-result panels).
    Junit,
}

impl Format {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Renders `report` in `format`. The result ends with a newline.
pub fn render(report: &CheckReport, format: Format) -> String {
    match format {
        Format::Text => text::render(report),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
    }
}

/// Display order: by file (project-level findings, which have no file, first), then line
/// (findings without a line first), then rule id.
fn display_order(a: &Finding, b: &Finding) -> Ordering {
    (a.file.as_deref(), a.line, a.rule_id.as_str()).cmp(&(
        b.file.as_deref(),
        b.line,
        b.rule_id.as_str(),
    ))
}

/// Every finding of the report in [`display_order`]. The sort is stable, so findings that tie
/// keep the report's gate order.
fn sorted_findings(report: &CheckReport) -> Vec<&Finding> {
    let mut findings: Vec<&Finding> = report.findings().collect();
    findings.sort_by(|a, b| display_order(a, b));
    findings
}

/// Shared test data: one report covering every gate, every level and every optional field.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::finding::{CheckReport, Finding, Gate, GateReport, Level, Severity};

    /// Structure passes with a warning, rego fails (two failures, a warning, an info), drift
    /// could not run (an error): exit code 2.
    pub fn sample_report() -> CheckReport {
        let structure = GateReport::new(
            Gate::Structure,
            5,
            vec![
                Finding::new(
                    Gate::Structure,
                    "structure.readme",
                    Level::Warning,
                    Severity::Low,
                    "README.md is missing",
                ),
                Finding::new(
                    Gate::Structure,
                    "structure.layout",
                    Level::Info,
                    Severity::Info,
                    "modules/ has no variables.tf",
                )
                .at("modules/net/main.tf", None),
            ],
        );
        let rego = GateReport::new(
            Gate::Rego,
            12,
            vec![
                Finding::new(
                    Gate::Rego,
                    "s3.public_bucket",
                    Level::Failure,
                    Severity::Critical,
                    "bucket `logs` is public",
                )
                .at("main.tf", Some(12))
                .with_resource("aws_s3_bucket.logs")
                .with_pattern("public_s3_buckets"),
                Finding::new(
                    Gate::Rego,
                    "secrets.hardcoded",
                    Level::Failure,
                    Severity::High,
                    "hardcoded secret in `password`",
                )
                .at("db/main.tf", Some(3))
                .with_resource("aws_db_instance.main")
                .with_pattern("hardcoded_secrets"),
                Finding::new(
                    Gate::Rego,
                    "tags.owner",
                    Level::Warning,
                    Severity::Medium,
                    "resource has no `owner` tag",
                )
                .at("main.tf", Some(4))
                .with_resource("aws_s3_bucket.logs"),
                Finding::new(
                    Gate::Rego,
                    "style.naming",
                    Level::Info,
                    Severity::Info,
                    "consider snake_case names",
                )
                .at("main.tf", Some(12)),
            ],
        );
        let drift = GateReport::new(
            Gate::Drift,
            0,
            vec![Finding::error(
                Gate::Drift,
                "drift.policy_parse",
                ".driftpolicy: line 2: unknown key `sevrity`",
            )],
        );
        CheckReport::new(vec![structure, rego, drift])
    }

    /// Every gate ran and found nothing.
    pub fn empty_report() -> CheckReport {
        CheckReport::new(
            Gate::ALL
                .iter()
                .map(|&gate| GateReport::new(gate, 3, Vec::new()))
                .collect(),
        )
    }

    /// Text that breaks naive escapers: markup, quotes, control characters, non-ASCII.
    pub const NASTY: &str = "a<b>&\"c\"'d'\u{0}\u{1b}[31m\u{7}\ttab\nnew\r\u{FFFE}é😀";

    /// One failing rego finding whose every text field is [`NASTY`].
    pub fn nasty_report() -> CheckReport {
        let finding = Finding::new(Gate::Rego, NASTY, Level::Failure, Severity::High, NASTY)
            .at(format!("dir with space/{NASTY}.tf"), Some(7))
            .with_resource(NASTY)
            .with_pattern(NASTY);
        CheckReport::new(vec![GateReport::new(Gate::Rego, 1, vec![finding])])
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{empty_report, sample_report};
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn format_names_match_the_cli() {
        for format in Format::value_variants() {
            let name = format
                .to_possible_value()
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default();
            assert_eq!(name, format.as_str());
            assert_eq!(Format::from_str(&name, false), Ok(*format));
        }
    }

    #[test]
    fn every_format_renders_and_ends_with_a_newline() {
        for report in [
            sample_report(),
            empty_report(),
            CheckReport::new(Vec::new()),
        ] {
            for format in Format::value_variants() {
                let out = render(&report, *format);
                assert!(out.ends_with('\n'), "{format} output lacks a final newline");
            }
        }
    }

    #[test]
    fn sorted_findings_orders_by_file_line_rule() {
        let report = sample_report();
        let keys: Vec<(Option<&str>, Option<u32>, &str)> = sorted_findings(&report)
            .iter()
            .map(|f| (f.file.as_deref(), f.line, f.rule_id.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (None, None, "drift.policy_parse"),
                (None, None, "structure.readme"),
                (Some("db/main.tf"), Some(3), "secrets.hardcoded"),
                (Some("main.tf"), Some(4), "tags.owner"),
                (Some("main.tf"), Some(12), "s3.public_bucket"),
                (Some("main.tf"), Some(12), "style.naming"),
                (Some("modules/net/main.tf"), None, "structure.layout"),
            ]
        );
    }
}
