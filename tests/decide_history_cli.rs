//! `thoth-bot check --decide` (the decision the bot would post, as a dry run),
//! `thoth-bot history` (the audit trail) and `thoth-bot explain` through the real binary.

mod common;

use common::*;
use serde_json::Value;

/// One security group open to the world on SSH: a failing finding with a file and line.
const OPEN_SSH_TF: &str = include_str!("data/terraform/open-ssh.tf");

#[test]
fn decide_prints_the_decision_and_honours_the_safety_guard() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("main.tf", OPEN_SSH_TF),
            (".thothctl/ai_decision_config.yaml", "enabled: true\n"),
        ],
    );
    let path = dir.path().to_str().unwrap();
    let (code, out, _) = thoth(&["check", path, "--decide", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let kind = v["decision"]["kind"].as_str().unwrap().to_string();
    assert!(
        kind == "request_changes" || kind == "reject",
        "a failing security group is not approved: {}",
        v["decision"]
    );
    assert!(v["decision"]["risk"].as_u64().unwrap() > 0);

    // A trusted bot's PR only gets a comment, and the text output says why.
    let (_, out, _) = thoth(&["check", path, "--decide", "--author", "dependabot"]);
    assert!(out.contains("decision: comment"), "{out}");
    assert!(out.contains("downgraded"), "{out}");

    // A broken decision config is a clear error, exit 2.
    write_tree(
        dir.path(),
        &[(
            ".thothctl/ai_decision_config.yaml",
            "enabled: true\nsurprise: 1\n",
        )],
    );
    let (code, _, err) = thoth(&["check", path, "--decide"]);
    assert_eq!(code, 2);
    assert!(err.contains("surprise"), "{err}");
}

#[test]
fn history_lists_audit_records_by_repository() {
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sled:{}", dir.path().join("store").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = thoth_bot::store::open(&store_url).await.unwrap();
        for (repo, decision, actor) in [
            ("acme/infra", "approve", "thoth"),
            ("acme/infra", "override:reject", "alice"),
            ("acme/other", "comment", "thoth"),
        ] {
            let rec = thoth_bot::store::DecisionRecord {
                id: thoth_bot::ids::DecisionId::new(),
                at: chrono::Utc::now(),
                platform: thoth_bot::ids::Platform::GitHub,
                repo: repo.parse().unwrap(),
                pr: thoth_bot::ids::PrNumber(3),
                head_sha: "c".repeat(40).parse().unwrap(),
                decision: decision.into(),
                risk: 40,
                confidence: 0.9,
                reasons: vec!["why".into()],
                findings_digest: "d".repeat(64),
                actor: actor.into(),
                downgraded_from: None,
                dry_run: false,
            };
            store.record_decision(&rec).await.unwrap();
        }
    });
    // The store is closed again (sled allows one process at a time).
    let (code, out, err) = thoth(&[
        "history",
        "--store",
        &store_url,
        "--repo",
        "acme/infra",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{out}");
    assert!(records.iter().all(|r| r["repo"] == "acme/infra"));
    assert!(records.iter().any(|r| r["actor"] == "alice"));

    let (code, out, _) = thoth(&["history", "--store", &store_url]);
    assert_eq!(code, 0);
    assert!(
        out.contains("acme/other") && out.contains("override:reject"),
        "{out}"
    );
    let (_, out, _) = thoth(&["history", "--store", &store_url, "--repo", "acme/none"]);
    assert!(out.contains("no decisions recorded"), "{out}");
}

#[test]
fn explain_answers_from_project_policies_then_the_built_in_library() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            "policy/naming.rego",
            r#"package acme.naming
import rego.v1

__rego_metadata__ := {"id": "ACME-NAME-1", "title": "Names carry the team", "description": "Every resource name starts with the owning team.", "custom": {"remediation": "Prefix the name with the team slug."}}

deny contains msg if { input.x; msg := "bad name" }
"#,
        )],
    );
    let path = dir.path().to_str().unwrap();
    let (code, out, _) = thoth(&["explain", "ACME-NAME-1", "--dir", path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Names carry the team"), "{out}");
    assert!(out.contains("Prefix the name with the team slug."), "{out}");
    assert!(out.contains("`policy/naming.rego`"), "{out}");
    // The built-in library answers for its own rules even when the project has policies.
    let (code, out, _) = thoth(&["explain", "THOTH-AWS-SG-001", "--dir", path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("How to fix"), "{out}");
    let (code, _, err) = thoth(&["explain", "NO-SUCH-RULE", "--dir", path]);
    assert_eq!(code, 1);
    assert!(err.contains("NO-SUCH-RULE"), "{err}");
}
