//! `--format text`: the human-readable report.
//!
//! Findings are grouped by file (project-level findings, which have no file, under
//! `(project)`), one line each; then one summary line per gate and a final verdict line:
//!
//! ```text
//! main.tf
//!     12  FAIL   critical  s3.public_bucket  bucket `logs` is public  [aws_s3_bucket.logs]
//!
//! structure: passed (5 checked)
//! rego: FAILED, 1 failure (12 checked)
//! FAILED
//! ```
//!
//! No colours: the output goes to CI logs and PR comments as often as to terminals.

use super::sorted_findings;
use crate::finding::{CheckReport, Finding, GateReport, Level};
use std::fmt::Write as _;

/// Heading of the group of findings that have no file.
const PROJECT_HEADING: &str = "(project)";

/// Renders the report as plain text ending with a newline.
pub(super) fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    let findings = sorted_findings(report);
    if findings.is_empty() {
        out.push_str("No findings.\n");
    }
    let mut current_group: Option<String> = None;
    for f in &findings {
        let group = match (&f.file, &f.project) {
            (Some(file), _) => file.clone(),
            (None, Some(p)) => format!("(project {p})"),
            (None, None) => PROJECT_HEADING.to_string(),
        };
        if current_group.as_ref() != Some(&group) {
            if current_group.is_some() {
                out.push('\n');
            }
            out.push_str(&clean(&group));
            out.push('\n');
            current_group = Some(group);
        }
        finding_line(&mut out, f);
    }
    out.push('\n');
    if !report.projects.is_empty() {
        let projects: Vec<String> = report
            .projects
            .iter()
            .map(|p| {
                let state = if report.of_project(p).passed {
                    "passed"
                } else {
                    "FAILED"
                };
                format!("{} {state}", clean(p))
            })
            .collect();
        let _ = writeln!(out, "Projects: {}", projects.join(", "));
    }
    for gate in &report.gates {
        out.push_str(&gate_summary(gate));
        out.push('\n');
    }
    let sets: Vec<String> = report
        .gates
        .iter()
        .flat_map(|g| g.policy_sets.iter().map(|s| clean(s)))
        .collect();
    if !sets.is_empty() {
        let _ = writeln!(out, "Policy sets: {}", sets.join(", "));
    }
    let config: Vec<String> = report
        .gates
        .iter()
        .filter(|g| !g.config_files.is_empty())
        .map(|g| format!("{} from {}", g.gate, clean(&g.config_files.join(", "))))
        .collect();
    if !config.is_empty() {
        let _ = writeln!(out, "Config: {}", config.join("; "));
    }
    out.push_str(verdict(report));
    out.push('\n');
    out
}

/// `  <line>  <LEVEL>  <severity>  <rule>  <message>  [<resource>]`, padded so the columns of
/// one group line up for lines up to 9999 and the usual rule id lengths.
fn finding_line(out: &mut String, f: &Finding) {
    let line = f.line.map(|l| l.to_string()).unwrap_or_default();
    // Writing to a String cannot fail; the result is ignored on purpose.
    let _ = write!(
        out,
        "  {line:>4}  {:<5}  {:<8}  {}  {}",
        level_label(f.level),
        f.severity.as_str(),
        clean(&f.rule_id),
        clean(&f.message),
    );
    if let Some(resource) = &f.resource {
        let _ = write!(out, "  [{}]", clean(resource));
    }
    if !f.controls.is_empty() {
        let _ = write!(out, "  ({})", clean(&f.controls.join(", ")));
    }
    out.push('\n');
}

fn level_label(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Failure => "FAIL",
        Level::Warning => "WARN",
        Level::Info => "INFO",
    }
}

/// `rego: FAILED, 3 failures, 2 warnings (12 checked)`.
fn gate_summary(gate: &GateReport) -> String {
    let errors = gate.count(Level::Error);
    let status = if errors > 0 {
        "ERROR"
    } else if gate.passed {
        "passed"
    } else {
        "FAILED"
    };
    let mut line = format!("{}: {status}", gate.gate);
    let counts = [
        (errors, "error", "errors"),
        (gate.count(Level::Failure), "failure", "failures"),
        (gate.count(Level::Warning), "warning", "warnings"),
        (gate.count(Level::Info), "info", "infos"),
    ];
    for (n, one, many) in counts {
        if n > 0 {
            let _ = write!(line, ", {n} {}", if n == 1 { one } else { many });
        }
    }
    let _ = write!(line, " ({} checked)", gate.checked);
    if !gate.namespaces.is_empty() {
        let _ = write!(line, "; namespaces: {}", gate.namespaces.join(", "));
    }
    line
}

fn verdict(report: &CheckReport) -> &'static str {
    match report.exit_code() {
        0 => "PASSED",
        1 => "FAILED",
        _ => "ERROR (a gate could not run)",
    }
}

/// Makes untrusted text (policy messages, file names) safe for a one-line terminal display:
/// line breaks and tabs become spaces, other control characters (including ESC, which would
/// let a policy message drive the terminal) are dropped.
fn clean(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Gate, Severity};
    use crate::report::fixtures::{empty_report, nasty_report, sample_report};

    #[test]
    fn sample_report_renders_exactly() {
        let expected = "\
(project)
        ERROR  high      drift.policy_parse  .driftpolicy: line 2: unknown key `sevrity`
        WARN   low       structure.readme  README.md is missing

db/main.tf
     3  FAIL   high      secrets.hardcoded  hardcoded secret in `password`  [aws_db_instance.main]

main.tf
     4  WARN   medium    tags.owner  resource has no `owner` tag  [aws_s3_bucket.logs]
    12  FAIL   critical  s3.public_bucket  bucket `logs` is public  [aws_s3_bucket.logs]
    12  INFO   info      style.naming  consider snake_case names

modules/net/main.tf
        INFO   info      structure.layout  modules/ has no variables.tf

structure: passed, 1 warning, 1 info (5 checked)
rego: FAILED, 2 failures, 1 warning, 1 info (12 checked)
drift: ERROR, 1 error (0 checked)
ERROR (a gate could not run)
";
        assert_eq!(render(&sample_report()), expected);
    }

    #[test]
    fn groups_by_file_once_each() {
        let out = render(&sample_report());
        for heading in ["(project)", "db/main.tf", "main.tf", "modules/net/main.tf"] {
            let n = out.lines().filter(|l| *l == heading).count();
            assert_eq!(n, 1, "heading {heading} appears {n} times");
        }
    }

    #[test]
    fn verdicts() {
        assert!(render(&sample_report()).ends_with("\nERROR (a gate could not run)\n"));

        let failing = CheckReport::new(vec![GateReport::new(
            Gate::Rego,
            3,
            vec![
                Finding::new(Gate::Rego, "r", Level::Failure, Severity::High, "m").at("a.tf", None),
            ],
        )]);
        let out = render(&failing);
        assert!(
            out.ends_with("\nrego: FAILED, 1 failure (3 checked)\nFAILED\n"),
            "{out}"
        );
    }

    #[test]
    fn empty_reports() {
        assert_eq!(
            render(&empty_report()),
            "No findings.\n\nstructure: passed (3 checked)\nrego: passed (3 checked)\n\
             drift: passed (3 checked)\nPASSED\n"
        );
        assert_eq!(
            render(&CheckReport::new(Vec::new())),
            "No findings.\n\nPASSED\n"
        );
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let out = render(&nasty_report());
        assert!(!out.contains('\u{1b}'), "ESC leaked: {out:?}");
        assert!(!out.contains('\u{0}') && !out.contains('\u{7}') && !out.contains('\r'));
        assert!(!out.contains('\t'));
        // One heading, one finding line, a blank line, one gate line, the verdict.
        assert_eq!(out.lines().count(), 5, "{out}");
        assert!(out.contains("a<b>&\"c\"'d'[31m"), "{out}");
        assert!(out.contains("é😀"));
    }
}
