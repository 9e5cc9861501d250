//! `thoth-bot check` end to end: small projects in temp dirs, exact findings and exit codes.

mod common;

use common::*;
use serde_json::Value;

const S3_POLICY: &str = r#"package thoth.test.s3
import rego.v1

deny contains res if {
  some name, b in input.resource.aws_s3_bucket
  b.acl == "public-read"
  res := {"msg": sprintf("aws_s3_bucket.%s is public", [name]), "id": "T-S3-1", "severity": "critical", "pattern": "public_s3_buckets", "resource": sprintf("aws_s3_bucket.%s", [name])}
}

warn contains msg if {
  some name, b in input.resource.aws_s3_bucket
  not b.tags
  msg := sprintf("aws_s3_bucket.%s has no tags", [name])
}
"#;

const INSECURE_TF: &str = r#"terraform {
  required_version = ">= 1.5"
}

resource "aws_s3_bucket" "logs" {
  bucket = "logs"
  acl    = "public-read"
  tags   = { Owner = "me" }
}

resource "aws_s3_bucket" "data" {
  bucket = "${var.env}-data"
}
"#;

#[test]
fn insecure_terraform_fails_with_located_findings() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("main.tf", INSECURE_TF), ("policy/s3.rego", S3_POLICY)],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["passed"], false);
    assert_eq!(
        findings(&v, "rego"),
        [
            (
                "T-S3-1".into(),
                "failure".into(),
                Some("main.tf".into()),
                Some(5)
            ),
            (
                "thoth.test.s3.warn".into(),
                "warning".into(),
                Some("main.tf".into()),
                Some(11)
            ),
        ]
    );
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["pattern"], "public_s3_buckets");
    assert_eq!(f["resource"], "aws_s3_bucket.logs");
}

#[test]
fn clean_terraform_passes_and_warnings_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "main.tf",
                "resource \"aws_s3_bucket\" \"ok\" {\n  bucket = \"ok\"\n}\n",
            ),
            ("policy/s3.rego", S3_POLICY),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        findings(&v, "rego"),
        [(
            "thoth.test.s3.warn".into(),
            "warning".into(),
            Some("main.tf".into()),
            Some(1)
        )]
    );
}

#[test]
fn kubernetes_multi_document_yaml_points_at_the_document() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "k8s/app.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n",
            ),
            (
                "policy/k8s.rego",
                r#"package k8s
deny[msg] {
  input.kind == "Deployment"
  c := input.spec.template.spec.containers[_]
  endswith(c.image, ":latest")
  msg := sprintf("Deployment/%s uses a latest tag", [input.metadata.name])
}
"#,
            ),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&v, "rego"),
        [(
            "k8s.deny".into(),
            "failure".into(),
            Some("k8s/app.yaml".into()),
            Some(6)
        )]
    );
    assert_eq!(v["findings"][0]["resource"], Value::Null);
}

#[test]
fn dockerfile_in_conftest_shape() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "Dockerfile",
                "FROM alpine:3.20\nRUN apk add curl\nUSER root\n",
            ),
            (
                "policy/docker.rego",
                r#"package docker
import rego.v1
deny contains {"msg": "runs as root", "id": "D-1", "line": i.Line} if {
  some i in input
  i.Cmd == "user"
  i.Value[0] == "root"
}
"#,
            ),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&v, "rego"),
        [(
            "D-1".into(),
            "failure".into(),
            Some("Dockerfile".into()),
            Some(3)
        )]
    );
}

#[test]
fn broken_policy_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("main.tf", INSECURE_TF),
            ("policy/ok.rego", S3_POLICY),
            (
                "policy/broken.rego",
                "package broken\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n",
            ),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 2, "{v}");
    let f = findings(&v, "rego");
    assert_eq!(f.len(), 1, "a broken set is not half-evaluated: {f:?}");
    assert_eq!(f[0].0, "policy-error");
    assert_eq!(f[0].1, "error");
    assert_eq!(f[0].2.as_deref(), Some("policy/broken.rego"));
    assert!(f[0].3.is_some());
}

#[test]
fn unparsable_terraform_is_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "bad.tf",
                "resource \"aws_s3_bucket\" \"x\" {\n  bucket = \n",
            ),
            (
                "good.tf",
                "resource \"aws_s3_bucket\" \"y\" {\n  acl = \"public-read\"\n}\n",
            ),
            ("policy/s3.rego", S3_POLICY),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 1);
    let f = findings(&v, "rego");
    assert!(
        f.iter()
            .any(|x| x.0 == "parse-error" && x.2.as_deref() == Some("bad.tf")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|x| x.0 == "T-S3-1" && x.2.as_deref() == Some("good.tf")),
        "{f:?}"
    );
}

#[test]
fn symlink_out_of_the_checkout_is_reported_and_never_read() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.tf"),
        "resource \"aws_s3_bucket\" \"stolen\" {\n  acl = \"public-read\"\n}\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("policy/s3.rego", S3_POLICY)]);
    std::os::unix::fs::symlink(outside.path().join("secret.tf"), dir.path().join("link.tf"))
        .unwrap();
    let (code, v) = check_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(findings(&v, "rego").is_empty(), "the target was read: {v}");
    assert_eq!(
        findings(&v, "structure")
            .iter()
            .filter(|f| f.0 == "symlink-escape")
            .count(),
        1
    );
}

#[test]
fn missing_directory_is_exit_2() {
    let (code, _, err) = thoth(&["check", "/nonexistent/thoth-project"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/thoth-project"), "{err}");
}

/// Issue 11: a YAML alias bomb (three levels of 2,000 aliases) and a `.tf` nested 50,000
/// brackets deep once grew past 14 GB and aborted on a stack overflow. Now each is one
/// `input-limit` finding naming its file, and the run ends in seconds even in a debug build.
#[test]
fn hostile_inputs_are_limit_findings_not_crashes() {
    let aliases = |alias: &str| vec![alias; 2_000].join(",");
    let bomb = format!(
        "a: &a lol\nb: &b [{}]\nc: &c [{}]\nd: [{}]\n",
        aliases("*a"),
        aliases("*b"),
        aliases("*c")
    );
    let deep = format!("x = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("bomb.yaml", bomb.as_str()),
            ("deep.tf", deep.as_str()),
            ("main.tf", INSECURE_TF),
            ("policy/s3.rego", S3_POLICY),
        ],
    );
    let started = std::time::Instant::now();
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    let elapsed = started.elapsed();
    assert_eq!(code, 1, "{v}");
    let limited: Vec<_> = findings(&v, "rego")
        .into_iter()
        .filter(|f| f.0 == "input-limit")
        .map(|f| (f.1, f.2))
        .collect();
    assert_eq!(
        limited,
        [
            ("failure".to_string(), Some("bomb.yaml".to_string())),
            ("failure".to_string(), Some("deep.tf".to_string())),
        ],
        "{v}"
    );
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "input-limit")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        messages[0].contains("YAML aliases expand past the limit"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("nesting reaches the limit of 128 levels"),
        "{messages:?}"
    );
    // The other files are still judged.
    assert!(findings(&v, "rego").iter().any(|f| f.0 == "T-S3-1"), "{v}");
    assert!(elapsed < std::time::Duration::from_secs(30), "{elapsed:?}");
}
