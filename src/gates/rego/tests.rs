use super::*;
use crate::inputs::{HclShape, InputKind, parse_text};

fn set(files: &[(&str, &str)]) -> PolicySet {
    PolicySet::load(
        &[PolicySource::Embedded(
            files
                .iter()
                .map(|(p, s)| (p.to_string(), s.to_string()))
                .collect(),
        )],
        LoadOptions {
            include_tests: false,
            eval_limit: Some(std::time::Duration::from_millis(300)),
            ..Default::default()
        },
    )
}

fn tf_inputs(tf: &str) -> Inputs {
    Inputs {
        docs: parse_text("main.tf", InputKind::Hcl, tf, HclShape::Object).unwrap(),
        errors: vec![],
    }
}

const TF: &str = r#"
resource "aws_s3_bucket" "logs" {
  bucket = "logs"
  acl    = "public-read"
}

resource "aws_s3_bucket" "ok" {
  bucket = "ok"
}
"#;

#[test]
fn deny_and_warn_with_metadata_and_lines() {
    let p = set(&[(
        "s3.rego",
        r#"package s3
import rego.v1
deny_public_acl contains res if {
  some name, b in input.resource.aws_s3_bucket
  b.acl == "public-read"
  res := {"msg": sprintf("bucket %s is public", [name]), "id": "S3-1", "severity": "critical", "pattern": "public_s3_buckets", "resource": sprintf("aws_s3_bucket.%s", [name])}
}
warn contains msg if {
  some name, _ in input.resource.aws_s3_bucket
  msg := sprintf("aws_s3_bucket.%s has no logging", [name])
}
"#,
    )]);
    let r = run(&p, &tf_inputs(TF));
    assert!(!r.passed);
    let fail: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.level == Level::Failure)
        .collect();
    assert_eq!(fail.len(), 1);
    assert_eq!(fail[0].rule_id, "S3-1");
    assert_eq!(fail[0].severity, Severity::Critical);
    assert_eq!(fail[0].pattern.as_deref(), Some("public_s3_buckets"));
    assert_eq!(fail[0].line, Some(2));
    let warns: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.level == Level::Warning)
        .collect();
    assert_eq!(warns.len(), 2);
    let ok = warns.iter().find(|f| f.message.contains(".ok ")).unwrap();
    assert_eq!(ok.rule_id, "s3.warn");
    assert_eq!(ok.line, Some(7), "line of the block the message names");
    assert_eq!(ok.resource.as_deref(), Some("aws_s3_bucket.ok"));
}

#[test]
fn v0_policy_and_conftest_exception() {
    let p = set(&[(
        "main.rego",
        r#"package main
deny_public[msg] {
  input.resource.aws_s3_bucket[name].acl == "public-read"
  msg := sprintf("public %s", [name])
}
violation[msg] {
  input.resource.aws_s3_bucket[name]
  msg := "v"
}
exception[rules] {
  input.resource.aws_s3_bucket.logs
  rules := ["public"]
}
"#,
    )]);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let r = run(&p, &tf_inputs(TF));
    let ids: Vec<_> = r.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids, ["main.violation"], "deny_public is excepted");
}

#[test]
fn broken_policy_fails_closed() {
    let p = set(&[("bad.rego", "package x\ndeny[msg] {\n")]);
    let r = run(&p, &tf_inputs(TF));
    assert!(!r.passed);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].level, Level::Error);
    assert_eq!(r.findings[0].file.as_deref(), Some("bad.rego"));
}

#[test]
fn looping_policy_is_an_error_finding_and_the_rest_still_runs() {
    let p = set(&[
        (
            "slow.rego",
            r#"package slow
import rego.v1
deny contains "never" if {
  some i in numbers.range(1, 20000)
  some j in numbers.range(1, 20000)
  i + j < 0
}
"#,
        ),
        (
            "fast.rego",
            "package fast\nimport rego.v1\ndeny contains \"fast\" if { input.resource }\n",
        ),
    ]);
    let r = run(&p, &tf_inputs(TF));
    let err = r
        .findings
        .iter()
        .find(|f| f.level == Level::Error)
        .expect("error finding");
    assert_eq!(err.rule_id, "evaluation-error");
    assert!(err.message.contains("policy slow "), "{}", err.message);
    assert!(r.findings.iter().any(|f| f.message == "fast"));
}

#[test]
fn regorus_missing_path_in_rule_head_is_reported_not_silent() {
    let p = set(&[(
        "k8s.rego",
        r#"package k8s
volumes[v] { v := input.spec.volumes[_] }
deny[msg] { count(volumes) > 0; msg := "has volumes" }
"#,
    )]);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let inputs = Inputs {
        docs: parse_text(
            "d.yaml",
            InputKind::Yaml,
            "kind: Pod\nspec: {}\n",
            HclShape::Object,
        )
        .unwrap(),
        errors: vec![],
    };
    let r = run(&p, &inputs);
    // The vendored regorus evaluates it like OPA: a missing path is an empty set, no error.
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn only_reported_rules_are_evaluated() {
    // A helper no deny/warn/violation uses is never evaluated: before, a whole-package query
    // evaluated it and this one ran into the time limit.
    let p = set(&[(
        "p.rego",
        r#"package p
import rego.v1
unused_helper if {
  some i in numbers.range(1, 20000)
  some j in numbers.range(1, 20000)
  i + j < 0
}
deny contains "d" if { input.resource }
warn_never := "w" if { input.nothing }
"#,
    )]);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let r = run(&p, &tf_inputs(TF));
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(got, [("p.deny", "d")]);
}

// The gate asks one combined query per document and falls back to one query per package only
// when it fails. On the built-in library the combined query once failed on every document (a
// line past the parser's column limit), which made the gate several times slower with the same
// findings: nothing but this test would notice.
#[test]
fn the_combined_query_of_the_builtin_library_evaluates() {
    let policies = PolicySet::load(&[policy::builtin_library()], LoadOptions::default());
    assert!(policies.errors.is_empty(), "{:?}", policies.errors);
    assert!(policies.packages.len() > 20);
    let mut engine = policies.engine.clone();
    for doc in &tf_inputs(TF).docs {
        engine.set_input(regorus::Value::from(doc.value.clone()));
        let all = first_value(engine.eval_query(policies.all_rules_query(), false))
            .expect("the combined query evaluates");
        assert_eq!(
            all.as_array().map(Vec::len),
            Some(policies.packages.len()),
            "{all}"
        );
    }
}
