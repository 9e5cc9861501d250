//! `--format json`: exactly one JSON document, for scripts and the decision engine's callers.
//!
//! The shape is a stable contract, so it is written out field by field here rather than derived
//! from the model's `Serialize` impls: a field added to [`Finding`] must not silently change the
//! CLI's output. Absent optional values are `null` (not omitted) so consumers can rely on every
//! key being present. Findings keep the report's order (gate order, then each gate's own order).

use crate::finding::{CheckReport, Finding, GateReport, Level};
use serde_json::{Value, json};

/// Renders the report as pretty-printed JSON followed by a newline.
pub(super) fn render(report: &CheckReport) -> String {
    // `{:#}` is serde_json's infallible pretty printer (`to_string_pretty` returns a `Result`
    // that cannot fail for a `Value`, but would need handling anyway).
    format!("{:#}\n", to_value(report))
}

/// The document as a [`Value`]; keys keep insertion order (`preserve_order` is enabled).
fn to_value(report: &CheckReport) -> Value {
    let mut v = json!({
        "passed": report.passed,
        "exit_code": report.exit_code(),
        "gates": report.gates.iter().map(gate_value).collect::<Vec<_>>(),
        "findings": report.findings().map(finding_value).collect::<Vec<_>>(),
    });
    // Only a repository of several projects (`check --recursive`) has them.
    if !report.projects.is_empty() {
        v["projects"] = json!(
            report
                .projects
                .iter()
                .map(|p| {
                    let part = report.of_project(p);
                    json!({"project": p, "passed": part.passed})
                })
                .collect::<Vec<_>>()
        );
    }
    v
}

fn gate_value(gate: &GateReport) -> Value {
    let mut v = json!({
        "gate": gate.gate.as_str(),
        "passed": gate.passed,
        "checked": gate.checked,
        "failures": gate.count(Level::Failure),
        "warnings": gate.count(Level::Warning),
        "errors": gate.count(Level::Error),
    });
    // The Rego packages that ran (only the Rego gate has them).
    if !gate.namespaces.is_empty() {
        v["namespaces"] = json!(gate.namespaces);
    }
    // The policy sets that ran, with rule counts (only the Rego gate has them).
    if !gate.policy_sets.is_empty() {
        v["policy_sets"] = json!(gate.policy_sets);
    }
    // Where the gate's settings came from (project or org defaults).
    if !gate.config_files.is_empty() {
        v["config_files"] = json!(gate.config_files);
    }
    v
}

fn finding_value(f: &Finding) -> Value {
    let mut v = json!({
        "gate": f.gate.as_str(),
        "rule_id": f.rule_id,
        "level": f.level.as_str(),
        "severity": f.severity.as_str(),
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "resource": f.resource,
        "pattern": f.pattern,
    });
    if !f.controls.is_empty() {
        v["controls"] = json!(f.controls);
    }
    if let Some(p) = &f.project {
        v["project"] = json!(p);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Gate, Severity};
    use crate::report::fixtures::{NASTY, empty_report, nasty_report, sample_report};

    fn parse(out: &str) -> Value {
        match serde_json::from_str(out) {
            Ok(v) => v,
            Err(e) => panic!("output is not JSON ({e}):\n{out}"),
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn top_level_and_gate_values() {
        let v = parse(&render(&sample_report()));
        assert_eq!(keys(&v), ["passed", "exit_code", "gates", "findings"]);
        assert_eq!(v["passed"], false);
        assert_eq!(v["exit_code"], 2);
        assert_eq!(
            v["gates"],
            json!([
                {"gate": "structure", "passed": true, "checked": 5, "failures": 0, "warnings": 1, "errors": 0},
                {"gate": "rego", "passed": false, "checked": 12, "failures": 2, "warnings": 1, "errors": 0},
                {"gate": "drift", "passed": false, "checked": 0, "failures": 0, "warnings": 0, "errors": 1},
            ])
        );
        for gate in v["gates"].as_array().into_iter().flatten() {
            assert_eq!(
                keys(gate),
                [
                    "gate", "passed", "checked", "failures", "warnings", "errors"
                ]
            );
        }
    }

    #[test]
    fn findings_have_every_key_in_order_with_nulls() {
        let v = parse(&render(&sample_report()));
        let findings = v["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(findings.len(), 7);
        for f in &findings {
            assert_eq!(
                keys(f),
                [
                    "gate", "rule_id", "level", "severity", "message", "file", "line", "resource",
                    "pattern"
                ]
            );
        }
        // Report order: structure first, drift last.
        assert_eq!(
            findings[0],
            json!({
                "gate": "structure", "rule_id": "structure.readme", "level": "warning",
                "severity": "low", "message": "README.md is missing", "file": null,
                "line": null, "resource": null, "pattern": null,
            })
        );
        assert_eq!(
            findings[2],
            json!({
                "gate": "rego", "rule_id": "s3.public_bucket", "level": "failure",
                "severity": "critical", "message": "bucket `logs` is public", "file": "main.tf",
                "line": 12, "resource": "aws_s3_bucket.logs", "pattern": "public_s3_buckets",
            })
        );
        assert_eq!(findings[6]["level"], "error");
        assert_eq!(findings[6]["gate"], "drift");
        let levels: Vec<&str> = findings
            .iter()
            .filter_map(|f| f["level"].as_str())
            .collect();
        for level in ["error", "failure", "warning", "info"] {
            assert!(levels.contains(&level), "missing level {level}");
        }
    }

    #[test]
    fn findings_round_trip_into_the_model() {
        let report = sample_report();
        let v = parse(&render(&report));
        let back: Vec<Finding> = match serde_json::from_value(v["findings"].clone()) {
            Ok(f) => f,
            Err(e) => panic!("findings do not deserialize: {e}"),
        };
        let original: Vec<Finding> = report.findings().cloned().collect();
        assert_eq!(back, original);
    }

    #[test]
    fn empty_reports() {
        let v = parse(&render(&empty_report()));
        assert_eq!(v["passed"], true);
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["findings"], json!([]));
        assert_eq!(v["gates"].as_array().map(Vec::len), Some(3));

        let v = parse(&render(&CheckReport::new(Vec::new())));
        assert_eq!(
            v,
            json!({"passed": true, "exit_code": 0, "gates": [], "findings": []})
        );
    }

    #[test]
    fn hostile_strings_survive() {
        let v = parse(&render(&nasty_report()));
        assert_eq!(v["findings"][0]["message"], NASTY);
        assert_eq!(v["findings"][0]["rule_id"], NASTY);
        assert_eq!(v["exit_code"], 1);
        let back: Finding = match serde_json::from_value(v["findings"][0].clone()) {
            Ok(f) => f,
            Err(e) => panic!("finding does not deserialize: {e}"),
        };
        assert_eq!(back.gate, Gate::Rego);
        assert_eq!(back.severity, Severity::High);
    }

    #[test]
    fn output_is_a_single_document() {
        let out = render(&sample_report());
        let mut stream = serde_json::Deserializer::from_str(&out).into_iter::<Value>();
        assert!(matches!(stream.next(), Some(Ok(_))));
        assert!(stream.next().is_none());
    }
}
