//! Recovery after an outage, end to end (issue 13): failed GitHub deliveries are redelivered
//! through the App's delivery log, and pull requests whose events never arrived are found by
//! reconciliation, on GitHub and on Azure DevOps.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use support::eventually;
use support::fake_github::PullSpec;
use support::http::request;
use support::world::*;

/// The value of one exact series line of a Prometheus text.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Refuses (or allows again) new connections to one database and ends the open ones: its
/// store is down for the bot while the PostgreSQL server keeps serving the other tests.
async fn set_database_up(url: &str, up: bool) {
    let admin = std::env::var("THOTH_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = url.rsplit('/').next().expect("database name");
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("admin connection");
    sqlx::query(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS {up}"))
        .execute(&pool)
        .await
        .expect("alter database");
    if !up {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(db)
            .execute(&pool)
            .await
            .expect("terminate connections");
    }
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_failed_while_the_store_was_down_are_redelivered_and_evaluated_once() {
    const PRS: u64 = 10;
    let interval = Duration::from_secs(3);
    let w = World::new().await;
    let store = postgres_url().await;
    let mut cfg = w.config(&store, 2);
    cfg.redeliver_interval_secs = interval.as_secs();
    let app = w.start(&cfg).await;
    w.gh.set_webhook(app.addr, SECRET);
    let heads: Vec<String> = (1..=PRS)
        .map(|n| w.push_pr(n, &[("main.tf", INSECURE_TF), ("pr.txt", &n.to_string())]))
        .collect();

    set_database_up(&store, false).await;
    for (i, head) in heads.iter().enumerate() {
        let n = i as u64 + 1;
        let status =
            w.gh.deliver(
                "pull_request",
                &format!("guid-{n}"),
                &w.pr_event("opened", n, head),
            )
            .await;
        assert_eq!(
            status, 503,
            "PR {n}: intake must refuse while the store is down"
        );
    }
    let failed = w.gh.deliveries();
    assert_eq!(failed.len(), PRS as usize);
    assert!(failed.iter().all(|d| d.status_code == 503));
    // The scans keep running and keep failing without the store; readiness says so.
    let (status, _) = request(app.addr, "GET", "/readyz", &[], b"").await;
    assert_eq!(status, 503);

    set_database_up(&store, true).await;
    let back = Instant::now();
    // Every failed delivery is asked for again within one scan interval of the store's return.
    let redelivered = eventually("the redeliveries", || {
        let attempts: Vec<_> =
            w.gh.calls()
                .into_iter()
                .filter(|c| c.method == "POST" && c.path.ends_with("/attempts"))
                .collect();
        (attempts.len() >= PRS as usize).then_some(attempts)
    })
    .await;
    let took = back.elapsed();
    eprintln!("all {PRS} redeliveries requested {took:?} after the store came back");
    assert!(
        took <= interval + Duration::from_secs(3),
        "redeliveries took {took:?}, more than one scan interval ({interval:?})"
    );
    assert_eq!(redelivered.len(), PRS as usize, "each failed delivery once");
    assert!(redelivered.iter().all(|c| c.status == 202));

    for head in &heads {
        w.wait_completed(head).await;
    }
    eprintln!(
        "all {PRS} pull requests evaluated {:?} after the store came back",
        back.elapsed()
    );
    // The redeliveries kept their GUIDs and were accepted.
    let log = w.gh.deliveries();
    let again: Vec<_> = log.iter().filter(|d| d.redelivery).collect();
    assert_eq!(again.len(), PRS as usize);
    assert!(again.iter().all(|d| d.status_code == 202));
    let guids: HashSet<&str> = again.iter().map(|d| d.guid.as_str()).collect();
    assert_eq!(guids.len(), PRS as usize);

    // One more scan finds nothing left to ask for.
    let scans = |w: &World| {
        w.gh.calls()
            .iter()
            .filter(|c| c.method == "GET" && c.path == "/app/hook/deliveries")
            .count()
    };
    let seen = scans(&w);
    eventually("another scan", || (scans(&w) > seen).then_some(())).await;
    let (_, metrics) = request(app.addr, "GET", "/metrics", &[], b"").await;
    app.stop().await;

    for (i, head) in heads.iter().enumerate() {
        let n = i as u64 + 1;
        let runs: Vec<_> =
            w.gh.check_runs()
                .into_iter()
                .filter(|r| r.head_sha == *head)
                .collect();
        assert_eq!(runs.len(), 1, "PR {n}: {runs:#?}");
        assert_eq!(runs[0].status, "completed");
        // The safety guard's cooldown turns all but the first into comment-only decisions.
        let reviews = w.gh.reviews().into_iter().filter(|r| r.pr == n).count();
        assert!(reviews <= 1, "PR {n}: {reviews} reviews");
        assert_eq!(
            marked_comments(&w, n).len(),
            1,
            "PR {n}: one summary comment"
        );
    }
    let attempts =
        w.gh.calls()
            .iter()
            .filter(|c| c.method == "POST" && c.path.ends_with("/attempts"))
            .count();
    assert_eq!(attempts, PRS as usize, "nothing asked for twice");
    assert!(
        series(&metrics, "thoth_redeliveries_requested_total").is_some_and(|v| v >= PRS as f64),
        "{metrics}"
    );
    assert!(
        series(
            &metrics,
            r#"thoth_recovery_last_success_age_seconds{scan="github_redeliver"}"#
        )
        .is_some_and(|age| age < 60.0),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_opened_while_the_bot_was_stopped_is_evaluated_on_start() {
    let w = World::new().await;
    // Opened while no bot ran: GitHub never delivered anything for it.
    let head = w.push_pr(4, &[("main.tf", INSECURE_TF)]);
    let pull = |head_sha: &str| PullSpec {
        head_sha: head_sha.to_string(),
        base_sha: w.base_sha.clone(),
        ..PullSpec::default()
    };
    w.gh.add_pull(REPO, 4, pull(&head));
    // Evaluated before the outage: left alone.
    let done_head = "d".repeat(40);
    w.gh.add_pull(REPO, 5, pull(&done_head));
    w.gh.add_check_run(REPO, &done_head, "completed");
    // Closed: left alone.
    w.gh.add_pull(
        REPO,
        6,
        PullSpec {
            state: "closed".into(),
            ..pull(&"c".repeat(40))
        },
    );
    w.gh.add_repo(REPO, &w.repo.url());

    // A slow pull request list keeps the walk going while readiness is asked.
    let pulls = format!("/repos/{REPO}/pulls");
    w.gh.set_slow(&pulls, Duration::from_secs(2));

    let mut cfg = w.config(&w.sled(), 1);
    cfg.reconcile_interval_secs = 3600;
    let app = w.start(&cfg).await;
    eventually("the walk to list pull requests", || {
        w.gh.has_arrived(&pulls).then_some(())
    })
    .await;
    let (status, _) = request(app.addr, "GET", "/readyz", &[], b"").await;
    assert_eq!(status, 200, "ready while a scan runs");
    assert!(
        w.completed_runs(&head).is_empty(),
        "the scan is still running"
    );
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    // The metrics registry is process-wide and other tests in this binary reconcile too, so
    // the counter only shows the walk counted; exactly one job is asserted below (one check
    // run, one review, comments on PR 4 only).
    let (_, metrics) = request(app.addr, "GET", "/metrics", &[], b"").await;
    assert!(
        series(&metrics, r#"thoth_reconciled_total{platform="github"}"#).is_some_and(|v| v >= 1.0),
        "{metrics}"
    );
    app.stop().await;

    let runs = w.gh.check_runs();
    assert_eq!(runs.len(), 2, "the seeded one and PR 4's: {runs:#?}");
    assert_eq!(w.gh.reviews().len(), 1);
    assert_eq!(marked_comments(&w, 4).len(), 1);
    assert!(marked_comments(&w, 5).is_empty() && marked_comments(&w, 6).is_empty());
    // The audit trail says why the bot acted without an event (once the stopped server's last
    // task let go of the sled store).
    drop(support::reopen_store(&w.sled()).await);
    let history = thoth_bot::cli::history(&w.sled(), Some(REPO), 1, 10, None, false)
        .await
        .expect("history");
    assert!(history.contains("trigger: reconcile"), "{history}");
}

mod azure {
    use super::support::azure_world::*;
    use super::support::world::{BASE_TF, INSECURE_TF};
    use super::{request, series};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_active_pull_request_without_a_thoth_status_is_evaluated_on_start() {
        let w = World::new().await;
        // Pushed while the bot was stopped: no service hook reached it.
        let head = w.push_pr(3, &[("main.tf", INSECURE_TF)]);
        // Evaluated before the outage (final status on its latest iteration): left alone.
        w.push_pr(4, &[("main.tf", BASE_TF)]);
        w.ado.add_status(REPO, 4, 1, "succeeded");
        let mut cfg = w.config();
        cfg.reconcile_interval_secs = 3600;
        let app = w.start(&cfg).await;
        let status = w.wait_published(3, 1).await;
        assert_eq!(status.state, "failed");
        // Process-wide counter (see the GitHub test): the job count below is the exact check.
        let (_, metrics) = request(app.addr, "GET", "/metrics", &[], b"").await;
        assert!(
            series(
                &metrics,
                r#"thoth_reconciled_total{platform="azure-devops"}"#
            )
            .is_some_and(|v| v >= 1.0),
            "{metrics}"
        );
        app.stop().await;

        let store_dir = w.dir.path().join("store");
        drop(super::support::reopen_store(&format!("sled:{}", store_dir.display())).await);
        let jobs = all_jobs(&store_dir).await;
        assert_eq!(jobs.len(), 1, "{jobs:#?}");
        assert_eq!(jobs[0].pr.0, 3);
        assert_eq!(jobs[0].head_sha.as_str(), head);
        assert_eq!(jobs[0].payload["reason"], "reconcile");
        let on_4: Vec<_> = w.ado.statuses().into_iter().filter(|s| s.pr == 4).collect();
        assert_eq!(on_4.len(), 1, "only the seeded status: {on_4:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_stops_when_the_rate_limit_runs_low_and_resumes_there() {
    use support::fake_github::{APP_ID, FakeGithub, TEST_KEY_PEM};
    use thoth_bot::recovery::{GITHUB_RECONCILE, Lease, github_reconcile};
    use thoth_bot::store::JobState;

    let gh = FakeGithub::start().await;
    for (i, repo) in ["acme/a", "acme/b", "acme/c"].iter().enumerate() {
        gh.add_repo(repo, &format!("https://github.com/{repo}.git"));
        let head_sha = format!("{:040x}", i + 1);
        gh.add_pull(
            repo,
            1,
            PullSpec {
                head_sha,
                ..PullSpec::default()
            },
        );
    }
    let mut cfg = thoth_bot::forge::github::GithubConfig::new(APP_ID, TEST_KEY_PEM);
    cfg.api_url = gh.url().to_string();
    let app = thoth_bot::forge::github::GithubApp::new(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = thoth_bot::store::open(&format!("sled:{}", dir.path().display()))
        .await
        .unwrap();
    let lease = Lease::new(store.clone(), GITHUB_RECONCILE, "test".into());
    let wake = tokio::sync::Notify::new();
    let pulls_listed = |gh: &FakeGithub| -> Vec<String> {
        gh.calls()
            .into_iter()
            .filter(|c| c.path.ends_with("/pulls"))
            .map(|c| c.path)
            .collect()
    };

    // 503 requests left: the repository list and acme/a leave 500, acme/b's list 499, below
    // the floor of 500: the walk ends after acme/b.
    gh.set_rate_limit_remaining(Some(503));
    let first = github_reconcile::scan(&app, &lease, &wake).await.unwrap();
    assert_eq!(first.enqueued, 2, "{first:?}");
    assert!(
        first
            .stopped_at
            .as_deref()
            .is_some_and(|k| k.ends_with("/acme/c")),
        "{first:?}"
    );
    assert_eq!(
        pulls_listed(&gh),
        ["/repos/acme/a/pulls", "/repos/acme/b/pulls"]
    );
    let cursor = store.scan_cursor(GITHUB_RECONCILE).await.unwrap().unwrap();
    assert!(cursor.position.ends_with("/acme/c") && cursor.last_success.is_none());

    // The next run resumes at acme/c, and completes.
    gh.set_rate_limit_remaining(Some(5000));
    let second = github_reconcile::scan(&app, &lease, &wake).await.unwrap();
    assert_eq!(
        (second.enqueued, second.stopped_at.clone()),
        (1, None),
        "{second:?}"
    );
    assert_eq!(pulls_listed(&gh)[2..], ["/repos/acme/c/pulls"]);
    let cursor = store.scan_cursor(GITHUB_RECONCILE).await.unwrap().unwrap();
    assert!(cursor.position.is_empty() && cursor.last_success.is_some());

    // One job per head, each with the reason `reconcile`; a third run finds them queued.
    let jobs = store.jobs_by_state(JobState::Queued, 10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.payload["reason"] == "reconcile"));
    let third = github_reconcile::scan(&app, &lease, &wake).await.unwrap();
    assert_eq!((third.pulls, third.enqueued), (3, 0), "{third:?}");
}
