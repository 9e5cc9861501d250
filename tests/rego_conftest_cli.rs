//! The Rego gate against conftest's behaviour, end to end through `thoth-bot check`: rules of a
//! package spread over several files that reach a library package through an import alias,
//! complete `deny`/`violation`/`warn` rules with array, object and string values, and the
//! equivalents of conftest's `examples/kubernetes` policies (tests/data/conftest-kubernetes).

mod common;

use std::fs;

use common::*;
use serde_json::Value;

/// `(rule_id, level, message)` of every Rego finding, sorted.
fn messages(v: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["gate"] == "rego")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn failure(id: &str, msg: &str) -> (String, String, String) {
    (id.into(), "failure".into(), msg.into())
}

const DEPLOYMENT: &str = "kind: Deployment\nmetadata:\n  name: web\n";

#[test]
fn import_alias_used_from_a_second_file_of_the_package() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("deployment.yaml", DEPLOYMENT),
            (
                "policy/a.rego",
                "package main\nimport rego.v1\nimport data.kubernetes\ndeny contains \"a\" if { true }\n",
            ),
            (
                "policy/b.rego",
                "package main\nimport rego.v1\nimport data.kubernetes\ndeny contains \"b\" if { kubernetes.is_deployment }\n",
            ),
            (
                "policy/k.rego",
                "package kubernetes\nimport rego.v1\nis_deployment if { input.kind = \"Deployment\" }\n",
            ),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        messages(&v),
        [failure("main.deny", "a"), failure("main.deny", "b")],
        "{v}"
    );
}

#[test]
fn complete_rules_with_array_object_and_string_values() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("deployment.yaml", DEPLOYMENT),
            (
                "policy/v.rego",
                r#"package main
import rego.v1

violation := [{"msg": "array item", "details": {}}, "second item"] if { input.kind == "Deployment" }

deny_single := {"msg": "single object"} if { input.kind == "Deployment" }

deny := "single string" if { input.kind == "Deployment" }

warn_set := {"w"} if { input.kind == "Deployment" }

deny_never := ["not reported"] if { input.kind == "Service" }
"#,
            ),
        ],
    );
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        messages(&v),
        [
            failure("main.deny", "single string"),
            failure("main.deny_single", "single object"),
            failure("main.violation", "array item"),
            failure("main.violation", "second item"),
            ("main.warn_set".into(), "warning".into(), "w".into()),
        ],
        "{v}"
    );
}

/// Copies the conftest-equivalent policies and one input document into a temp project.
fn conftest_kubernetes(input: &str) -> (tempfile::TempDir, i32, Value) {
    let src = data("conftest-kubernetes");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in ["deny", "violation", "warn", "kubernetes"] {
        let rel = format!("policy/{name}.rego");
        files.push((
            rel.clone(),
            fs::read_to_string(format!("{src}/{rel}")).unwrap(),
        ));
    }
    files.push((
        input.into(),
        fs::read_to_string(format!("{src}/{input}")).unwrap(),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_tree(dir.path(), &refs);
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--no-builtin"]);
    (dir, code, v)
}

#[test]
fn conftest_kubernetes_example_deployment_has_four_failures() {
    let (_dir, code, v) = conftest_kubernetes("deployment.yaml");
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        messages(&v),
        [
            failure(
                "main.deny",
                "Containers must not run as root in Deployment hello-kubernetes"
            ),
            failure(
                "main.deny",
                "Deployment hello-kubernetes must provide app/release labels for pod selectors"
            ),
            failure(
                "main.violation",
                "Container hello-kubernetes in Deployment hello-kubernetes must not be privileged"
            ),
            failure(
                "main.violation",
                "Container hello-kubernetes in Deployment hello-kubernetes uses the latest tag"
            ),
        ],
        "{v}"
    );
}

#[test]
fn conftest_kubernetes_example_service_only_warns() {
    let (_dir, code, v) = conftest_kubernetes("service.yaml");
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        messages(&v),
        [(
            "main.warn".into(),
            "warning".into(),
            "Service hello-kubernetes exposes port 80; only 443 is allowed".into()
        )],
        "{v}"
    );
}

#[test]
fn namespaces_select_packages_and_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("deployment.yaml", DEPLOYMENT),
            (
                "policy/main.rego",
                "package main\nimport rego.v1\ndeny contains \"main\" if { true }\n",
            ),
            (
                "policy/k8s.rego",
                "package k8s.labels\nimport rego.v1\ndeny contains \"labels\" if { true }\n",
            ),
            (
                "policy/k8s_img.rego",
                "package k8s.images\nimport rego.v1\nwarn contains \"images\" if { true }\n",
            ),
        ],
    );
    let d = dir.path().to_str().unwrap();
    let msgs = |extra: &[&str]| -> (Vec<String>, Value) {
        let (_, v) = check_json(dir.path(), extra);
        let mut m: Vec<String> = messages(&v).into_iter().map(|(_, _, m)| m).collect();
        m.sort();
        (m, v)
    };
    // Default: every package.
    let (all, v) = msgs(&["--gates", "rego", "--no-builtin"]);
    assert_eq!(all, ["images", "labels", "main"]);
    assert_eq!(
        v["gates"][0]["namespaces"],
        serde_json::json!(["k8s.images", "k8s.labels", "main"])
    );
    let (same, _) = msgs(&["--gates", "rego", "--no-builtin", "--all-namespaces"]);
    assert_eq!(same, all);
    // Repeatable, with globs.
    let (some, v) = msgs(&[
        "--gates",
        "rego",
        "--no-builtin",
        "--namespace",
        "main",
        "--namespace",
        "k8s.l*",
    ]);
    assert_eq!(some, ["labels", "main"]);
    assert_eq!(
        v["gates"][0]["namespaces"],
        serde_json::json!(["k8s.labels", "main"])
    );
    let (k8s, _) = msgs(&["--gates", "rego", "--no-builtin", "--namespace", "k8s.*"]);
    assert_eq!(k8s, ["images", "labels"]);
    // The text output names them.
    let (code, out, _) = thoth(&[
        "check",
        d,
        "--gates",
        "rego",
        "--no-builtin",
        "--namespace",
        "k8s.*",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("namespaces: k8s.images, k8s.labels"), "{out}");
    // Both flags at once is a usage error.
    let (code, _, err) = thoth(&["check", d, "--namespace", "main", "--all-namespaces"]);
    assert_eq!(code, 2, "{err}");
}
