//! What `/metrics` tells a scraper (and a person reading it) about each family: the HELP and
//! TYPE lines, snapshotted. Alone in its test binary, so every family below has exactly the
//! series this test records (a family without a series is left out of the text).

use std::time::Duration;

use thoth_bot::metrics::{self, JobOutcome, Stage, WaitSource};

#[test]
fn help_and_type_lines_of_every_family() {
    metrics::webhook("github", "pull_request", "duplicate");
    metrics::webhook("github", "-", "unauthorized");
    metrics::observe_stage(Stage::Checkout, Duration::from_millis(5));
    metrics::job(JobOutcome::Done);
    metrics::decision("reject", Some("dry_run"));
    metrics::forge_call("github", Some(201));
    metrics::rate_limit_wait("github", WaitSource::Forge, Duration::from_secs(1));
    metrics::redelivery_requested();
    metrics::reconciled("azure-devops");
    let text = metrics::render(Some(0), &[("github_redeliver", 12.0)]);
    let described: Vec<&str> = text.lines().filter(|l| l.starts_with("# ")).collect();
    insta::assert_snapshot!(described.join("\n"));
    assert!(
        text.contains(r#"thoth_decision_downgrades_total{reason="dry_run"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"thoth_recovery_last_success_age_seconds{scan="github_redeliver"} 12"#)
    );
}
