//! The GitHub App end to end: signed deliveries through the real router, a real git repository
//! served over HTTP with token auth, a fake GitHub API recording every call.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::http::{github_delivery, request};
use support::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_then_pushed_then_redelivered() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head1 = w.push_pr(7, &[("main.tf", INSECURE_TF)]);

    let status = github_delivery(
        app.addr,
        SECRET,
        "pull_request",
        "d-1",
        &w.pr_event("opened", 7, &head1),
    )
    .await;
    assert_eq!(status, 202);
    let run = w.wait_completed(&head1).await;
    assert_eq!(run.name, "thoth");
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let annotated: Vec<(String, u64)> = run
        .annotations
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                a["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(annotated.contains(&("main.tf".into(), 1)), "{annotated:?}");
    assert!(annotated.contains(&("main.tf".into(), 11)), "{annotated:?}");
    let reviews = w.gh.reviews();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0].event, "REQUEST_CHANGES");
    assert_eq!(reviews[0].commit_id, head1);
    let comments = marked_comments(&w, 7);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("THOTH-AWS-SG-001"),
        "{}",
        comments[0].body
    );

    // A second push: a new check run, the same comment edited in place.
    let head2 = w.push_pr(7, &[("main.tf", BASE_TF)]);
    let status = github_delivery(
        app.addr,
        SECRET,
        "pull_request",
        "d-2",
        &w.pr_event("synchronize", 7, &head2),
    )
    .await;
    assert_eq!(status, 202);
    let run2 = w.wait_completed(&head2).await;
    assert_ne!(run2.id, run.id);
    assert_eq!(run2.conclusion.as_deref(), Some("success"));
    let comments = marked_comments(&w, 7);
    assert_eq!(comments.len(), 1, "one summary comment, edited");
    assert_eq!(comments[0].id, w.gh.comments(REPO, 7)[0].id);
    assert!(
        !comments[0].body.contains("THOTH-AWS-SG-001"),
        "edited for the new head"
    );
    let edits =
        w.gh.writes()
            .iter()
            .filter(|c| c.method == "PATCH" && c.path.contains("/issues/comments/"))
            .count();
    assert_eq!(edits, 1);

    // A redelivery of the first event posts nothing new.
    let before = w.gh.writes().len();
    let status = github_delivery(
        app.addr,
        SECRET,
        "pull_request",
        "d-1",
        &w.pr_event("opened", 7, &head1),
    )
    .await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        w.gh.writes().len(),
        before,
        "redelivery wrote: {:#?}",
        &w.gh.writes()[before..]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_and_bodies_are_refused_and_store_nothing() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(3, &[("main.tf", INSECURE_TF)]);
    let body = w.pr_event("opened", 3, &head);
    let status = github_delivery(app.addr, "wrong-secret", "pull_request", "bad-1", &body).await;
    assert_eq!(status, 401);
    let (status, _) = request(
        app.addr,
        "POST",
        "/webhooks/github",
        &[
            ("X-GitHub-Event", "pull_request"),
            ("X-GitHub-Delivery", "bad-2"),
        ],
        &body,
    )
    .await;
    assert_eq!(status, 401, "missing signature");
    let big = vec![b' '; 26 * 1024 * 1024];
    let (status, _) = request(
        app.addr,
        "POST",
        "/webhooks/github",
        &[("X-GitHub-Event", "ping")],
        &big,
    )
    .await;
    assert_eq!(status, 413);
    let status = github_delivery(app.addr, SECRET, "pull_request", "bad-3", b"{not json").await;
    assert_eq!(status, 400);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(w.gh.writes().is_empty(), "{:#?}", w.gh.writes());
    let (status, body) = request(app.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, _) = request(app.addr, "GET", "/readyz", &[], b"").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_github_fixture_goes_through_the_router_without_a_5xx() {
    let w = World::new().await;
    // No workers: this is about intake.
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures/github");
    let mut n = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let event = dir.file_name().unwrap().to_str().unwrap().to_string();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let body = std::fs::read(&f).unwrap();
            n += 1;
            let status = github_delivery(app.addr, SECRET, &event, &format!("fx-{n}"), &body).await;
            assert!(
                status == 202 || status == 204,
                "{} answered {status}",
                f.display()
            );
        }
    }
    assert!(n >= 30, "{n} fixtures");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_write_is_retried_after_the_wait() {
    let w = World::new().await;
    w.gh.fail_next(
        "POST",
        &format!("/repos/{REPO}/check-runs"),
        429,
        &[("retry-after", "1")],
    );
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(5, &[("main.tf", BASE_TF)]);
    let status = github_delivery(
        app.addr,
        SECRET,
        "pull_request",
        "rl-1",
        &w.pr_event("opened", 5, &head),
    )
    .await;
    assert_eq!(status, 202);
    w.wait_completed(&head).await;
    let posts: Vec<_> =
        w.gh.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path.ends_with("/check-runs"))
            .collect();
    assert_eq!(
        posts.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 201]
    );
    assert!(posts[1].at.duration_since(posts[0].at) >= Duration::from_secs(1));
    assert_eq!(w.gh.check_runs().len(), 1);
    app.stop().await;
}

/// A fresh database on the test server, for a test that needs two processes' worth of store.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_job_the_job_completes_once_after_restart() {
    let w = World::new().await;
    let store = postgres_url().await;
    let cfg = w.config(&store, 1);
    // The first process stalls in the clone and is killed there.
    w.repo
        .server()
        .set_upload_pack_delay(Duration::from_secs(4));
    let first = w.start(&cfg).await;
    let head = w.push_pr(9, &[("main.tf", INSECURE_TF)]);
    let status = github_delivery(
        first.addr,
        SECRET,
        "pull_request",
        "k-1",
        &w.pr_event("opened", 9, &head),
    )
    .await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.gh.check_runs().is_empty() {
        assert!(Instant::now() < deadline, "the first worker never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.abort();
    w.repo.server().set_upload_pack_delay(Duration::ZERO);

    let second = w.start(&cfg).await;
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        w.gh.check_runs().len(),
        1,
        "the in-progress run is reused, not doubled"
    );
    assert_eq!(w.completed_runs(&head).len(), 1);
    assert_eq!(w.gh.reviews().len(), 1);
    assert_eq!(marked_comments(&w, 9).len(), 1);
    second.stop().await;
}
