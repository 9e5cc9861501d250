//! The details page rendered from a fixed evaluation record: its text is snapshotted (insta), and
//! hostile text in a finding message, a PR title, an override reason and a rule id stays text.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use thoth_bot::ids::{Platform, PrNumber};
use thoth_bot::secret::SecretString;
use thoth_bot::store::evaluation::{
    AppliedOverride, EvaluationId, EvaluationRecord, PolicySetRun, StageTime, StoredFinding,
};
use thoth_bot::store::{self, Store};
use thoth_bot::web::WebState;
use thoth_bot::web::links::DetailsKey;

const SCRIPT: &str = "<script>alert(1)</script>";

fn finding(
    rule: &str,
    level: &str,
    severity: &str,
    file: Option<&str>,
    line: Option<u32>,
    message: &str,
) -> StoredFinding {
    StoredFinding {
        gate: "rego".into(),
        rule_id: rule.into(),
        level: level.into(),
        severity: severity.into(),
        message: message.into(),
        file: file.map(String::from),
        line,
        resource: Some("aws_security_group.web".into()),
        pattern: None,
        explain: Some("SSH open to the internet — Fix: restrict the CIDR".into()),
    }
}

fn record(id: u128, secs: i64, findings: Vec<StoredFinding>) -> EvaluationRecord {
    let total = findings.len();
    EvaluationRecord {
        id: EvaluationId(uuid::Uuid::from_u128(id)),
        at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs),
        platform: Platform::GitHub,
        repo: "acme/infra".parse().unwrap(),
        pr: PrNumber(7),
        title: Some(format!("{SCRIPT} & open SSH")),
        head_sha: format!("{:040x}", id).parse().unwrap(),
        base_sha: Some("b".repeat(40).parse().unwrap()),
        web_url: Some("https://github.com/acme/infra".into()),
        decision: "comment".into(),
        proposed: "reject".into(),
        downgrade: Some("cooldown: comment only (another action 30 s ago)".into()),
        conclusion: "failure".into(),
        risk: 28,
        confidence: 0.9,
        counts: [1, 0, 1, 0, 0],
        reasons: vec![
            "blocking pattern unrestricted_security_groups: THOTH-AWS-SG-001 in main.tf:3".into(),
            "risk score 28 > approve limit 20".into(),
        ],
        notes: vec![format!("Overridden by @alice (approve): {SCRIPT}")],
        findings_digest: "sha256:abc".into(),
        findings,
        findings_total: total,
        policy_sets: vec![
            PolicySetRun {
                kind: "org".into(),
                label: "org:aws".into(),
                commit: Some("c".repeat(40)),
                policies: 4,
            },
            PolicySetRun {
                kind: "built-in".into(),
                label: "built-in".into(),
                commit: None,
                policies: 19,
            },
        ],
        stages: vec![
            StageTime {
                stage: "checkout".into(),
                seconds: 0.5,
            },
            StageTime {
                stage: "gates".into(),
                seconds: 1.5,
            },
        ],
        applied_override: Some(AppliedOverride {
            actor: "alice".into(),
            decision: "approve".into(),
            reason: SCRIPT.into(),
            at: Utc.with_ymd_and_hms(2026, 3, 1, 11, 0, 0).unwrap(),
        }),
    }
}

/// The page's text: tags dropped, entities kept (so escaping shows), blank lines squeezed.
fn text_of(html: &str) -> String {
    let body = html.split_once("<main>").map_or(html, |(_, b)| b);
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_page_text_is_stable_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = store::open(&format!("sled:{}", dir.path().display()))
        .await
        .unwrap();
    let earlier = record(
        1,
        0,
        vec![
            finding(
                "THOTH-AWS-SG-001",
                "failure",
                "critical",
                Some("main.tf"),
                Some(3),
                "SSH open",
            ),
            finding(
                "THOTH-OLD-001",
                "warning",
                "low",
                Some("old.tf"),
                None,
                "fixed since",
            ),
        ],
    );
    let hostile = finding(
        &format!("R-{SCRIPT}"),
        "failure",
        "high",
        Some("dir with space/<x>.tf"),
        Some(9),
        &format!("message with {SCRIPT} and \"quotes\" & 'ticks'"),
    );
    let now = record(
        2,
        3_600,
        vec![
            finding(
                "THOTH-AWS-SG-001",
                "failure",
                "critical",
                Some("main.tf"),
                Some(3),
                "SSH open",
            ),
            hostile,
            finding(
                "structure.not-configured",
                "info",
                "info",
                None,
                None,
                "nothing checked",
            ),
        ],
    );
    store.put_evaluation(&earlier).await.unwrap();
    store.put_evaluation(&now).await.unwrap();
    let state = WebState {
        store,
        key: DetailsKey::new(SecretString::from("k".repeat(32))),
        link_days: 30,
        dashboard: None,
        workers: 1,
        store_kind: "sled",
    };
    let exp = Utc
        .with_ymd_and_hms(2026, 4, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let html = thoth_bot::web::pages::render(&state, now, exp)
        .await
        .unwrap();

    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    // The file link is percent-encoded, so the hostile file name cannot end the attribute.
    assert!(
        html.contains("https://github.com/acme/infra/blob/0000000000000000000000000000000000000002/dir%20with%20space/%3Cx%3E.tf#L9"),
        "{html}"
    );
    insta::assert_snapshot!(text_of(&html));
}
