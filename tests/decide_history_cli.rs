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

fn evaluation(
    secs_ago: i64,
    conclusion: &str,
    rules: &[&str],
    downgrade: Option<&str>,
) -> thoth_bot::store::EvaluationRecord {
    use thoth_bot::store::evaluation::{EvaluationId, StoredFinding};
    let findings: Vec<StoredFinding> = rules
        .iter()
        .map(|r| StoredFinding {
            gate: "rego".into(),
            rule_id: r.to_string(),
            level: "failure".into(),
            severity: "high".into(),
            message: format!("{r} hit"),
            file: Some("main.tf".into()),
            line: Some(1),
            resource: None,
            pattern: None,
            explain: None,
        })
        .collect();
    thoth_bot::store::EvaluationRecord {
        id: EvaluationId::new(),
        at: chrono::Utc::now() - chrono::TimeDelta::seconds(secs_ago),
        platform: thoth_bot::ids::Platform::GitHub,
        repo: "acme/infra".parse().unwrap(),
        pr: thoth_bot::ids::PrNumber(3),
        title: None,
        head_sha: "c".repeat(40).parse().unwrap(),
        base_sha: None,
        web_url: None,
        decision: "comment".into(),
        proposed: "reject".into(),
        downgrade: downgrade.map(String::from),
        conclusion: conclusion.into(),
        risk: 40,
        confidence: 0.9,
        counts: [0, 1, 0, 0, 0],
        reasons: vec![],
        notes: vec![],
        findings_digest: String::new(),
        findings_total: findings.len(),
        findings,
        policy_sets: vec![],
        stages: vec![],
        applied_override: None,
    }
}

#[test]
fn report_stats_and_history_by_action_read_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sled:{}", dir.path().join("store").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = thoth_bot::store::open(&store_url).await.unwrap();
        for (decision, actor) in [
            ("request_changes", "thoth"),
            ("override:approve", "alice"),
            ("override-applied:approve", "alice"),
            ("approve", "thoth"),
        ] {
            let rec = thoth_bot::store::DecisionRecord {
                id: thoth_bot::ids::DecisionId::new(),
                at: chrono::Utc::now(),
                platform: thoth_bot::ids::Platform::GitHub,
                repo: "acme/infra".parse().unwrap(),
                pr: thoth_bot::ids::PrNumber(3),
                head_sha: "c".repeat(40).parse().unwrap(),
                decision: decision.into(),
                risk: 40,
                confidence: 0.9,
                reasons: vec!["reason: accepted".into()],
                findings_digest: String::new(),
                actor: actor.into(),
                downgraded_from: None,
                dry_run: false,
            };
            store.record_decision(&rec).await.unwrap();
        }
        // R1 and R2 appear; an hour later R1 is fixed; R2 stays.
        let first = evaluation(7_200, "failure", &["R1", "R2"], None);
        let second = evaluation(
            3_600,
            "failure",
            &["R2"],
            Some("cooldown: comment only (x)"),
        );
        let third = evaluation(60, "success", &[], Some("draft: comment only (y)"));
        for e in [&first, &second, &third] {
            store.put_evaluation(e).await.unwrap();
        }
    });

    let (code, out, err) = thoth(&[
        "history", "--store", &store_url, "--action", "override", "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let actions: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["decision"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(actions.len(), 2, "{out}");
    assert!(actions.iter().all(|a| a.starts_with("override")), "{out}");
    let (_, out, _) = thoth(&[
        "history",
        "--store",
        &store_url,
        "--action",
        "request-changes",
    ]);
    assert!(
        out.contains("request_changes") && !out.contains("override"),
        "{out}"
    );

    let (code, out, err) = thoth(&[
        "stats", "--store", &store_url, "--days", "7", "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let stats: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["by_action"]["override:approve"], 1, "{out}");
    assert_eq!(stats["by_action"]["approve"], 1, "{out}");
    assert_eq!(stats["downgrades"]["cooldown"], 1, "{out}");
    assert_eq!(stats["downgrades"]["draft"], 1, "{out}");
    let (_, text, _) = thoth(&["stats", "--store", &store_url]);
    assert!(text.contains("Safety-guard downgrades by reason"), "{text}");

    let (code, out, err) = thoth(&["report", "--store", &store_url, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["evaluations"], 3, "{out}");
    // R1: an hour from first seen to fixed; R2: fixed by the clean third evaluation.
    assert_eq!(report["fixes"], 2, "{out}");
    assert_eq!(report["pass_rates"][0]["pass_rate"], 33, "{out}");
    assert_eq!(report["top_rules"][0]["rule_id"], "R2", "{out}");
    assert_eq!(report["top_rules"][0]["last_30_days"], 2, "{out}");
    assert_eq!(report["store"], "sled");
    let (_, md, _) = thoth(&["report", "--store", &store_url, "--format", "markdown"]);
    assert!(md.contains("| acme/infra | 3 | 1 | 33% |"), "{md}");
    assert!(md.contains("## Top failing rules"), "{md}");
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
