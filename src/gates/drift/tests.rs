use serde_json::{Value, json};

use super::*;
use crate::inputs::{HclShape, parse_text};

const DRIFT_FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/plans/opentofu/drift/output.json"
));
const MOVED_DRIFT_FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/plans/opentofu/moved-drift/output.json"
));
const REFRESH_ONLY_FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/plans/opentofu/conditions/output-refresh-only.json"
));
const NO_OP_FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/plans/opentofu/basic-update/output.json"
));

fn policy(yaml: &str) -> DriftPolicy {
    match DriftPolicy::parse(yaml, POLICY_FILE) {
        Ok(p) => p,
        Err(e) => panic!("test policy does not parse: {e}"),
    }
}

fn policy_err(yaml: &str) -> DriftConfigError {
    match DriftPolicy::parse(yaml, POLICY_FILE) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e,
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// A `resource_drift` / `resource_changes` entry.
fn change(address: &str, actions: &[&str], before: Value, after: Value) -> Value {
    // `module.m.aws_s3_bucket.logs`: the type and name are the last two parts.
    let parts: Vec<&str> = address.rsplitn(3, '.').collect();
    json!({
        "address": address,
        "mode": "managed",
        "type": parts.get(1).copied().unwrap_or_default(),
        "name": parts.first().copied().unwrap_or_default(),
        "change": {"actions": actions, "before": before, "after": after},
    })
}

fn update(address: &str, before: Value, after: Value) -> Value {
    change(address, &["update"], before, after)
}

/// A normal plan: every resource in prior_state and planned_values, the given drift.
fn plan_with(resources: &[&str], drift: Vec<Value>) -> Value {
    let state: Vec<Value> = resources
        .iter()
        .map(|a| json!({"address": a, "mode": "managed", "values": {}}))
        .collect();
    json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": state}},
        "resource_drift": drift,
        "resource_changes": resources.iter().map(|a| change(a, &["no-op"], json!({}), json!({}))).collect::<Vec<_>>(),
        "prior_state": {"values": {"root_module": {"resources": state}}},
    })
}

fn finding(
    rule_id: &str,
    level: Level,
    severity: Severity,
    resource: &str,
    file: &str,
    message: &str,
) -> Finding {
    Finding::new(Gate::Drift, rule_id, level, severity, message)
        .at(file, None)
        .with_resource(resource)
}

/// (rule_id, level, severity, resource) of each finding: what most tests pin exactly.
fn summary(findings: &[Finding]) -> Vec<(&str, Level, Severity, Option<&str>)> {
    findings
        .iter()
        .map(|f| {
            (
                f.rule_id.as_str(),
                f.level,
                f.severity,
                f.resource.as_deref(),
            )
        })
        .collect()
}

// ---- changed_paths ----

#[test]
fn changed_paths_of_a_tag_only_change_is_the_tag_path() {
    let before = json!({"ami": "a", "tags": {"Name": "web", "Env": "prod"}});
    let after = json!({"ami": "a", "tags": {"Name": "web2", "Env": "prod"}});
    assert_eq!(changed_paths(&before, &after), ["tags.Name"]);
}

#[test]
fn changed_paths_use_list_indices_at_any_depth() {
    let before = json!({"ingress": [
        {"from_port": 22, "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"]},
        {"from_port": 443, "cidr_blocks": ["0.0.0.0/0"]}
    ]});
    let after = json!({"ingress": [
        {"from_port": 22, "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"]},
        {"from_port": 443, "cidr_blocks": ["0.0.0.0/0"]}
    ]});
    assert_eq!(changed_paths(&before, &after), ["ingress.0.cidr_blocks.1"]);
}

#[test]
fn changed_paths_report_one_sided_keys_and_indices_at_their_path() {
    let before = json!({"a": 1, "gone": true, "list": [1, 2], "tags": {"Old": "x"}});
    let after =
        json!({"a": 2, "list": [1, 2, 3], "tags": {"Old": "x", "New": "y"}, "added": {"deep": 1}});
    assert_eq!(
        changed_paths(&before, &after),
        ["a", "gone", "list.2", "tags.New", "added"]
    );
}

#[test]
fn changed_paths_of_create_and_delete_list_top_level_keys() {
    let obj = json!({"ami": "a", "tags": {"Name": "x"}});
    assert_eq!(changed_paths(&Value::Null, &obj), ["ami", "tags"]);
    assert_eq!(changed_paths(&obj, &Value::Null), ["ami", "tags"]);
    assert!(changed_paths(&Value::Null, &Value::Null).is_empty());
}

#[test]
fn changed_paths_treat_a_nested_null_as_an_empty_container() {
    let before = json!({"tags": null, "list": null, "empty": null, "kind": "x"});
    let after = json!({"tags": {"Name": "x"}, "list": ["a"], "empty": {}, "kind": ["x"]});
    assert_eq!(
        changed_paths(&before, &after),
        ["tags.Name", "list.0", "empty", "kind"]
    );
}

#[test]
fn changed_paths_of_equal_values_is_empty() {
    let v = json!({"a": [1, {"b": 2}]});
    assert!(changed_paths(&v, &v.clone()).is_empty());
}

// ---- rules ----

#[test]
fn first_matching_rule_wins_in_file_order() {
    let sg = update("aws_security_group.web", json!({"x": 1}), json!({"x": 2}));
    let other = update("aws_instance.app", json!({"x": 1}), json!({"x": 2}));
    let plan = plan_with(
        &["aws_security_group.web", "aws_instance.app"],
        vec![sg, other],
    );

    let p = policy(
        "rules:\n  - resource: \"aws_security_group.*\"\n    action: block_deploy\n  - resource: \"*\"\n    action: auto_accept\n",
    );
    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan);
    assert_eq!(
        summary(&findings),
        [(
            "drift.block_deploy",
            Level::Failure,
            Severity::High,
            Some("aws_security_group.web")
        )]
    );
    assert_eq!((stats.drifted, stats.accepted), (1, 1));

    let reversed = policy(
        "rules:\n  - resource: \"*\"\n    action: auto_accept\n  - resource: \"aws_security_group.*\"\n    action: block_deploy\n",
    );
    let (findings, stats) = evaluate_plan(&reversed, "drift.json", &plan);
    assert!(findings.is_empty());
    assert_eq!((stats.drifted, stats.accepted), (0, 2));
}

#[test]
fn attribute_rule_is_skipped_when_no_changed_path_matches() {
    let p = policy(
        "rules:\n  - resource: \"aws_instance.*\"\n    attribute: \"tags.*\"\n    action: auto_accept\n  - resource: \"aws_instance.*\"\n    action: block_deploy\n",
    );
    let plan = plan_with(
        &[
            "aws_instance.tags_only",
            "aws_instance.ami",
            "aws_instance.both",
        ],
        vec![
            update(
                "aws_instance.tags_only",
                json!({"tags": {"Name": "a"}}),
                json!({"tags": {"Name": "b"}}),
            ),
            update("aws_instance.ami", json!({"ami": "a"}), json!({"ami": "b"})),
            // Tags and ami drifted: not tag-only, so `tags.*` does not accept it.
            update(
                "aws_instance.both",
                json!({"ami": "a", "tags": {"Name": "a"}}),
                json!({"ami": "b", "tags": {"Name": "b"}}),
            ),
        ],
    );
    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan);
    assert_eq!(
        summary(&findings),
        [
            (
                "drift.block_deploy",
                Level::Failure,
                Severity::Low,
                Some("aws_instance.ami")
            ),
            (
                "drift.block_deploy",
                Level::Failure,
                Severity::Low,
                Some("aws_instance.both")
            )
        ]
    );
    assert_eq!(stats.accepted, 1);
}

#[test]
fn an_alerting_attribute_rule_applies_when_any_changed_path_matches() {
    let p = policy(
        "rules:\n  - resource: \"aws_security_group.*\"\n    attribute: \"ingress*\"\n    action: block_deploy\n",
    );
    let plan = plan_with(
        &["aws_security_group.web"],
        vec![update(
            "aws_security_group.web",
            json!({"ingress": [1], "tags": {"N": "a"}}),
            json!({"ingress": [2], "tags": {"N": "b"}}),
        )],
    );
    let (findings, _) = evaluate_plan(&p, "drift.json", &plan);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule_id, "drift.block_deploy");
}

#[test]
fn resource_glob_matches_the_full_address_with_star_across_dots() {
    let p = policy(
        "rules:\n  - resource: \"aws_security_group.*\"\n    action: block_deploy\n  - resource: \"*aws_db_instance.*\"\n    action: ignore\n",
    );
    let plan = plan_with(
        &[
            "module.net.aws_security_group.web",
            "module.data.aws_db_instance.main",
        ],
        vec![
            update(
                "module.net.aws_security_group.web",
                json!({"x": 1}),
                json!({"x": 2}),
            ),
            update(
                "module.data.aws_db_instance.main",
                json!({"x": 1}),
                json!({"x": 2}),
            ),
        ],
    );
    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan);
    // `aws_security_group.*` also matches the resource inside its module.
    assert_eq!(
        summary(&findings),
        [(
            "drift.block_deploy",
            Level::Failure,
            Severity::High,
            Some("module.net.aws_security_group.web")
        )]
    );
    assert_eq!(stats.ignored, 1);

    // An explicit `module.x.` prefix still narrows the match.
    let narrow = policy(
        "rules:\n  - resource: \"module.app.aws_security_group.*\"\n    action: block_deploy\n",
    );
    let (findings, _) = evaluate_plan(&narrow, "drift.json", &plan);
    assert!(
        findings.iter().all(|f| f.rule_id != "drift.block_deploy"),
        "{findings:?}"
    );
}

#[test]
fn module_prefixes_with_indexes_are_stripped() {
    let p = policy("rules:\n  - resource: \"aws_s3_bucket.*\"\n    action: ignore\n");
    let nested = "module.a[\"x.y\"].module.b[0].aws_s3_bucket.l";
    assert!(p.matching_rule(nested, &["acl".into()]).is_some());
    assert!(p.matching_rule("aws_s3_bucket.l", &[]).is_some());
    assert!(p.matching_rule("module.a.aws_instance.l", &[]).is_none());
}

#[test]
fn each_action_does_what_it_says() {
    let p = policy(
        "rules:
  - resource: \"aws_instance.block\"
    action: block_deploy
  - resource: \"aws_instance.alert\"
    action: alert
  - resource: \"aws_instance.accept\"
    action: auto_accept
  - resource: \"aws_instance.ignore\"
    action: ignore
",
    );
    let names = [
        "aws_instance.block",
        "aws_instance.alert",
        "aws_instance.accept",
        "aws_instance.ignore",
        "aws_instance.unmatched",
    ];
    let drift = names
        .iter()
        .map(|a| update(a, json!({"ami": "a"}), json!({"ami": "b"})))
        .collect();
    let plan = plan_with(&names, drift);
    let (findings, stats) = evaluate_plan(&p, "env/drift.json", &plan);
    assert_eq!(
        findings,
        [
            finding(
                "drift.block_deploy",
                Level::Failure,
                Severity::Low,
                "aws_instance.block",
                "env/drift.json",
                "aws_instance.block changed outside Terraform/OpenTofu (update): ami \
                 [rule `aws_instance.block`: block_deploy]",
            ),
            finding(
                "drift.alert",
                Level::Warning,
                Severity::Low,
                "aws_instance.alert",
                "env/drift.json",
                "aws_instance.alert changed outside Terraform/OpenTofu (update): ami \
                 [rule `aws_instance.alert`: alert]",
            ),
            finding(
                "drift.alert",
                Level::Warning,
                Severity::Low,
                "aws_instance.unmatched",
                "env/drift.json",
                "aws_instance.unmatched changed outside Terraform/OpenTofu (update): ami \
                 [no matching rule: alert]",
            ),
        ]
    );
    // 5 resources, the ignored one removed: 4, of which block + alert + unmatched drifted.
    assert_eq!(
        stats,
        DriftStats {
            total: 4,
            drifted: 3,
            accepted: 1,
            ignored: 1,
            coverage: 25.0,
        }
    );
}

#[test]
fn rule_without_action_alerts_with_its_severity() {
    let p = policy("rules:\n  - resource: \"*\"\n    severity_override: critical\n");
    let plan = plan_with(
        &["aws_instance.a"],
        vec![update("aws_instance.a", json!({"x": 1}), json!({"x": 2}))],
    );
    let (findings, _) = evaluate_plan(&p, "drift.json", &plan);
    assert_eq!(
        summary(&findings),
        [(
            "drift.alert",
            Level::Warning,
            Severity::Critical,
            Some("aws_instance.a")
        )]
    );
}

// ---- severity ----

#[test]
fn default_severity_follows_the_resource_type() {
    let update = ["update".to_string()];
    let delete = ["delete".to_string()];
    let replace = ["delete".to_string(), "create".to_string()];
    let cases: &[(&str, &[String], Severity)] = &[
        ("aws_db_instance", &update, Severity::Critical),
        ("aws_rds_cluster", &update, Severity::Critical),
        ("aws_dynamodb_table", &update, Severity::Critical),
        ("aws_s3_bucket", &update, Severity::Critical),
        ("aws_s3_bucket_policy", &update, Severity::Critical),
        ("aws_kms_key", &update, Severity::Critical),
        ("aws_secretsmanager_secret", &update, Severity::Critical),
        ("aws_iam_access_key", &update, Severity::Critical),
        ("azurerm_key_vault", &update, Severity::Critical),
        ("azurerm_storage_account", &update, Severity::Critical),
        ("google_sql_database_instance", &update, Severity::Critical),
        ("google_kms_crypto_key", &update, Severity::Critical),
        ("aws_security_group", &update, Severity::High),
        ("aws_security_group_rule", &update, Severity::High),
        ("aws_vpc", &update, Severity::High),
        ("aws_subnet", &update, Severity::High),
        ("aws_route_table", &update, Severity::High),
        ("aws_network_acl", &update, Severity::High),
        ("aws_iam_role", &update, Severity::High),
        ("aws_iam_policy", &update, Severity::High),
        ("aws_eks_cluster", &update, Severity::High),
        ("aws_ecs_cluster", &update, Severity::High),
        ("azurerm_kubernetes_cluster", &update, Severity::High),
        ("google_container_cluster", &update, Severity::High),
        ("google_compute_firewall", &update, Severity::High),
        ("azurerm_role_assignment", &update, Severity::High),
        ("azuread_group", &update, Severity::High),
        ("aws_instance", &delete, Severity::Medium),
        ("aws_instance", &replace, Severity::Medium),
        ("aws_instance", &update, Severity::Low),
        ("test_instance", &update, Severity::Low),
        // Whole words only: these are not keys or security groups.
        ("aws_keyspaces_table", &update, Severity::Low),
        ("aws_securityhub_account", &update, Severity::Low),
        ("", &update, Severity::Low),
    ];
    for (ty, actions, want) in cases {
        assert_eq!(default_severity(ty, actions), *want, "{ty} {actions:?}");
    }
}

#[test]
fn severity_override_replaces_the_default() {
    let p = policy(
        "rules:\n  - resource: \"aws_db_instance.*\"\n    severity_override: low\n    action: alert\n",
    );
    let plan = plan_with(
        &["aws_db_instance.main", "aws_db_instance.other"],
        vec![update(
            "aws_db_instance.main",
            json!({"x": 1}),
            json!({"x": 2}),
        )],
    );
    let (findings, _) = evaluate_plan(&p, "drift.json", &plan);
    assert_eq!(findings[0].severity, Severity::Low);
    let (findings, _) = evaluate_plan(&DriftPolicy::default(), "drift.json", &plan);
    assert_eq!(findings[0].severity, Severity::Critical);
}

// ---- coverage ----

#[test]
fn coverage_below_threshold_fails_with_the_numbers() {
    let p = policy("coverage_threshold: 90.0\n");
    let resources: Vec<String> = (0..10).map(|i| format!("aws_instance.i{i}")).collect();
    let refs: Vec<&str> = resources.iter().map(String::as_str).collect();
    let one = vec![update("aws_instance.i0", json!({"x": 1}), json!({"x": 2}))];
    let two = vec![
        update("aws_instance.i0", json!({"x": 1}), json!({"x": 2})),
        update("aws_instance.i1", json!({"x": 1}), json!({"x": 2})),
    ];

    // 9 of 10 clean: exactly at the threshold, passes.
    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan_with(&refs, one));
    assert_eq!(stats.coverage, 90.0);
    assert_eq!(
        summary(&findings),
        [(
            "drift.alert",
            Level::Warning,
            Severity::Low,
            Some("aws_instance.i0")
        )]
    );

    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan_with(&refs, two));
    assert_eq!(stats.coverage, 80.0);
    assert_eq!(
        findings.last(),
        Some(
            &Finding::new(
                Gate::Drift,
                "drift.coverage",
                Level::Failure,
                Severity::High,
                "drift coverage 80.0% is below the 90.0% threshold: 2 of 10 resources drifted \
                 (0 accepted, 0 ignored)",
            )
            .at("drift.json", None)
        )
    );
    assert_eq!(findings.len(), 3);
}

#[test]
fn auto_accepted_drift_is_not_counted_against_coverage() {
    let p = policy(
        "coverage_threshold: 60\nrules:\n  - resource: \"*\"\n    attribute: \"tags.*\"\n    action: auto_accept\n",
    );
    let plan = plan_with(
        &["aws_instance.a", "aws_instance.b"],
        vec![
            update(
                "aws_instance.a",
                json!({"tags": {"N": "1"}}),
                json!({"tags": {"N": "2"}}),
            ),
            update(
                "aws_instance.b",
                json!({"tags": {"N": "1"}}),
                json!({"tags": {"N": "2"}}),
            ),
        ],
    );
    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(
        stats,
        DriftStats {
            total: 2,
            drifted: 0,
            accepted: 2,
            ignored: 0,
            coverage: 100.0
        }
    );
}

#[test]
fn ignored_drift_is_removed_from_the_report() {
    let p = policy(
        "coverage_threshold: 100\nrules:\n  - resource: \"aws_instance.noisy\"\n    action: ignore\n",
    );
    let plan = plan_with(
        &["aws_instance.noisy", "aws_instance.quiet"],
        vec![update(
            "aws_instance.noisy",
            json!({"x": 1}),
            json!({"x": 2}),
        )],
    );
    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(
        (stats.total, stats.drifted, stats.ignored, stats.coverage),
        (1, 0, 1, 100.0)
    );
}

#[test]
fn resource_deleted_outside_terraform_still_counts_as_a_resource() {
    // The refreshed prior_state no longer has the deleted bucket.
    let plan = plan_with(
        &["aws_instance.a"],
        vec![change(
            "aws_s3_bucket.gone",
            &["delete"],
            json!({"bucket": "b", "tags": {}}),
            Value::Null,
        )],
    );
    let (findings, stats) = evaluate_plan(&DriftPolicy::default(), "drift.json", &plan);
    assert_eq!((stats.total, stats.drifted, stats.coverage), (2, 1, 50.0));
    assert_eq!(
        findings[0].message,
        "aws_s3_bucket.gone changed outside Terraform/OpenTofu (delete): bucket, tags \
         [no matching rule: alert]"
    );
    assert_eq!(findings[0].severity, Severity::Critical);
}

#[test]
fn total_falls_back_to_change_addresses_without_prior_state() {
    let plan = json!({
        "format_version": "1.2",
        "resource_changes": [
            change("aws_instance.a", &["no-op"], json!({}), json!({})),
            change("aws_instance.b", &["no-op"], json!({}), json!({})),
            {"address": "data.aws_ami.x", "mode": "data", "change": {"actions": ["read"]}},
        ],
        "resource_drift": [update("aws_instance.a", json!({"x": 1}), json!({"x": 2}))],
    });
    let (_, stats) = evaluate_plan(&DriftPolicy::default(), "drift.json", &plan);
    assert_eq!((stats.total, stats.drifted, stats.coverage), (2, 1, 50.0));
}

#[test]
fn message_caps_the_changed_path_list() {
    let before: serde_json::Map<String, Value> =
        (0..13).map(|i| (format!("a{i:02}"), json!(1))).collect();
    let after: serde_json::Map<String, Value> =
        (0..13).map(|i| (format!("a{i:02}"), json!(2))).collect();
    let plan = plan_with(
        &["aws_instance.a"],
        vec![update(
            "aws_instance.a",
            Value::Object(before),
            Value::Object(after),
        )],
    );
    let (findings, _) = evaluate_plan(&DriftPolicy::default(), "drift.json", &plan);
    assert_eq!(
        findings[0].message,
        "aws_instance.a changed outside Terraform/OpenTofu (update): a00, a01, a02, a03, a04, \
         a05, a06, a07, a08, a09 and 3 more [no matching rule: alert]"
    );
}

// ---- real plans ----

#[test]
fn opentofu_drift_fixture_gives_one_alert_for_the_refreshed_resource() {
    let (findings, stats) = evaluate_plan(
        &DriftPolicy::default(),
        "drift.json",
        &fixture(DRIFT_FIXTURE),
    );
    // `no_refresh` is a planned config change in resource_changes, not drift.
    assert_eq!(
        findings,
        [finding(
            "drift.alert",
            Level::Warning,
            Severity::Low,
            "test_instance.should_refresh",
            "drift.json",
            "test_instance.should_refresh changed outside Terraform/OpenTofu (update): ami \
             [no matching rule: alert]",
        )]
    );
    assert_eq!(
        stats,
        DriftStats {
            total: 2,
            drifted: 1,
            accepted: 0,
            ignored: 0,
            coverage: 50.0
        }
    );
}

#[test]
fn opentofu_drift_fixture_under_a_blocking_policy() {
    let p = policy(
        "coverage_threshold: 90\nrules:\n  - resource: \"test_instance.*\"\n    attribute: \"ami\"\n    severity_override: high\n    action: block_deploy\n",
    );
    let (findings, _) = evaluate_plan(&p, "drift.json", &fixture(DRIFT_FIXTURE));
    assert_eq!(
        summary(&findings),
        [
            (
                "drift.block_deploy",
                Level::Failure,
                Severity::High,
                Some("test_instance.should_refresh")
            ),
            ("drift.coverage", Level::Failure, Severity::High, None),
        ]
    );
    assert_eq!(
        findings[1].message,
        "drift coverage 50.0% is below the 90.0% threshold: 1 of 2 resources drifted \
         (0 accepted, 0 ignored)"
    );
}

#[test]
fn opentofu_moved_drift_fixture_names_the_new_and_previous_address() {
    let (findings, stats) = evaluate_plan(
        &DriftPolicy::default(),
        "drift.json",
        &fixture(MOVED_DRIFT_FIXTURE),
    );
    assert_eq!(
        findings,
        [finding(
            "drift.alert",
            Level::Warning,
            Severity::Low,
            "test_instance.should_refresh_with_move",
            "drift.json",
            "test_instance.should_refresh_with_move changed outside Terraform/OpenTofu (moved \
             from test_instance.should_refresh) (update): ami [no matching rule: alert]",
        )]
    );
    assert_eq!((stats.total, stats.drifted, stats.coverage), (2, 1, 50.0));
}

#[test]
fn opentofu_refresh_only_plan_without_drift_has_full_coverage() {
    let plan = fixture(REFRESH_ONLY_FIXTURE);
    assert!(is_refresh_only(&plan));
    let p = policy("coverage_threshold: 100\n");
    let (findings, stats) = evaluate_plan(&p, "drift.json", &plan);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!((stats.total, stats.drifted, stats.coverage), (2, 0, 100.0));
}

#[test]
fn plan_shapes_are_told_apart() {
    assert!(!is_refresh_only(&fixture(DRIFT_FIXTURE)));
    assert!(!is_refresh_only(&fixture(NO_OP_FIXTURE)));
    let (findings, stats) = evaluate_plan(
        &DriftPolicy::default(),
        "drift.json",
        &fixture(NO_OP_FIXTURE),
    );
    assert!(findings.is_empty());
    assert_eq!((stats.total, stats.coverage), (1, 100.0));
}

/// A refresh-only plan: nothing planned, everything in prior_state.
fn refresh_only_plan(resource_changes: Vec<Value>, drift: Vec<Value>) -> Value {
    json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {}},
        "resource_drift": drift,
        "resource_changes": resource_changes,
        "prior_state": {"values": {"root_module": {
            "resources": [
                {"address": "aws_instance.a", "mode": "managed"},
                {"address": "aws_instance.moved", "mode": "managed"},
                {"address": "data.aws_ami.x", "mode": "data"}
            ],
            "child_modules": [{"resources": [
                {"address": "module.m.aws_s3_bucket.logs", "mode": "managed"}
            ]}]
        }}}
    })
}

#[test]
fn refresh_only_plan_counts_resource_changes_as_drift() {
    let plan = refresh_only_plan(
        vec![update(
            "module.m.aws_s3_bucket.logs",
            json!({"tags": {}}),
            json!({"tags": {"Owner": "x"}}),
        )],
        vec![
            update("aws_instance.a", json!({"ami": "a"}), json!({"ami": "b"})),
            // Refresh-only plans list move-only entries as no-op drift: not drift.
            change(
                "aws_instance.moved",
                &["no-op"],
                json!({"ami": "a"}),
                json!({"ami": "a"}),
            ),
        ],
    );
    assert!(is_refresh_only(&plan));
    let (findings, stats) = evaluate_plan(&DriftPolicy::default(), "drift.json", &plan);
    assert_eq!(
        summary(&findings),
        [
            (
                "drift.alert",
                Level::Warning,
                Severity::Low,
                Some("aws_instance.a")
            ),
            (
                "drift.alert",
                Level::Warning,
                Severity::Critical,
                Some("module.m.aws_s3_bucket.logs")
            ),
        ]
    );
    assert_eq!(
        findings[1].message,
        "module.m.aws_s3_bucket.logs changed outside Terraform/OpenTofu (update): tags.Owner \
         [no matching rule: alert]"
    );
    assert_eq!((stats.total, stats.drifted), (3, 2));
}

#[test]
fn destroy_and_normal_plans_do_not_count_resource_changes_as_drift() {
    let destroy = refresh_only_plan(
        vec![change(
            "aws_instance.a",
            &["delete"],
            json!({"ami": "a"}),
            Value::Null,
        )],
        vec![],
    );
    assert!(!is_refresh_only(&destroy));
    let (findings, _) = evaluate_plan(&DriftPolicy::default(), "drift.json", &destroy);
    assert!(findings.is_empty());

    let mut normal = plan_with(&["aws_instance.a"], vec![]);
    normal["resource_changes"] = json!([update(
        "aws_instance.a",
        json!({"ami": "a"}),
        json!({"ami": "b"})
    )]);
    assert!(!is_refresh_only(&normal));
    let (findings, _) = evaluate_plan(&DriftPolicy::default(), "drift.json", &normal);
    assert!(findings.is_empty());
}

#[test]
fn unchanged_update_and_data_source_entries_are_not_drift() {
    let plan = plan_with(
        &["aws_instance.a"],
        vec![
            // Terraform 0.15 listed every resource as drift once one had drifted.
            update("aws_instance.a", json!({"ami": "a"}), json!({"ami": "a"})),
            json!({"address": "data.aws_ami.x", "mode": "data", "type": "aws_ami",
                   "change": {"actions": ["update"], "before": {"a": 1}, "after": {"a": 2}}}),
            json!({"mode": "managed", "change": {"actions": ["update"]}}),
        ],
    );
    let (findings, stats) = evaluate_plan(&DriftPolicy::default(), "drift.json", &plan);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!((stats.total, stats.drifted), (1, 0));
}

// ---- run ----

#[test]
fn run_evaluates_only_plan_reports() {
    let docs: Vec<InputDoc> = [
        ("envs/prod/drift.json", DRIFT_FIXTURE),
        ("envs/prod/plan.json", DRIFT_FIXTURE),
        ("stage.tfplan.json", MOVED_DRIFT_FIXTURE),
        ("drift-notes.json", r#"{"note": "not a plan"}"#),
    ]
    .iter()
    .flat_map(|(rel, text)| {
        parse_text(rel, crate::inputs::InputKind::Json, text, HclShape::Object)
            .expect("fixture parses")
    })
    .collect();
    let report = run(&DriftPolicy::default(), &docs);
    assert!(report.passed);
    assert_eq!(report.checked, 4);
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.as_str(),
                f.level,
                f.file.as_deref(),
                f.resource.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "drift.alert",
                Level::Warning,
                Some("envs/prod/drift.json"),
                Some("test_instance.should_refresh")
            ),
            (
                "drift.alert",
                Level::Warning,
                Some("stage.tfplan.json"),
                Some("test_instance.should_refresh_with_move")
            ),
            (
                "drift.not-a-plan",
                Level::Warning,
                Some("drift-notes.json"),
                None
            ),
        ]
    );
}

#[test]
fn run_fails_on_block_deploy_and_passes_without_reports() {
    let docs = parse_text(
        "drift.json",
        crate::inputs::InputKind::Json,
        DRIFT_FIXTURE,
        HclShape::Object,
    )
    .expect("fixture parses");
    let p = policy("rules:\n  - resource: \"*\"\n    action: block_deploy\n");
    let report = run(&p, &docs);
    assert!(!report.passed);
    assert_eq!(report.count(Level::Failure), 1);

    let empty = run(&p, &[]);
    assert!(empty.passed);
    assert_eq!((empty.checked, empty.findings.len()), (0, 0));
}

// ---- policy file ----

#[test]
fn default_report_globs_select_drift_reports() {
    let p = DriftPolicy::default();
    for yes in [
        "drift.json",
        "envs/prod/drift-2024.json",
        "x/y.tfplan.json",
        "tfplan.json",
        "a/b/tfplan.json",
    ] {
        assert!(p.is_report(yes), "{yes}");
    }
    for no in [
        "plan.json",
        "drift/prod.json",
        "tfplan.json.bak",
        "mytfplan.json",
    ] {
        assert!(!p.is_report(no), "{no}");
    }
    assert_eq!(p.reports, DEFAULT_REPORTS);
    assert!(p.coverage_threshold.is_none() && p.rules.is_empty());
}

#[test]
fn parses_the_documented_example() {
    let p = policy(
        "# the design.md example
coverage_threshold: 90.0
reports: [\"reports/*.json\"]
rules:
  - resource: \"aws_security_group.*\"
    attribute: \"tags.*\"
    severity_override: critical
    action: block_deploy
",
    );
    assert_eq!(p.coverage_threshold, Some(90.0));
    assert!(p.is_report("reports/prod.json") && !p.is_report("drift.json"));
    let rule = &p.rules[0];
    assert_eq!(
        (
            rule.resource.as_str(),
            rule.attribute.as_deref(),
            rule.severity_override,
            rule.action
        ),
        (
            "aws_security_group.*",
            Some("tags.*"),
            Some(Severity::Critical),
            DriftAction::BlockDeploy
        )
    );
    assert!(rule.matches("aws_security_group.web", &["tags.Name".to_string()]));
    assert!(!rule.matches("aws_security_group.web", &["ingress.0".to_string()]));
    for empty in ["", "# nothing yet\n\n", "---\n"] {
        let p = policy(empty);
        assert_eq!(
            (p.coverage_threshold, p.reports.as_slice(), p.rules.len()),
            (None, DEFAULT_REPORTS.map(String::from).as_slice(), 0),
            "{empty:?}"
        );
    }
}

#[test]
fn unknown_action_names_rule_index_and_field() {
    let err = policy_err(
        "rules:\n  - resource: a\n    action: alert\n  - resource: b\n    action: nuke\n",
    );
    assert_eq!(
        err.to_string(),
        ".driftpolicy: rules[1].action: unknown action `nuke` (expected block_deploy, alert, \
         auto_accept or ignore)"
    );
}

#[test]
fn bad_globs_name_rule_index_and_field() {
    let err = policy_err("rules:\n  - resource: \"aws_[\"\n    action: alert\n");
    assert!(
        matches!(&err, DriftConfigError::BadGlob { location, .. } if location == "rules[0].resource")
    );
    assert!(
        err.to_string()
            .starts_with(".driftpolicy: rules[0].resource: invalid glob `aws_[`"),
        "{err}"
    );

    let err = policy_err("rules:\n  - resource: a\n  - resource: b\n    attribute: \"tags.{x\"\n");
    assert!(
        err.to_string()
            .starts_with(".driftpolicy: rules[1].attribute: invalid glob `tags.{x`"),
        "{err}"
    );

    let err = policy_err("reports: [\"ok/*.json\", \"bad/[\"]\n");
    assert!(
        err.to_string()
            .starts_with(".driftpolicy: reports[1]: invalid glob"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_errors() {
    let err = policy_err("rules:\n  - resource: a\n    actoin: alert\n");
    assert_eq!(
        err.to_string(),
        ".driftpolicy: rules[0]: unknown key `actoin` (expected resource, attribute, \
         severity_override or action)"
    );
    let err = policy_err("coverage: 90\n");
    assert!(matches!(err, DriftConfigError::Yaml { .. }));
    assert!(
        err.to_string().contains("unknown field `coverage`"),
        "{err}"
    );
}

#[test]
fn other_bad_values_are_errors_naming_where() {
    let cases = [
        (
            "rules:\n  - resource: a\n    severity_override: urgent\n",
            ".driftpolicy: rules[0].severity_override: unknown severity `urgent` (expected \
             critical, high, medium or low)",
        ),
        (
            "rules:\n  - resource: a\n    severity_override: info\n",
            ".driftpolicy: rules[0].severity_override: unknown severity `info` (expected \
             critical, high, medium or low)",
        ),
        (
            "rules:\n  - action: alert\n",
            ".driftpolicy: rules[0]: missing required field `resource`",
        ),
        (
            "rules:\n  - resource: [a]\n",
            ".driftpolicy: rules[0].resource: must be a string",
        ),
        (
            "rules:\n  - \"aws_*\"\n",
            ".driftpolicy: rules[0]: a rule must be a mapping with `resource` and `action`",
        ),
        (
            "coverage_threshold: 120\n",
            ".driftpolicy: coverage_threshold: 120 is not a percentage between 0 and 100",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(policy_err(yaml).to_string(), want, "{yaml}");
    }
    let err = policy_err("rules:\n  - resource: a\n   action: [\n");
    assert!(err.to_string().contains("line"), "{err}");
}

#[test]
fn load_reads_the_config_dir_and_refuses_escaping_symlinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("repo");
    std::fs::create_dir(&config).expect("mkdir");
    assert!(
        DriftPolicy::load(&config)
            .expect("no file is fine")
            .is_none()
    );

    std::fs::write(config.join(POLICY_FILE), "coverage_threshold: 75\n").expect("write");
    let p = DriftPolicy::load(&config).expect("loads").expect("present");
    assert_eq!(p.coverage_threshold, Some(75.0));

    std::fs::write(
        config.join(POLICY_FILE),
        "rules:\n  - resource: a\n    action: maybe\n",
    )
    .expect("write");
    let err = DriftPolicy::load(&config).expect_err("bad action");
    assert!(
        err.to_string().starts_with(".driftpolicy: rules[0].action"),
        "{err}"
    );

    std::fs::remove_file(config.join(POLICY_FILE)).expect("rm");
    std::fs::write(dir.path().join("outside.yaml"), "coverage_threshold: 1\n").expect("write");
    std::os::unix::fs::symlink(dir.path().join("outside.yaml"), config.join(POLICY_FILE))
        .expect("symlink");
    assert!(matches!(
        DriftPolicy::load(&config),
        Err(DriftConfigError::Escapes { .. })
    ));
}
