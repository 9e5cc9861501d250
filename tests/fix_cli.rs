//! `thoth-bot fix`: every deterministic pattern removes its finding under the real built-in
//! library and leaves a file that parses; `--only`, backups, confinement to the project, and
//! hostile inputs.

mod common;

use std::path::Path;

use common::*;
use thoth_bot::check::{CheckOptions, run_check};
use thoth_bot::finding::{CheckReport, Finding, Gate, Level, Severity};
use thoth_bot::fix::{self, Fix, MAX_FIXES, PATTERNS};
use thoth_bot::inputs::{self, HclShape, InputKind};

/// The Rego gate over `dir` (built-in library only: no project policies in these fixtures).
fn rego(dir: &Path) -> CheckReport {
    let mut opts = CheckOptions::new(dir);
    opts.gates = vec![Gate::Rego];
    run_check(&opts)
}

fn fires(report: &CheckReport, rule_id: &str, resource: &str) -> bool {
    report
        .findings()
        .any(|f| f.rule_id == rule_id && f.resource.as_deref() == Some(resource))
}

/// (rule, resource the finding is about, main.tf that triggers it).
const CASES: &[(&str, &str, &str)] = &[
    (
        "THOTH-AWS-S3-007",
        "aws_s3_bucket.data",
        "resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"prod-app-data\"\n}\n",
    ),
    (
        "THOTH-AWS-S3-001",
        "aws_s3_bucket.data",
        "resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"prod-app-data\"\n}\n",
    ),
    (
        "THOTH-AWS-S3-006",
        "aws_s3_bucket.data",
        "resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"prod-app-data\"\n}\n",
    ),
    (
        "THOTH-AWS-S3-006",
        "aws_s3_bucket.old",
        "resource \"aws_s3_bucket\" \"old\" {\n  bucket = \"prod-app-old\"\n\n  versioning {\n    enabled = false\n  }\n}\n",
    ),
    (
        "THOTH-AWS-S3-005",
        "aws_s3_bucket_server_side_encryption_configuration.data",
        "resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"prod-app-data\"\n}\n\nresource \"aws_s3_bucket_server_side_encryption_configuration\" \"data\" {\n  bucket = aws_s3_bucket.data.id\n\n  rule {\n    apply_server_side_encryption_by_default {\n      sse_algorithm = \"AES256\" # SSE-S3\n    }\n  }\n}\n",
    ),
    (
        "THOTH-AWS-SG-005",
        "aws_security_group.app",
        "resource \"aws_security_group\" \"app\" {\n  name   = \"prod-shop-app\"\n  vpc_id = var.vpc_id\n}\n",
    ),
    (
        "THOTH-AWS-SG-001",
        "aws_security_group.bastion",
        "resource \"aws_security_group\" \"bastion\" {\n  name        = \"prod-shop-bastion\"\n  description = \"Bastion\"\n\n  ingress {\n    from_port        = 22\n    to_port          = 22\n    protocol         = \"tcp\"\n    cidr_blocks      = [\"0.0.0.0/0\", \"10.0.0.0/8\"]\n    ipv6_cidr_blocks = [\"::/0\"]\n  }\n\n  egress {\n    from_port   = 0\n    to_port     = 0\n    protocol    = \"-1\"\n    cidr_blocks = [\"0.0.0.0/0\"]\n  }\n}\n",
    ),
    (
        "THOTH-AWS-SG-001",
        "aws_security_group_rule.ssh",
        "resource \"aws_security_group_rule\" \"ssh\" {\n  type              = \"ingress\"\n  description       = \"SSH\"\n  from_port         = 22\n  to_port           = 22\n  protocol          = \"tcp\"\n  cidr_blocks       = [\n    \"0.0.0.0/0\",\n  ]\n  security_group_id = aws_security_group.bastion.id\n}\n",
    ),
    (
        "THOTH-AWS-SG-002",
        "aws_vpc_security_group_ingress_rule.rdp",
        "resource \"aws_vpc_security_group_ingress_rule\" \"rdp\" {\n  security_group_id = aws_security_group.win.id\n  ip_protocol       = \"tcp\"\n  from_port         = 3389\n  to_port           = 3389\n  cidr_ipv4         = \"0.0.0.0/0\"\n}\n",
    ),
    (
        "THOTH-AWS-RDS-001",
        "aws_db_instance.orders",
        "resource \"aws_db_instance\" \"orders\" {\n  identifier                  = \"prod-shop-orders\"\n  engine                      = \"postgres\"\n  instance_class              = \"db.t4g.medium\"\n  manage_master_user_password = true\n}\n",
    ),
    (
        "THOTH-AWS-RDS-002",
        "aws_db_instance.orders",
        "resource \"aws_db_instance\" \"orders\" {\n  identifier          = \"prod-shop-orders\"\n  engine              = \"postgres\"\n  storage_encrypted   = true\n  publicly_accessible = true\n}\n",
    ),
    (
        "THOTH-AWS-CW-001",
        "aws_cloudwatch_log_group.app",
        "resource \"aws_cloudwatch_log_group\" \"app\" {\n  name              = \"/prod/shop/app\"\n  retention_in_days = 30\n}\n",
    ),
    (
        "THOTH-AWS-EBS-001",
        "aws_ebs_volume.data",
        "resource \"aws_ebs_volume\" \"data\" {\n  availability_zone = \"eu-west-1a\"\n  size              = 100\n  encrypted         = false\n}\n",
    ),
    (
        "THOTH-AWS-LAMBDA-001",
        "aws_lambda_function.worker",
        "resource \"aws_lambda_function\" \"worker\" {\n  function_name = \"prod-shop-worker\"\n  role          = aws_iam_role.worker.arn\n  runtime       = \"python3.12\"\n  handler       = \"main.handler\"\n  filename      = \"worker.zip\"\n}\n",
    ),
    (
        "THOTH-AWS-LAMBDA-002",
        "aws_lambda_function.worker",
        "resource \"aws_lambda_function\" \"worker\" {\n  function_name = \"prod-shop-worker\"\n  role          = aws_iam_role.worker.arn\n  filename      = \"worker.zip\"\n}\n",
    ),
];

#[test]
fn every_pattern_removes_its_finding_and_the_file_still_parses() {
    for (rule, resource, tf) in CASES {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("main.tf", tf)]);
        let before = rego(dir.path());
        assert!(
            fires(&before, rule, resource),
            "{rule}: fixture does not trigger it"
        );
        let mut fixes = fix::suggest(dir.path(), &before);
        fix::retain_rules(&mut fixes, &[rule.to_string()]);
        assert!(!fixes.is_empty(), "{rule} ({resource}): no fix");
        let backups = dir.path().join(".thothctl/fix_backups/t");
        let applied = fix::apply(dir.path(), &fixes, &backups).unwrap();
        assert!(applied.refused.is_empty(), "{rule}: {:?}", applied.refused);
        assert_eq!(applied.applied.len(), fixes.len());
        let text = std::fs::read_to_string(dir.path().join("main.tf")).unwrap();
        inputs::parse_text("main.tf", InputKind::Hcl, &text, HclShape::Object)
            .unwrap_or_else(|e| panic!("{rule}: fixed file does not parse: {e:?}\n{text}"));
        let after = rego(dir.path());
        assert!(
            !fires(&after, rule, resource),
            "{rule} still fires after the fix:\n{text}"
        );
        // Errors (a parse error, a policy error) would hide a finding rather than fix it.
        assert!(
            !after.findings().any(|f| f.level == Level::Error),
            "{rule}: {:?}",
            after.findings().collect::<Vec<_>>()
        );
        assert_eq!(
            std::fs::read_to_string(backups.join("main.tf")).unwrap(),
            *tf,
            "{rule}: backup"
        );
    }
    // Every pattern has a case.
    for p in PATTERNS {
        assert!(
            CASES.iter().any(|(rule, _, _)| *rule == p.rule_id),
            "{} has no case",
            p.rule_id
        );
    }
}

const SMALL: &str = r#"resource "aws_db_instance" "orders" {
  identifier          = "prod-shop-orders"
  engine              = "postgres"
  publicly_accessible = true

  tags = {
    Environment = "prod"
  }
}

resource "aws_security_group" "admin" {
  name = "prod-shop-admin"

  ingress {
    from_port   = 3389
    to_port     = 3389
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#;

#[test]
fn the_preview_reads_as_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("main.tf", SMALL)]);
    let (code, out, err) = thoth(&["fix", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
    // A preview writes nothing.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.tf")).unwrap(),
        SMALL
    );
    assert!(!dir.path().join(".thothctl").exists());
}

#[test]
fn only_limits_the_fixes_and_apply_keeps_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("db/main.tf", SMALL)]);
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = thoth(&["fix", d, "--only", "THOTH-AWS-RDS-002", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rules: Vec<&str> = v["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["THOTH-AWS-RDS-002"]);

    let (code, out, err) = thoth(&["fix", d, "--apply", "--only", "THOTH-AWS-RDS-002"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("applied 1 fix to 1 file"), "{out}");
    assert!(out.contains("db/main.tf:4  THOTH-AWS-RDS-002"), "{out}");
    let text = std::fs::read_to_string(dir.path().join("db/main.tf")).unwrap();
    assert!(text.contains("publicly_accessible = false"), "{text}");
    assert!(
        !text.contains("storage_encrypted"),
        "RDS-001 was not asked for"
    );
    let runs: Vec<_> = std::fs::read_dir(dir.path().join(".thothctl/fix_backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        std::fs::read(runs[0].join("db/main.tf")).unwrap(),
        SMALL.as_bytes()
    );
    // The backups are never judged: the fixed finding does not come back from them.
    let report = rego(dir.path());
    assert!(!report.findings().any(|f| f.rule_id == "THOTH-AWS-RDS-002"));
    assert!(
        report
            .findings()
            .all(|f| !f.file.as_deref().unwrap_or("").starts_with(".thothctl")),
        "{:?}",
        report.findings().collect::<Vec<_>>()
    );
}

fn a_fix(file: &str, original: &str) -> Fix {
    Fix {
        file: file.into(),
        start_line: 1,
        end_line: 1,
        original: original.into(),
        replacement: "pwned = true".into(),
        rule_id: "THOTH-AWS-EBS-001".into(),
        title: "t".into(),
        resource: "aws_ebs_volume.v".into(),
    }
}

#[test]
fn a_fix_outside_the_project_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    write_tree(
        root.path(),
        &[("outside.tf", "x = 1\n"), ("project/main.tf", "x = 1\n")],
    );
    std::os::unix::fs::symlink(root.path().join("outside.tf"), project.join("link.tf")).unwrap();
    std::os::unix::fs::symlink(root.path(), project.join("up")).unwrap();
    let fixes = vec![
        a_fix("../outside.tf", "x = 1"),
        a_fix(root.path().join("outside.tf").to_str().unwrap(), "x = 1"),
        a_fix("link.tf", "x = 1"),
        a_fix("up/outside.tf", "x = 1"),
        a_fix("main.tf", "x = 2"),
    ];
    let backups = project.join(".thothctl/fix_backups/t");
    let applied = fix::apply(&project, &fixes, &backups).unwrap();
    assert!(applied.applied.is_empty(), "{applied:?}");
    assert_eq!(applied.refused.len(), 5, "{applied:?}");
    let stale = applied.refused.iter().find(|r| r.fix.file == "main.tf");
    assert!(
        stale.is_some_and(|r| r.reason.contains("no longer reads")),
        "{applied:?}"
    );
    assert_eq!(
        std::fs::read_to_string(root.path().join("outside.tf")).unwrap(),
        "x = 1\n"
    );
    assert_eq!(
        std::fs::read_to_string(project.join("main.tf")).unwrap(),
        "x = 1\n"
    );
    assert!(!backups.exists(), "nothing changed, nothing backed up");
}

fn finding(rule: &str, file: &str, resource: &str) -> Finding {
    Finding::new(Gate::Rego, rule, Level::Failure, Severity::High, "m")
        .at(file, Some(1))
        .with_resource(resource)
}

#[test]
fn hostile_files_give_no_fix_or_a_bounded_number() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!(
        "resource \"aws_ebs_volume\" \"v\" {{\n  x = {}{}\n}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge = format!(
        "resource \"aws_ebs_volume\" \"v\" {{\n  size = 1\n}}\n{}",
        "# padding\n".repeat(600_000)
    );
    let unclosed = "resource \"aws_ebs_volume\" \"v\" {\n  tags = {\n".repeat(2_000);
    let mut many = String::new();
    for i in 0..(MAX_FIXES + 100) {
        many.push_str(&format!(
            "resource \"aws_ebs_volume\" \"v{i}\" {{\n  size = 1\n}}\n"
        ));
    }
    write_tree(
        dir.path(),
        &[
            ("deep.tf", &deep),
            ("huge.tf", &huge),
            ("unclosed.tf", &unclosed),
            ("many/main.tf", &many),
        ],
    );
    let mut findings = vec![
        finding("THOTH-AWS-EBS-001", "deep.tf", "aws_ebs_volume.v"),
        finding("THOTH-AWS-EBS-001", "huge.tf", "aws_ebs_volume.v"),
        finding("THOTH-AWS-EBS-001", "unclosed.tf", "aws_ebs_volume.v"),
        finding("THOTH-AWS-EBS-001", "missing.tf", "aws_ebs_volume.v"),
        finding("THOTH-AWS-EBS-001", "../etc/passwd.tf", "aws_ebs_volume.v"),
    ];
    let report = CheckReport::new(vec![thoth_bot::finding::GateReport::new(
        Gate::Rego,
        1,
        findings.clone(),
    )]);
    assert!(fix::suggest(dir.path(), &report).is_empty());

    for i in 0..(MAX_FIXES + 100) {
        findings.push(finding(
            "THOTH-AWS-EBS-001",
            "many/main.tf",
            &format!("aws_ebs_volume.v{i}"),
        ));
    }
    let report = CheckReport::new(vec![thoth_bot::finding::GateReport::new(
        Gate::Rego,
        1,
        findings,
    )]);
    let fixes = fix::suggest(dir.path(), &report);
    assert_eq!(fixes.len(), MAX_FIXES);
    assert!(fixes.iter().all(|f| f.file == "many/main.tf"));
}

#[test]
fn a_missing_directory_is_an_error() {
    let (code, _, err) = thoth(&["fix", "/nonexistent/thoth-fix"]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
}
