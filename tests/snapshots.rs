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
