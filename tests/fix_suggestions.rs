//! Fix suggestions on pull requests: GitHub review comments with ```suggestion blocks on lines
//! inside the diff (the others listed in the summary), Azure DevOps threads with the fix as a
//! code block.

mod support;

use support::world::*;

/// An unencrypted database: THOTH-AWS-RDS-001, whose deterministic fix sets
/// `storage_encrypted = true`.
const RDS_TF: &str = r#"resource "aws_db_instance" "orders" {
  identifier          = "dev-orders-db"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  storage_encrypted   = false
  publicly_accessible = false
  tags = {
    Environment = "dev"
    Owner       = "platform"
    CostCenter  = "cc-1"
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_gets_suggestions_on_diff_lines_and_the_rest_in_the_summary() {
    let mut w = World::new().await;
    // An old file with the same problem, untouched by the pull request.
    w.base_sha = w.repo.commit(
        &[("legacy/db.tf", &RDS_TF.replace("orders", "legacy"))],
        "legacy database",
    );
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(5, &[("db.tf", RDS_TF)]);
    assert_eq!(w.open_pr(app.addr, "d-fix-1", 5, &head).await, 202);
    w.wait_completed(&head).await;

    let reviews: Vec<_> =
        w.gh.suggestion_reviews()
            .into_iter()
            .filter(|r| r.commit_id == head)
            .collect();
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    assert_eq!(reviews[0].event, "COMMENT");
    let on_db: Vec<_> = reviews[0]
        .comments
        .iter()
        .filter(|c| c["path"] == "db.tf")
        .collect();
    assert!(!on_db.is_empty(), "{:#?}", reviews[0].comments);
    let rds = on_db
        .iter()
        .find(|c| c["body"].as_str().unwrap().contains("THOTH-AWS-RDS-001"))
        .expect("the RDS encryption fix");
    let body = rds["body"].as_str().unwrap();
    assert!(body.contains("```suggestion\n"), "{body}");
    assert!(
        body.contains("storage_encrypted   = true") || body.contains("storage_encrypted = true"),
        "{body}"
    );
    assert_eq!(rds["side"], "RIGHT");
    // Nothing is suggested on the untouched file: GitHub refuses lines outside the diff.
    assert!(
        reviews[0]
            .comments
            .iter()
            .all(|c| c["path"] != "legacy/db.tf")
    );

    let comment = marked_comments(&w, 5).pop().expect("summary").body;
    assert!(comment.contains("### Fix suggestions"), "{comment}");
    assert!(
        comment.contains("suggestion(s) on changed lines"),
        "{comment}"
    );
    assert!(comment.contains("`legacy/db.tf:"), "{comment}");

    // Re-running the same head posts no second suggestion review.
    assert_eq!(w.open_pr(app.addr, "d-fix-2", 5, &head).await, 202);
    w.wait_idle().await;
    let again =
        w.gh.suggestion_reviews()
            .into_iter()
            .filter(|r| r.commit_id == head)
            .count();
    assert_eq!(again, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_devops_gets_a_thread_with_the_fix_as_a_code_block() {
    use support::azure_world::{World as AzureWorld, hook};
    let w = AzureWorld::new().await;
    let app = w.start(&w.config()).await;
    let head = w.push_pr(9, &[("db.tf", RDS_TF)]);
    let created = w.pr_event("git.pullrequest.created", "ado-fix-1", 9, &head);
    assert_eq!(hook(app.addr, &created).await, 202);
    w.wait_published(9, 1).await;
    let fixes: Vec<_> = w
        .finding_threads(9)
        .into_iter()
        .filter(|t| t.comments[0].contains("Suggested fix"))
        .collect();
    let rds = fixes
        .iter()
        .find(|t| t.comments[0].contains("THOTH-AWS-RDS-001"))
        .unwrap_or_else(|| panic!("{fixes:#?}"));
    assert!(rds.comments[0].contains("```hcl\n"), "{}", rds.comments[0]);
    assert_eq!(rds.anchor.as_ref().map(|a| a.0.as_str()), Some("/db.tf"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_models_fixes_join_the_suggestions_marked_ai() {
    use serde_json::json;
    use support::fake_openai::{FakeOpenai, Reply};
    let mut w = World::new().await;
    w.base_sha = w.repo.commit(
        &[(
            ".thothctl/ai_decision_config.yaml",
            "enabled: true\nai_review: true\n",
        )],
        "ai on",
    );
    let fake = FakeOpenai::start().await;
    // A fix for line 1 of the new file (inside the diff) and one overlapping a pattern's fix.
    fake.always(Reply::Answer {
        content: json!({
            "risk_score": 20, "confidence": 0.9, "findings": [], "recommendations": [],
            "fixes": [
                {"file": "db.tf", "start_line": 2, "end_line": 2,
                 "replacement": "  identifier          = \"prd-orders-db\"", "rule_id": "naming"},
                {"file": "db.tf", "start_line": 5, "end_line": 5,
                 "replacement": "  storage_encrypted   = \"yes\"", "rule_id": "THOTH-AWS-RDS-001"}
            ]
        }),
        input_tokens: 10,
        output_tokens: 10,
    });
    let mut cfg = w.config(&w.sled(), 1);
    cfg.ai = thoth_bot::ai::AiSettings {
        enabled: true,
        base_url: fake.v1_url(),
        model: "gpt-4o".into(),
        api_key: Some("k".to_string().into()),
        ..thoth_bot::ai::AiSettings::default()
    };
    let app = w.start(&cfg).await;
    let head = w.push_pr(6, &[("db.tf", RDS_TF)]);
    assert_eq!(w.open_pr(app.addr, "d-fix-ai", 6, &head).await, 202);
    w.wait_completed(&head).await;
    let review =
        w.gh.suggestion_reviews()
            .into_iter()
            .find(|r| r.commit_id == head)
            .expect("a suggestion review");
    let bodies: Vec<&str> = review
        .comments
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("**🤖 AI suggested fix**") && b.contains("prd-orders-db")),
        "{bodies:#?}"
    );
    // The model's edit of the lines a pattern fixes is dropped, not offered twice.
    assert!(!bodies.iter().any(|b| b.contains("\"yes\"")), "{bodies:#?}");
    assert_eq!(fake.calls().len(), 1);
    app.stop().await;
}
