//! The default policy library, structure and drift gates through the real binary: the sample
//! projects in `examples/`, `.driftpolicy` over a real OpenTofu drift plan, output formats.

mod common;

use common::*;

fn example(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn default_library_on_the_insecure_example() {
    let (code, v) = check_json(&example("insecure-terraform"), &[]);
    assert_eq!(code, 1);
    assert!(gate_passed(&v, "structure"), "{v}");
    let ids: Vec<(String, Option<u64>)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "failure" && f["file"] == "main.tf")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64(),
            )
        })
        .collect();
    for (id, line) in [
        ("THOTH-AWS-S3-002", 49),
        ("THOTH-AWS-SG-001", 54),
        ("THOTH-AWS-RDS-001", 113),
        ("THOTH-AWS-RDS-002", 113),
        ("THOTH-SECRET-003", 113),
        ("THOTH-AWS-IAM-001", 135),
        ("THOTH-TF-MODULE-001", 20),
    ] {
        assert!(
            ids.contains(&(id.to_string(), Some(line))),
            "{id} at main.tf:{line} missing from {ids:?}"
        );
    }
    let secret = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "THOTH-SECRET-003" && f["file"] == "variables.tf")
        .expect("variable default secret");
    assert_eq!(secret["pattern"], "hardcoded_secrets");
    assert_eq!(secret["severity"], "critical");
}

#[test]
fn default_library_passes_the_clean_example() {
    let (code, v) = check_json(&example("clean-terraform"), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        findings(&v, "rego")
            .iter()
            .filter(|f| f.1 != "warning")
            .count(),
        0
    );
}

#[test]
fn default_library_on_kubernetes_and_dockerfile() {
    let (code, v) = check_json(&example("k8s"), &["--gates", "rego"]);
    assert_eq!(code, 1);
    let ids: Vec<String> = findings(&v, "rego").into_iter().map(|f| f.0).collect();
    for id in [
        "THOTH-K8S-001",
        "THOTH-K8S-002",
        "THOTH-K8S-003",
        "THOTH-K8S-004",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    let (code, v) = check_json(&example("docker"), &["--gates", "rego"]);
    assert_eq!(code, 1);
    let f: Vec<(String, Option<u64>)> = findings(&v, "rego")
        .into_iter()
        .map(|x| (x.0, x.3))
        .collect();
    let expected: Vec<(String, Option<u64>)> = [
        ("THOTH-DOCKER-001", 18),
        ("THOTH-DOCKER-002", 5),
        ("THOTH-DOCKER-002", 10),
        ("THOTH-SECRET-005", 11),
    ]
    .iter()
    .map(|(id, l)| (id.to_string(), Some(*l)))
    .collect();
    assert_eq!(f, expected);
}

#[test]
fn verify_passes_on_the_default_library() {
    let dir = format!("{}/policy", env!("CARGO_MANIFEST_DIR"));
    let (code, out, _) = thoth(&["verify", &dir]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("FAIL "), "{out}");
    let summary = out.lines().last().unwrap();
    let passed: usize = summary.split('/').next().unwrap().parse().unwrap();
    assert!(passed > 100, "{summary}");
}

#[test]
fn verify_reports_a_failing_test_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "p.rego",
                "package p\nimport rego.v1\ndeny contains \"x\" if { input.bad }\n",
            ),
            (
                "p_test.rego",
                "package p_test\nimport rego.v1\ntest_denies if { count(data.p.deny) == 1 with input as {\"bad\": true} }\ntest_wrong if { count(data.p.deny) == 1 with input as {} }\n",
            ),
        ],
    );
    let (code, out, _) = thoth(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("PASS ") && out.contains("p_test.test_denies"),
        "{out}"
    );
    assert!(
        out.contains("FAIL ") && out.contains("p_test.test_wrong"),
        "{out}"
    );
    assert!(out.contains("1/2 tests passed"), "{out}");
}

#[test]
fn drift_policy_over_a_real_opentofu_drift_plan() {
    let plan = std::fs::read_to_string(data("plans/opentofu/drift/output.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("envs/prod/tfplan.json", &plan),
            (
                ".driftpolicy",
                "coverage_threshold: 90\nrules:\n  - resource: \"test_instance.*\"\n    attribute: \"ami\"\n    severity_override: critical\n    action: block_deploy\n",
            ),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "drift"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        findings(&v, "drift"),
        [
            (
                "drift.block_deploy".into(),
                "failure".into(),
                Some("envs/prod/tfplan.json".into()),
                None
            ),
            (
                "drift.coverage".into(),
                "failure".into(),
                Some("envs/prod/tfplan.json".into()),
                None
            ),
        ]
    );
    let block = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "drift.block_deploy")
        .unwrap();
    assert_eq!(block["resource"], "test_instance.should_refresh");
    assert_eq!(block["severity"], "critical");

    // Accepting the drift passes the gate and restores coverage.
    write_tree(
        dir.path(),
        &[(
            ".driftpolicy",
            "coverage_threshold: 90\nrules:\n  - resource: \"test_instance.*\"\n    action: auto_accept\n",
        )],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "drift"]);
    assert_eq!(code, 0, "{v}");
    assert!(findings(&v, "drift").is_empty());
}

#[test]
fn bad_drift_policy_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            ".driftpolicy",
            "rules:\n  - resource: \"*\"\n    action: explode\n",
        )],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "drift"]);
    assert_eq!(code, 2, "{v}");
    let msg = v["findings"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains(".driftpolicy") && msg.contains("explode"),
        "{msg}"
    );
}

#[test]
fn structure_gate_hierarchy_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                ".thothcf.toml",
                "[project_structure]\nroot_files = [\"README.md\"]\n\n[[project_structure.folders]]\nname = \"modules\"\ncontent = [\"main.tf\", \"variables.tf\", \"outputs.tf\"]\n\n[[project_structure.folders]]\nname = \"docs\"\nmandatory = false\n",
            ),
            ("modules/vpc/main.tf", "# vpc\n"),
            ("modules/vpc/variables.tf", "# vars\n"),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "structure"]);
    assert_eq!(code, 1, "{v}");
    let f = findings(&v, "structure");
    let ids: Vec<(&str, &str)> = f.iter().map(|x| (x.0.as_str(), x.1.as_str())).collect();
    assert_eq!(
        ids,
        [
            ("structure.content", "failure"),
            ("structure.folder", "info"),
            ("structure.root-file", "failure"),
        ],
        "{f:?}"
    );
}

#[test]
fn sarif_and_junit_outputs() {
    let (code, out, _) = thoth(&[
        "check",
        example("insecure-terraform").to_str().unwrap(),
        "--format",
        "sarif",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(!v["runs"][0]["results"].as_array().unwrap().is_empty());
    let (code, out, _) = thoth(&[
        "check",
        example("insecure-terraform").to_str().unwrap(),
        "--format",
        "junit",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("<?xml") && out.contains("<testsuite name=\"rego\""),
        "{out}"
    );
}
