//! A ThothCTL-template-shaped org policy repository (tests/data/org-iac-policies), run unchanged:
//! `thoth-bot check DIR --org-policy ORG` and the library's `run_check`.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;
use thoth_bot::check::{CheckOptions, run_check};
use thoth_bot::finding::{Gate, Level};

fn org() -> String {
    data("org-iac-policies")
}

/// Terraform that breaks a rule of every org level (given the right selectors).
const MAIN_TF: &str = r#"resource "aws_security_group" "dev-api-web" {
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = { Environment = "dev", Owner = "me" }
}

resource "aws_db_instance" "dev-api-db" {
  backup_retention_period = 10
  multi_az                = false
  tags                    = { Environment = "dev", Owner = "me" }
}

resource "aws_dynamodb_table" "dev-api-ledger" {
  tags = { Environment = "dev", Owner = "me" }
}

resource "aws_s3_bucket" "Public" {
  acl  = "public-read"
  tags = { Environment = "dev" }
}
"#;

/// The same kinds of resources as a CloudFormation template (JSON).
const TEMPLATE_JSON: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": {
    "WebSg": {
      "Type": "AWS::EC2::SecurityGroup",
      "Properties": {
        "SecurityGroupIngress": [{"CidrIp": "0.0.0.0/0", "FromPort": 443, "ToPort": 443}],
        "Tags": [{"Key": "Environment", "Value": "dev"}, {"Key": "Owner", "Value": "me"}]
      }
    },
    "public_bucket": {
      "Type": "AWS::S3::Bucket",
      "Properties": {"AccessControl": "PublicRead", "Tags": [{"Key": "Environment", "Value": "dev"}]}
    }
  }
}
"#;

fn project(governance: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[thothcf]\nproject_id = \"payments\"\n\n[thothcf.governance]\ndescription = \"Payments API\"\n{governance}\n"
    );
    let mut files = vec![(".thothcf.toml", toml.as_str()), ("main.tf", MAIN_TF)];
    files.extend_from_slice(extra);
    write_tree(dir.path(), &files);
    dir
}

fn run(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let org = org();
    let mut args = vec!["--org-policy", org.as_str()];
    args.extend_from_slice(extra);
    check_json(dir, &args)
}

/// Rule ids of the rego findings, sorted, duplicates kept.
fn rule_ids(v: &Value) -> Vec<String> {
    findings(v, "rego").into_iter().map(|f| f.0).collect()
}

fn messages(v: &Value, rule: &str) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_template_shaped_org_repository_runs_instead_of_exiting_2() {
    let dir = project("", &[]);
    let (code, v) = run(dir.path(), &[]);
    assert_eq!(code, 1, "blocked by findings, not an error: {v:#}");
    let errors: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(gate_passed(&v, "structure"), "{v:#}");
}

#[test]
fn rules_fire_for_the_levels_the_selectors_pick() {
    let shared = ["ORG-NAME-001", "ORG-TAG-001"];
    let cases: [(&str, &[&str]); 5] = [
        ("", &[]),
        ("layer = \"networking\"", &["ORG-NET-001"]),
        ("workload = \"databases\"", &["ORG-RDS-001", "ORG-RDS-002"]),
        ("domain = \"fintech\"", &["ORG-FIN-001"]),
        ("compliance = [\"soc2\"]", &["SOC2-S3-PUBLIC"]),
    ];
    let all_selected = [
        "ORG-NET-001",
        "ORG-RDS-001",
        "ORG-RDS-002",
        "ORG-FIN-001",
        "SOC2-S3-PUBLIC",
    ];
    for (selectors, expected) in cases {
        let dir = project(selectors, &[]);
        let (code, v) = run(dir.path(), &["--gates", "rego"]);
        assert_eq!(code, 1, "{selectors}: {v:#}");
        let ids = rule_ids(&v);
        for id in shared.iter().chain(expected) {
            assert!(ids.iter().any(|i| i == id), "{selectors}: {id} in {ids:?}");
        }
        for id in all_selected.iter().filter(|i| !expected.contains(i)) {
            assert!(!ids.iter().any(|i| i == id), "{selectors}: {id} in {ids:?}");
        }
    }
}

#[test]
fn no_rule_runs_twice_and_legacy_top_level_copies_are_not_loaded() {
    let dir = project(
        "layer = \"networking\"\nworkload = \"databases\"\ndomain = \"fintech\"\ncompliance = [\"soc2\"]",
        &[],
    );
    let (_, v) = run(dir.path(), &["--gates", "rego"]);
    let mut seen = std::collections::BTreeSet::new();
    for f in v["findings"].as_array().unwrap() {
        let key = (
            f["rule_id"].as_str().unwrap().to_string(),
            f["resource"].as_str().map(String::from),
            f["message"].as_str().unwrap().to_string(),
        );
        assert!(seen.insert(key.clone()), "reported twice: {key:?}");
    }
    let ids = rule_ids(&v);
    assert!(!ids.iter().any(|i| i.contains("LEGACY")), "{ids:?}");
    // One ORG-TAG-001 per resource missing a tag, one naming warning for the bucket.
    assert_eq!(messages(&v, "ORG-NAME-001").len(), 1, "{v:#}");
}

#[test]
fn hcl_policies_judge_terraform_and_cloudformation_policies_judge_templates() {
    let dir = project(
        "layer = \"networking\"\ncompliance = [\"soc2\"]",
        &[("template.json", TEMPLATE_JSON)],
    );
    let (_, v) = run(dir.path(), &["--gates", "rego"]);
    let by_file = |file: &str| -> Vec<String> {
        findings(&v, "rego")
            .into_iter()
            .filter(|f| f.2.as_deref() == Some(file))
            .map(|f| f.0)
            .collect()
    };
    let tf = by_file("main.tf");
    let cfn = by_file("template.json");
    assert!(tf.iter().all(|i| !i.contains("CFN")), "{tf:?}");
    assert!(cfn.iter().all(|i| i.contains("CFN")), "{cfn:?}");
    for id in [
        "ORG-CFN-TAG-001",
        "ORG-CFN-NAME-001",
        "ORG-NET-CFN-001",
        "SOC2-CFN-S3-PUBLIC",
    ] {
        assert!(cfn.iter().any(|i| i == id), "{id} in {cfn:?}");
    }
    // Each format's config.yaml is its own data.config: the naming descriptions differ.
    assert!(
        messages(&v, "ORG-CFN-NAME-001")[0].contains("PascalCase logical ids"),
        "{v:#}"
    );
    assert!(
        messages(&v, "ORG-NAME-001")[0].contains("{env}-{service}-{name}"),
        "{v:#}"
    );
}

#[test]
fn a_workload_config_yaml_refines_shared_and_a_project_config_overrides_the_org() {
    // Shared: required_tags [Environment, Owner], rds.min_backup_retention_days 7,
    // rds.require_multi_az true. Workload databases: required_tags + BackupPolicy, min 14.
    let dir = project("workload = \"databases\"", &[]);
    let (_, v) = run(dir.path(), &["--gates", "rego"]);
    let tags = messages(&v, "ORG-TAG-001");
    assert!(
        tags.iter()
            .any(|m| m.starts_with("aws_db_instance.dev-api-db") && m.contains("BackupPolicy")),
        "lists are replaced: {tags:?}"
    );
    assert_eq!(
        messages(&v, "ORG-RDS-001"),
        ["aws_db_instance.dev-api-db keeps backups fewer than 14 days"]
    );
    // `require_multi_az` is only in shared's config: objects merge deeply.
    assert_eq!(
        messages(&v, "ORG-RDS-002"),
        ["aws_db_instance.dev-api-db is not multi-AZ"]
    );

    // Without the workload, shared's values hold.
    let plain = project("", &[]);
    let (_, v) = run(plain.path(), &["--gates", "rego"]);
    assert!(
        messages(&v, "ORG-TAG-001")
            .iter()
            .all(|m| !m.contains("BackupPolicy")),
        "{v:#}"
    );

    // The project's policy/config.yaml is applied last.
    let own = project(
        "workload = \"databases\"",
        &[(
            "policy/config.yaml",
            "naming_description: \"team-{name}\"\nrds:\n  min_backup_retention_days: 30\n",
        )],
    );
    let (_, v) = run(own.path(), &["--gates", "rego"]);
    assert_eq!(
        messages(&v, "ORG-RDS-001"),
        ["aws_db_instance.dev-api-db keeps backups fewer than 30 days"]
    );
    assert!(
        messages(&v, "ORG-NAME-001")[0].contains("'team-{name}'"),
        "{v:#}"
    );
}

#[test]
fn thothcf_toml_accepts_descriptions_suggests_near_misses_and_warns_on_the_rest() {
    // A misspelt selector: an error with a suggestion, naming file and line.
    let typo = project("worklaod = \"databases\"", &[]);
    let (code, v) = run(typo.path(), &[]);
    assert_eq!(code, 2, "{v:#}");
    let msg = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["level"] == "error")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("unknown key `worklaod` in [thothcf.governance], did you mean `workload`?"),
        "{msg}"
    );
    assert!(msg.contains(".thothcf.toml:6: "), "{msg}");

    // Any other unknown key: a warning, never a gate error.
    let other = project("cost_owner_email = \"x@example.com\"", &[]);
    let (code, v) = run(other.path(), &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(gate_passed(&v, "structure"), "{v:#}");
    let warned = findings(&v, "structure");
    assert!(
        warned
            .iter()
            .any(|f| f.0 == "structure.unknown-key" && f.1 == "warning"),
        "{warned:?}"
    );
}

#[test]
fn the_library_api_runs_the_org_levels() {
    let dir = project("domain = \"fintech\"", &[("template.json", TEMPLATE_JSON)]);
    let mut opts = CheckOptions::new(dir.path());
    opts.org_policy = Some(org().into());
    opts.gates = vec![Gate::Rego];
    let report = run_check(&opts);
    assert_eq!(report.exit_code(), 1);
    let ids: Vec<&str> = report.findings().map(|f| f.rule_id.as_str()).collect();
    assert!(ids.contains(&"ORG-FIN-001"), "{ids:?}");
    assert!(!ids.contains(&"ORG-NET-001"), "{ids:?}");
    assert!(
        report.findings().all(|f| f.level != Level::Error),
        "{ids:?}"
    );
}

#[test]
fn the_built_in_library_runs_beside_org_and_project_policies_unless_switched_off() {
    let own = (
        "policy/own.rego",
        "package own\nimport rego.v1\n\nwarn contains \"own rule\" if { input.resource }\n",
    );
    let dir = project("layer = \"networking\"", &[own]);
    let (_, v) = run(dir.path(), &["--gates", "rego"]);
    let ids = rule_ids(&v);
    assert!(ids.iter().any(|i| i.starts_with("THOTH-")), "{ids:?}");
    assert!(ids.iter().any(|i| i == "ORG-NET-001"), "{ids:?}");
    assert!(ids.iter().any(|i| i == "own.warn"), "{ids:?}");
    let rego = v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "rego")
        .unwrap();
    let sets: Vec<&str> = rego["policy_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(sets.len(), 4, "{sets:?}");
    assert!(sets[0].starts_with("built-in ("), "{sets:?}");
    assert_eq!(
        &sets[1..],
        [
            "org shared (4 rules)",
            "org layer=networking (2 rules)",
            "project policy (1 rule)"
        ]
    );

    // The text output says the same.
    let org = org();
    let (_, text, _) = thoth(&[
        "check",
        dir.path().to_str().unwrap(),
        "--gates",
        "rego",
        "--org-policy",
        &org,
    ]);
    assert!(
        text.contains("Policy sets: built-in (")
            && text.contains(
                "org shared (4 rules), org layer=networking (2 rules), project policy (1 rule)"
            ),
        "{text}"
    );

    // Switched off by the project's .thothcf.toml, or by --no-builtin.
    let off = tempfile::tempdir().unwrap();
    write_tree(
        off.path(),
        &[
            (
                ".thothcf.toml",
                "[thothcf]\nbuiltin_policies = false\n\n[thothcf.governance]\nlayer = \"networking\"\n",
            ),
            ("main.tf", MAIN_TF),
        ],
    );
    for (d, extra) in [(off.path(), &[][..]), (dir.path(), &["--no-builtin"][..])] {
        let (_, v) = run(d, &[&["--gates", "rego"][..], extra].concat());
        let ids = rule_ids(&v);
        assert!(!ids.iter().any(|i| i.starts_with("THOTH-")), "{ids:?}");
        assert!(ids.iter().any(|i| i == "ORG-NET-001"), "{ids:?}");
    }
}

/// A drift report: the security group's ingress and tags drifted, the bucket's tags only.
const DRIFT_JSON: &str = r#"{
  "format_version": "1.2",
  "resource_changes": [],
  "resource_drift": [
    {"address": "module.net.aws_security_group.web", "mode": "managed", "type": "aws_security_group", "name": "web",
     "change": {"actions": ["update"], "before": {"ingress": [1], "tags": {"N": "a"}}, "after": {"ingress": [2], "tags": {"N": "b"}}}},
    {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs",
     "change": {"actions": ["update"], "before": {"tags": {"N": "a"}}, "after": {"tags": {"N": "b"}}}}
  ]
}
"#;

fn drift_of(v: &Value) -> (Vec<(String, Option<String>)>, Value) {
    let gate = v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "drift")
        .unwrap()
        .clone();
    let found = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["gate"] == "drift")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["resource"].as_str().map(String::from),
            )
        })
        .collect();
    (found, gate["config_files"].clone())
}

#[test]
fn org_default_drift_policy_and_decision_config_apply_when_the_project_has_none() {
    // shared/.driftpolicy: security groups (also inside modules) block, tag-only drift is
    // accepted.
    let plain = project("", &[("drift.json", DRIFT_JSON)]);
    let (_, v) = run(plain.path(), &["--gates", "drift"]);
    let (found, from) = drift_of(&v);
    assert_eq!(
        found,
        [(
            "drift.block_deploy".to_string(),
            Some("module.net.aws_security_group.web".to_string())
        )]
    );
    assert_eq!(from, serde_json::json!(["org shared/.driftpolicy"]));

    // The selected domain's .driftpolicy comes before shared's: fintech blocks all drift.
    let fintech = project("domain = \"fintech\"", &[("drift.json", DRIFT_JSON)]);
    let (_, v) = run(fintech.path(), &["--gates", "drift"]);
    let (found, from) = drift_of(&v);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        from,
        serde_json::json!(["org domains/fintech/.driftpolicy"])
    );

    // The project's own file comes first.
    let own = project(
        "domain = \"fintech\"",
        &[
            ("drift.json", DRIFT_JSON),
            (
                ".driftpolicy",
                "rules:\n  - resource: \"*\"\n    action: ignore\n",
            ),
        ],
    );
    let (code, v) = run(own.path(), &["--gates", "drift"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(drift_of(&v).1, serde_json::json!([".driftpolicy"]));

    // The domain's .thothcf.toml applies too (its structure rules want a README.md), and the
    // summary names the files.
    let (_, v) = run(fintech.path(), &["--gates", "structure"]);
    let structure = findings(&v, "structure");
    assert!(
        structure.iter().any(|f| f.0 == "structure.root-file"),
        "{structure:?}"
    );
    let org = org();
    let (_, text, _) = thoth(&[
        "check",
        fintech.path().to_str().unwrap(),
        "--org-policy",
        &org,
        "--decide",
    ]);
    assert!(
        text.contains(
            "structure from org .thothcf.toml, org domains/fintech/.thothcf.toml, .thothcf.toml"
        ),
        "{text}"
    );
    assert!(
        text.contains("drift from org domains/fintech/.driftpolicy"),
        "{text}"
    );
    assert!(
        text.contains("decision config from org shared/ai_decision_config.yaml"),
        "{text}"
    );
}

#[test]
fn findings_carry_the_controls_of_selected_frameworks_and_count_as_violations() {
    let dir = project("layer = \"networking\"\ncompliance = [\"soc2\"]", &[]);
    let (_, v) = run(dir.path(), &["--gates", "rego"]);
    let controls = |rule: &str| -> Vec<Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == rule)
            .map(|f| f["controls"].clone())
            .collect()
    };
    assert_eq!(
        controls("SOC2-S3-PUBLIC"),
        [serde_json::json!(["SOC2 CC6.1"])]
    );
    // A pattern (`ORG-NET-*`) maps too; an unmapped rule has no `controls` key.
    assert_eq!(controls("ORG-NET-001"), [serde_json::json!(["SOC2 CC6.1"])]);
    assert!(controls("ORG-TAG-001").iter().all(Value::is_null), "{v:#}");

    // SARIF carries them as tags.
    let org = org();
    let (code, out, err) = thoth(&[
        "check",
        dir.path().to_str().unwrap(),
        "--org-policy",
        &org,
        "--gates",
        "rego",
        "--format",
        "sarif",
    ]);
    assert_eq!(code, 1, "{err}");
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let tagged: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["properties"]["tags"] == serde_json::json!(["SOC2 CC6.1"]))
        .collect();
    assert_eq!(tagged.len(), 2, "{sarif:#}");

    // Without the framework selected, nothing is mapped.
    let plain = project("layer = \"networking\"", &[]);
    let (_, v) = run(plain.path(), &["--gates", "rego"]);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["controls"].is_null()),
        "{v:#}"
    );
}

#[test]
fn mapped_findings_count_as_compliance_violations() {
    use thoth_bot::decision::count_findings;
    let dir = project("compliance = [\"soc2\"]", &[]);
    let mut opts = CheckOptions::new(dir.path());
    opts.org_policy = Some(org().into());
    opts.gates = vec![Gate::Rego];
    let report = run_check(&opts);
    let mapped = report
        .findings()
        .filter(|f| !f.controls.is_empty() && f.level == Level::Failure)
        .count();
    assert!(mapped >= 1);
    assert_eq!(
        count_findings(&report).compliance_violations as usize,
        mapped
    );
}
