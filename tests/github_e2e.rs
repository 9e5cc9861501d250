//! The GitHub App end to end: signed deliveries through the real router, a real git repository
//! served over HTTP with token auth, a fake GitHub API recording every call.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::eventually;
use support::http::{github_delivery, request};
use support::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_then_pushed_then_redelivered() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head1 = w.push_pr(7, &[("main.tf", INSECURE_TF)]);

    let status = w.open_pr(app.addr, "d-1", 7, &head1).await;
    assert_eq!(status, 202);
    let run = w.wait_completed(&head1).await;
    assert_eq!(run.name, "thoth");
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    // No `public_url` configured: no details link, and the summary says how to get one.
    assert_eq!(run.details_url, None);
    assert!(
        run.summary
            .as_deref()
            .is_some_and(|s| s.contains("`THOTH_PUBLIC_URL`")),
        "{:?}",
        run.summary
    );
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
    let status = w.open_pr(app.addr, "d-1", 7, &head1).await;
    assert_eq!(status, 202);
    w.wait_idle().await;
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
    w.wait_idle().await;
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
    let status = w.open_pr(app.addr, "rl-1", 5, &head).await;
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
    let (_, text) = request(app.addr, "GET", "/metrics", &[], b"").await;
    let waits = r#"thoth_rate_limit_waits_total{platform="github",source="forge"}"#;
    assert!(series(&text, waits).is_some_and(|n| n >= 1.0), "{text}");
    let status = r#"thoth_forge_api_calls_total{platform="github",status="429"}"#;
    assert!(series(&text, status).is_some_and(|n| n >= 1.0), "{text}");
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
    let status = w.open_pr(first.addr, "k-1", 9, &head).await;
    assert_eq!(status, 202);
    eventually("the first worker's check run", || {
        (!w.gh.check_runs().is_empty()).then_some(())
    })
    .await;
    first.abort();
    w.repo.server().set_upload_pack_delay(Duration::ZERO);

    let second = w.start(&cfg).await;
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    w.wait_idle().await;
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

/// Two replicas behind a load balancer share one PostgreSQL store: every delivery reaches one
/// of them and its redelivery the other; each pull request is still evaluated and published
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_publish_each_pull_request_once() {
    let w = World::new().await;
    let db = postgres_url().await;
    let mut cfg_a = w.config(&db, 2);
    cfg_a.cache_dir = w.dir.path().join("cache-a");
    let mut cfg_b = w.config(&db, 2);
    cfg_b.cache_dir = w.dir.path().join("cache-b");
    let a = w.start(&cfg_a).await;
    let b = w.start(&cfg_b).await;
    let mut heads = Vec::new();
    for n in 1..=6u64 {
        let file = format!("stack{n}.tf");
        let head = w.push_pr(40 + n, &[(file.as_str(), INSECURE_TF)]);
        let (first, second) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let delivery = format!("rep-{n}");
        assert_eq!(w.open_pr(first.addr, &delivery, 40 + n, &head).await, 202);
        assert_eq!(w.open_pr(second.addr, &delivery, 40 + n, &head).await, 202);
        heads.push((40 + n, head));
    }
    for (_, head) in &heads {
        w.wait_completed(head).await;
    }
    w.wait_idle().await;
    assert_eq!(
        w.gh.check_runs().len(),
        heads.len(),
        "{:#?}",
        w.gh.check_runs()
    );
    for (n, head) in &heads {
        assert_eq!(w.completed_runs(head).len(), 1, "PR {n}");
        assert_eq!(marked_comments(&w, *n).len(), 1, "PR {n}");
    }
    // The repository's cooldown lets the first automatic review through and downgrades the
    // others to the summary comment: across both replicas, so exactly one review.
    assert_eq!(w.gh.reviews().len(), 1, "{:#?}", w.gh.reviews());
    a.stop().await;
    b.stop().await;
}

/// The value of one exact series line of a Prometheus text page.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_deliveries_stages_decisions_and_api_calls() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(11, &[("main.tf", INSECURE_TF)]);
    let body = w.pr_event("opened", 11, &head);
    assert_eq!(
        github_delivery(app.addr, SECRET, "pull_request", "m-1", &body).await,
        202
    );
    w.wait_completed(&head).await;
    assert_eq!(
        github_delivery(app.addr, SECRET, "pull_request", "m-1", &body).await,
        202
    );
    assert_eq!(
        github_delivery(app.addr, "wrong", "pull_request", "m-2", &body).await,
        401
    );
    let (status, text) = request(app.addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(status, 200);
    let at_least_one = |name: &str| {
        let v = series(&text, name).unwrap_or_else(|| panic!("no series {name} in\n{text}"));
        assert!(v >= 1.0, "{name} = {v}");
    };
    at_least_one(
        r#"thoth_webhooks_total{platform="github",event="pull_request",outcome="accepted"}"#,
    );
    at_least_one(
        r#"thoth_webhooks_total{platform="github",event="pull_request",outcome="duplicate"}"#,
    );
    at_least_one(r#"thoth_webhooks_total{platform="github",event="-",outcome="unauthorized"}"#);
    at_least_one(r#"thoth_webhook_signature_failures_total{platform="github"}"#);
    at_least_one(r#"thoth_webhook_duplicates_total{platform="github"}"#);
    for stage in [
        "checkout",
        "gate_structure",
        "gate_rego",
        "gate_drift",
        "publish",
        "job",
    ] {
        at_least_one(&format!(
            r#"thoth_job_stage_duration_seconds_count{{stage="{stage}"}}"#
        ));
    }
    at_least_one(r#"thoth_jobs_total{outcome="done"}"#);
    // `enabled: true` in the base config: the hard-coded password is a blocking pattern.
    at_least_one(r#"thoth_decisions_total{kind="reject"}"#);
    at_least_one(r#"thoth_forge_api_calls_total{platform="github",status="201"}"#);
    assert_eq!(series(&text, "thoth_queue_depth"), Some(0.0), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_a_running_job_that_a_new_instance_then_completes() {
    let w = World::new().await;
    let store_url = postgres_url().await;
    let mut cfg = w.config(&store_url, 1);
    cfg.shutdown_grace_secs = 1;
    cfg.lease_secs = 60;
    // The job is still cloning when shutdown starts, and would be for longer than the grace.
    w.repo
        .server()
        .set_upload_pack_delay(Duration::from_secs(8));
    let first = w.start(&cfg).await;
    let head = w.push_pr(12, &[("main.tf", INSECURE_TF)]);
    assert_eq!(w.open_pr(first.addr, "s-1", 12, &head).await, 202);
    eventually("the worker to start", || {
        (!w.gh.check_runs().is_empty()).then_some(())
    })
    .await;
    let started = Instant::now();
    first.stop().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "stop took {took:?} with a 1 s grace period"
    );
    // Released, not failed: queued again at once, the attempt given back.
    let store = thoth_bot::store::open(&store_url).await.unwrap();
    let queued = store
        .jobs_by_state(thoth_bot::store::JobState::Queued, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "{queued:#?}");
    assert_eq!(queued[0].attempts, 0);
    assert!(queued[0].last_error.is_none(), "{queued:#?}");
    assert!(w.completed_runs(&head).is_empty());

    // A new instance (its own git cache, as a new pod would have) takes the job over.
    w.repo.server().set_upload_pack_delay(Duration::ZERO);
    let mut cfg2 = cfg.clone();
    cfg2.cache_dir = w.dir.path().join("cache-2");
    let second = w.start(&cfg2).await;
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(w.gh.check_runs().len(), 1, "the in-progress run is reused");
    assert_eq!(w.gh.reviews().len(), 1);
    assert_eq!(marked_comments(&w, 12).len(), 1);
    let done = store
        .jobs_by_state(thoth_bot::store::JobState::Done, 10)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_running_job_finish_within_the_grace_period() {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.shutdown_grace_secs = 30;
    w.repo
        .server()
        .set_upload_pack_delay(Duration::from_secs(2));
    let app = w.start(&cfg).await;
    let head = w.push_pr(13, &[("main.tf", BASE_TF)]);
    assert_eq!(w.open_pr(app.addr, "g-1", 13, &head).await, 202);
    eventually("the worker to start", || {
        (!w.gh.check_runs().is_empty()).then_some(())
    })
    .await;
    let addr = app.addr;
    let started = Instant::now();
    app.stop().await;
    assert!(started.elapsed() < Duration::from_secs(30));
    // Finished and published before stop returned; new deliveries are no longer accepted.
    let runs = w.completed_runs(&head);
    assert_eq!(runs.len(), 1, "{:#?}", w.gh.check_runs());
    assert_eq!(runs[0].conclusion.as_deref(), Some("success"));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after stop"
    );
}

/// `thoth-bot serve` as a child process of this test, against the world's fakes; killed (SIGKILL)
/// when dropped so a failing test leaves no process behind.
struct Serve {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Serve {
    /// Starts the binary with the world's GitHub settings and `env` on top, and waits for it to
    /// listen. Everything else (the lease in particular) is left at its default.
    fn start(w: &World, env: &[(&str, String)]) -> Serve {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};

        let mut cmd = Command::new(env!("CARGO_BIN_EXE_thoth-bot"));
        cmd.arg("serve")
            .env("THOTH_LISTEN", "127.0.0.1:0")
            .env("THOTH_STORE", w.sled())
            .env("THOTH_CACHE_DIR", w.dir.path().join("cache"))
            .env("THOTH_DATA_DIR", w.dir.path().join("data"))
            .env(
                "THOTH_GITHUB_APP_ID",
                support::fake_github::APP_ID.to_string(),
            )
            .env(
                "THOTH_GITHUB_PRIVATE_KEY_PATH",
                w.dir.path().join("app.pem"),
            )
            .env("THOTH_GITHUB_WEBHOOK_SECRETS", SECRET)
            .env("THOTH_GITHUB_API_URL", w.gh.url())
            .env("THOTH_GITHUB_WRITES_PER_MINUTE", "600")
            .env("THOTH_WORKERS", "1")
            .env("RUST_LOG", "warn")
            .env_remove("THOTH_LEASE_SECS")
            .env_remove("THOTH_MAX_ATTEMPTS")
            .env_remove("THOTH_CONFIG")
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let addr: std::net::SocketAddr = loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "serve exited early"
            );
            if let Some(a) = line.trim().strip_prefix("thoth-bot listening on http://") {
                break a.parse().unwrap();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stderr.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Serve { child, addr }
    }

    /// SIGKILL: no shutdown, no release, the lease left to run out.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real binary sets libgit2's socket timeouts at start-up: a git server that goes silent
/// fails the fetch after `THOTH_GIT_TIMEOUT_SECS` (the job is retried) instead of holding the
/// worker for as long as the server stays silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_git_server_times_out_in_the_binary() {
    let w = World::new().await;
    w.repo
        .server()
        .set_upload_pack_delay(Duration::from_secs(30));
    let serve = Serve::start(&w, &[("THOTH_GIT_TIMEOUT_SECS", "1".into())]);
    let addr = serve.addr;
    let head = w.push_pr(21, &[("main.tf", INSECURE_TF)]);
    let started = Instant::now();
    assert_eq!(w.open_pr(addr, "silent-1", 21, &head).await, 202);
    // Serve's Drop kills the binary if this times out.
    support::poll(
        Duration::from_secs(15),
        || async {
            let (_, metrics) = request(addr, "GET", "/metrics", &[], b"").await;
            metrics
                .lines()
                .any(|l| l.starts_with("thoth_jobs_total{outcome=\"retry\"}"))
                .then_some(())
        },
        || "the fetch was not cut off by the 1 s socket timeout".to_string(),
    )
    .await;
    serve.kill();
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(w.completed_runs(&head).is_empty());
}

/// Two replicas of the real binary on one PostgreSQL, default lease: the one running a job is
/// killed with SIGKILL right after a heartbeat renewed the job's lease (the worst moment). The
/// other replica finishes the job, and the pull request's check leaves "in progress", within a
/// minute of the kill, with one check run and one summary comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_replica_job_is_finished_by_another_within_a_minute() {
    use thoth_bot::store::JobState;

    let w = World::new().await;
    let db = postgres_url().await;
    let store = thoth_bot::store::open(&db).await.unwrap();
    // Longer than a heartbeat period, shorter than the git socket timeout.
    w.repo
        .server()
        .set_upload_pack_delay(Duration::from_secs(40));
    let env = |cache: &str| {
        vec![
            ("THOTH_STORE", db.clone()),
            (
                "THOTH_CACHE_DIR",
                w.dir.path().join(cache).display().to_string(),
            ),
        ]
    };
    let a = Serve::start(&w, &env("cache-a"));
    let b = Serve::start(&w, &env("cache-b"));
    let head = w.push_pr(31, &[("main.tf", INSECURE_TF)]);
    assert_eq!(w.open_pr(a.addr, "kill9-1", 31, &head).await, 202);
    // Running, and its lease renewed once by a heartbeat: the kill comes as long after the last
    // renewal as it can.
    let running = || async { store.jobs_by_state(JobState::Running, 10).await.unwrap() };
    let first_lease = support::poll(
        Duration::from_secs(60),
        || async { running().await.into_iter().find_map(|job| job.lease_until) },
        || "the job never ran".to_string(),
    )
    .await;
    let renewed = support::poll(
        Duration::from_secs(60),
        || async {
            running()
                .await
                .into_iter()
                .find(|job| job.lease_until.is_some_and(|until| until > first_lease))
        },
        || "no heartbeat renewed the lease".to_string(),
    )
    .await;
    assert_eq!(renewed.attempts, 1);
    assert_eq!(w.gh.check_runs().len(), 1, "in progress while it runs");
    // Worker ids are `host-PID/N`: kill whichever replica claimed the job.
    let owner = renewed.lease_owner.clone().unwrap();
    let (victim, survivor) = if owner.contains(&format!("-{}/", a.child.id())) {
        (a, b)
    } else {
        (b, a)
    };
    assert!(
        owner.contains(&format!("-{}/", victim.child.id())),
        "{owner}"
    );
    let killed = Instant::now();
    victim.kill();
    w.repo.server().set_upload_pack_delay(Duration::ZERO);

    support::poll(
        Duration::from_secs(60),
        || std::future::ready((!w.completed_runs(&head).is_empty()).then_some(())),
        || {
            format!(
                "the check of a killed replica's job is still not complete 60 s after the kill: {:#?}",
                w.gh.check_runs()
            )
        },
    )
    .await;
    let recovered = killed.elapsed();
    eprintln!("kill -9 to completed check run: {recovered:?}");
    assert!(recovered < Duration::from_secs(60), "{recovered:?}");
    let done = support::poll(
        Duration::from_secs(10),
        || async {
            let done = store.jobs_by_state(JobState::Done, 10).await.unwrap();
            (!done.is_empty()).then_some(done)
        },
        || "never done".to_string(),
    )
    .await;
    assert_eq!(done.len(), 1, "{done:#?}");
    assert_eq!(done[0].attempts, 2);
    // Nothing else is queued or running, so no write can still come: count now.
    for state in [JobState::Queued, JobState::Running] {
        let left = store.jobs_by_state(state, 10).await.unwrap();
        assert!(left.is_empty(), "{state:?}: {left:#?}");
    }
    let runs = w.completed_runs(&head);
    assert_eq!(runs.len(), 1, "{:#?}", w.gh.check_runs());
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(
        w.gh.check_runs().len(),
        1,
        "the in-progress run is reused, not doubled"
    );
    assert_eq!(marked_comments(&w, 31).len(), 1);
    assert_eq!(w.gh.reviews().len(), 1);
    assert_ne!(done[0].lease_owner.as_deref(), Some(owner.as_str()));
    drop(survivor);
}
