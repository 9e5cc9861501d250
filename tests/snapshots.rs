//! Snapshots of what a person reads or what the bot makes of real payloads: the parse of every
//! webhook fixture, the summary comment and check run of a real evaluation, `/thoth help`, and
//! SARIF / JUnit of `examples/insecure-terraform`. A change to any of them shows up as a diff
//! to review (`cargo insta review`, or `INSTA_UPDATE=always` and read the `.snap` files).

use std::path::{Path, PathBuf};

use thoth_bot::check::{CheckOptions, run_check};
use thoth_bot::decision::safety::PrContext;
use thoth_bot::forge::{PlanContext, plan_from};
use thoth_bot::report::{Format, render};

fn fixtures(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fixtures")
            .join(sub),
    );
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn name_of(path: &Path, root: &str) -> String {
    let rel = path
        .strip_prefix(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/fixtures")
                .join(root),
        )
        .unwrap();
    rel.display().to_string().replace(['/', '.'], "_")
}

#[test]
fn every_github_fixture_parses_as_snapshotted() {
    for path in fixtures("github") {
        // Event directories name the `X-GitHub-Event`; loose files are not deliveries.
        let Some(event) = path
            .parent()
            .filter(|d| d.parent().is_some_and(|p| p.ends_with("github")))
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
        else {
            continue;
        };
        let body = std::fs::read(&path).unwrap();
        let parsed = thoth_bot::webhook::github::parse(event, &body);
        insta::assert_debug_snapshot!(format!("github__{}", name_of(&path, "github")), parsed);
    }
}

/// A head or base that is not a commit id makes the delivery malformed (400), and the error
/// names the field, before anything is stored.
#[test]
fn a_pull_request_with_a_bad_commit_id_is_malformed_and_says_where() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fixtures/github/pull_request/opened.payload.json");
    let mut payload: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    for end in ["head", "base"] {
        let mut bad = payload.clone();
        bad["pull_request"][end]["sha"] = "../../etc/passwd".into();
        let err = thoth_bot::webhook::github::parse("pull_request", bad.to_string().as_bytes())
            .expect_err("a bad sha is refused");
        assert!(
            err.to_string().contains(&format!("pull_request.{end}.sha")),
            "{err}"
        );
    }
    // The untouched payload parses, so the refusals above are about the sha alone.
    payload["pull_request"]["head"]["sha"] = "a".repeat(40).into();
    assert!(
        thoth_bot::webhook::github::parse("pull_request", payload.to_string().as_bytes()).is_ok()
    );
}

#[test]
fn every_azure_fixture_parses_as_snapshotted() {
    for path in fixtures("azure-devops") {
        let body = std::fs::read(&path).unwrap();
        let parsed = thoth_bot::webhook::azure::parse(&body, "fabrikam");
        insta::assert_debug_snapshot!(format!("azure__{}", name_of(&path, "azure-devops")), parsed);
    }
}

#[test]
fn help_text() {
    insta::assert_snapshot!(thoth_bot::command::help_text());
}

#[test]
fn help_text_with_an_ai_model() {
    insta::assert_snapshot!(thoth_bot::command::help_text_for(true));
}

fn insecure_terraform() -> thoth_bot::finding::CheckReport {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/insecure-terraform");
    run_check(&CheckOptions::new(dir))
}

#[test]
fn sarif_and_junit_of_the_insecure_example() {
    let report = insecure_terraform();
    // Durations change from run to run; everything else is deterministic.
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r#""(duration_ms|durationMs)": \d+"#, r#""$1": "[ms]""#);
    settings.add_filter(r#"time="[0-9.]+""#, r#"time="[s]""#);
    settings.add_filter(r#"timestamp="[^"]+""#, r#"timestamp="[t]""#);
    settings.add_filter(r#""version": "[0-9.]+""#, r#""version": "[version]""#);
    settings.bind(|| {
        insta::assert_snapshot!("insecure_terraform_sarif", render(&report, Format::Sarif));
        insta::assert_snapshot!("insecure_terraform_junit", render(&report, Format::Junit));
    });
}

#[test]
fn summary_comment_and_check_run_of_the_insecure_example() {
    let report = insecure_terraform();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/insecure-terraform");
    let ctx = PrContext {
        repo: "acme/infra".into(),
        author: "alice".into(),
        labels: Vec::new(),
        draft: false,
    };
    let decision = thoth_bot::cli::decide_dry_run(&report, &dir, &ctx).unwrap();
    let plan = plan_from(
        &report,
        &decision,
        &PlanContext {
            head_sha: Some("0123456789abcdef0123456789abcdef01234567".parse().unwrap()),
            notes: Vec::new(),
            overridden: None,
            ai: None,
            ..PlanContext::default()
        },
    );
    insta::assert_snapshot!("insecure_terraform_comment", plan.comment_body);
    insta::assert_snapshot!("insecure_terraform_check_summary", plan.summary_markdown);
    insta::assert_debug_snapshot!("insecure_terraform_annotations", plan.annotations);
}

/// A repository of two projects, one finding mapped to a compliance control, and fix
/// suggestions inside and outside the diff: the summary a reviewer reads.
#[test]
fn summary_with_projects_controls_and_fix_suggestions() {
    use thoth_bot::decision::{self, config::DecisionConfig};
    use thoth_bot::finding::{Finding, Gate, GateReport, Level, Severity};
    use thoth_bot::forge::suggestion::Suggestion;
    let mut db = Finding::new(
        Gate::Rego,
        "THOTH-AWS-RDS-001",
        Level::Failure,
        Severity::High,
        "aws_db_instance.orders is not encrypted at rest",
    )
    .at("payments/db.tf", Some(5))
    .with_resource("aws_db_instance.orders");
    db.project = Some("payments".into());
    db.controls = vec!["SOC2 CC6.1".into()];
    let mut readme = Finding::new(
        Gate::Structure,
        "structure.root-file",
        Level::Failure,
        Severity::Low,
        "README.md is missing",
    );
    readme.project = Some("network".into());
    let mut report = thoth_bot::finding::CheckReport::new(vec![
        GateReport::new(Gate::Structure, 3, vec![readme]),
        GateReport::new(Gate::Rego, 12, vec![db]),
    ]);
    report.projects = vec![".".into(), "network".into(), "payments".into()];
    let (d, _) = decision::projects::evaluate_projects(&report, &|_| DecisionConfig::default())
        .expect("several projects");
    let fix = |path: &str, line: u32, in_diff: bool, ai: bool| Suggestion {
        path: path.into(),
        start_line: line,
        end_line: line,
        replacement: "  storage_encrypted = true".into(),
        rule_id: "THOTH-AWS-RDS-001".into(),
        title: "Enable RDS encryption at rest".into(),
        ai,
        in_diff,
    };
    let plan = plan_from(
        &report,
        &d,
        &PlanContext {
            head_sha: Some("0123456789abcdef0123456789abcdef01234567".parse().unwrap()),
            suggestions: vec![
                fix("payments/db.tf", 5, true, false),
                fix("payments/legacy.tf", 9, false, false),
                fix("payments/old.tf", 2, false, true),
            ],
            inline_suggestions: true,
            ..PlanContext::default()
        },
    );
    insta::assert_snapshot!(plan.comment_body);
}
