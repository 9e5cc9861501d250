//! The GitHub client against the fake GitHub API: App auth and token caching, check runs with
//! batched annotations, reviews, the one summary comment, retries, the write budget, and the
//! rendering of a publish plan.

mod support;

use std::time::{Duration, Instant};

use support::fake_github::{self, APP_ID, Author, FakeGithub, INSTALLATION_ID, PullSpec};
use thoth_bot::decision::{self, DecisionConfig, DecisionKind, Downgrade};
use thoth_bot::event::PullState;
use thoth_bot::finding::{CheckReport, Finding, Gate, GateReport, Level, Severity};
use thoth_bot::forge::github::{
    GithubApp, GithubConfig, InstallationClient, Permission, Reaction, publish,
};
use thoth_bot::forge::{
    Annotation, AnnotationLevel, CheckConclusion, ForgeError, PlanContext, ReviewEvent,
    SUMMARY_MARKER, plan_from,
};
use thoth_bot::ids::{CommitSha, PrNumber, RepoId};

const REPO: &str = "octo/infra";
const PR: u64 = 7;

fn repo() -> RepoId {
    REPO.parse().unwrap()
}

fn sha() -> CommitSha {
    "0123456789abcdef0123456789abcdef01234567".parse().unwrap()
}

/// A config for the fake: fast backoff and a budget that only the budget test tightens.
fn config(fake: &FakeGithub) -> GithubConfig {
    let mut cfg = GithubConfig::new(APP_ID, fake_github::TEST_KEY_PEM);
    cfg.api_url = fake.url().to_owned();
    cfg.retry_base_delay = Duration::from_millis(20);
    cfg.writes_per_minute = 60_000;
    cfg.write_burst = 1_000;
    cfg
}

async fn setup_with(
    cfg: impl FnOnce(&mut GithubConfig),
) -> (FakeGithub, GithubApp, InstallationClient) {
    let fake = FakeGithub::start().await;
    let mut c = config(&fake);
    cfg(&mut c);
    let app = GithubApp::new(c).expect("app");
    let client = app
        .installation(thoth_bot::ids::InstallationId(INSTALLATION_ID))
        .expect("installation client");
    (fake, app, client)
}

async fn setup() -> (FakeGithub, GithubApp, InstallationClient) {
    setup_with(|_| {}).await
}

fn annotation(i: u32) -> Annotation {
    Annotation {
        path: format!("modules/m{i}/main.tf"),
        start_line: i + 1,
        end_line: i + 1,
        annotation_level: AnnotationLevel::Warning,
        title: format!("rule-{i}"),
        message: format!("finding {i}"),
    }
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn installation_token_is_fetched_once_for_many_calls() {
    let (fake, app, client) = setup().await;
    fake.add_pull(REPO, PR, PullSpec::default());
    fake.set_permission(REPO, "alice", "write");

    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    client
        .collaborator_permission(&repo(), "alice")
        .await
        .unwrap();
    client
        .post_comment(&repo(), PrNumber(PR), "hello")
        .await
        .unwrap();
    let token = client.installation_token().await.unwrap();
    assert_eq!(client.installation_token().await.unwrap(), token);
    // Asking the App again gives the same client: same token cache.
    let again = app
        .installation(thoth_bot::ids::InstallationId(INSTALLATION_ID))
        .unwrap();
    again.pull_request(&repo(), PrNumber(PR)).await.unwrap();

    assert_eq!(fake.tokens_issued(), 1);
    let token_calls: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.path.ends_with("/access_tokens"))
        .collect();
    assert_eq!(token_calls.len(), 1);
    assert_eq!(
        token_calls[0].path,
        format!("/app/installations/{INSTALLATION_ID}/access_tokens")
    );
    assert!(
        fake.calls().iter().all(|c| c.status < 400),
        "{:?}",
        fake.calls()
    );

    // Secrets stay out of Debug output.
    assert!(!format!("{client:?} {app:?}").contains(&token));
    let cfg = config(&fake);
    assert!(!format!("{cfg:?}").contains("PRIVATE KEY"));
}

#[tokio::test]
async fn installation_token_is_refreshed_after_expiry() {
    let (fake, _app, client) = setup().await;
    fake.add_pull(REPO, PR, PullSpec::default());
    // octocrab renews a token with less than 30 s left: one issued with 29 s to live is
    // already due for renewal at the next call, so each call gets a fresh one, without the
    // test waiting for a clock.
    fake.set_token_ttl(Duration::from_secs(29));
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    assert_eq!(fake.tokens_issued(), 1);
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    assert_eq!(fake.tokens_issued(), 2);

    // A token with time left is reused.
    fake.set_token_ttl(Duration::from_secs(3600));
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    assert_eq!(fake.tokens_issued(), 3);
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    assert_eq!(fake.tokens_issued(), 3);
    assert!(fake.calls().iter().all(|c| c.status < 400));
}

#[tokio::test]
async fn installation_token_is_refreshed_after_revocation() {
    let (fake, _app, client) = setup().await;
    fake.add_pull(REPO, PR, PullSpec::default());
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    fake.revoke_tokens();
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    assert_eq!(fake.tokens_issued(), 2);
    let statuses: Vec<u16> = fake.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [201, 200, 401, 201, 200]);
}

#[tokio::test]
async fn a_wrong_app_id_is_an_auth_error() {
    let (fake, _app, _) = setup().await;
    let mut cfg = config(&fake);
    cfg.app_id = APP_ID + 1;
    let client = GithubApp::new(cfg)
        .unwrap()
        .installation(thoth_bot::ids::InstallationId(INSTALLATION_ID))
        .unwrap();
    let err = client
        .pull_request(&repo(), PrNumber(PR))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Auth(_)), "{err:?}");
    assert_eq!(fake.tokens_issued(), 0);
}

#[tokio::test]
async fn enterprise_server_paths_keep_the_api_prefix() {
    let (fake, _app, _) = setup().await;
    fake.add_pull(REPO, PR, PullSpec::default());
    let mut cfg = config(&fake);
    cfg.api_url = format!("{}/api/v3/", fake.url());
    let client = GithubApp::new(cfg)
        .unwrap()
        .installation(thoth_bot::ids::InstallationId(INSTALLATION_ID))
        .unwrap();
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    let paths: Vec<String> = fake.calls().into_iter().map(|c| c.path).collect();
    assert_eq!(
        paths,
        [
            format!("/api/v3/app/installations/{INSTALLATION_ID}/access_tokens"),
            format!("/api/v3/repos/{REPO}/pulls/{PR}"),
        ]
    );
}

#[test]
fn a_bad_key_is_refused_up_front() {
    let err = GithubApp::new(GithubConfig::new(1, "not a key")).unwrap_err();
    assert!(format!("{err:#}").contains("private key"), "{err:#}");
}

// ---------------------------------------------------------------- check runs, reviews

#[tokio::test]
async fn check_run_annotations_go_out_fifty_per_request() {
    let (fake, _app, client) = setup().await;
    let id = client.create_check_run(&repo(), &sha()).await.unwrap();
    let runs = fake.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].name.as_str(), runs[0].status.as_str()),
        ("thoth", "in_progress")
    );
    assert_eq!(runs[0].head_sha, sha().as_str());

    let annotations: Vec<Annotation> = (0..120).map(annotation).collect();
    client
        .complete_check_run(
            &repo(),
            id,
            CheckConclusion::Failure,
            "3 blocking",
            "## summary",
            &annotations,
        )
        .await
        .unwrap();

    let patches: Vec<_> = fake
        .writes()
        .into_iter()
        .filter(|c| c.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 3);
    let sizes: Vec<usize> = patches
        .iter()
        .map(|c| c.body["output"]["annotations"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(patches[0].body["conclusion"], "failure");
    assert!(
        patches[1..]
            .iter()
            .all(|c| c.body.get("conclusion").is_none())
    );
    assert!(
        patches
            .iter()
            .all(|c| c.path == format!("/repos/{REPO}/check-runs/{id}"))
    );

    let run = &fake.check_runs()[0];
    assert_eq!(run.annotations.len(), 120);
    assert_eq!(run.annotations[119]["path"], "modules/m119/main.tf");
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(run.status, "completed");
    assert_eq!(run.summary.as_deref(), Some("## summary"));
}

#[tokio::test]
async fn review_is_posted_with_its_event() {
    let (fake, _app, client) = setup().await;
    for event in [
        ReviewEvent::RequestChanges,
        ReviewEvent::Approve,
        ReviewEvent::Comment,
    ] {
        client
            .create_review(&repo(), PrNumber(PR), &sha(), event, "because")
            .await
            .unwrap();
    }
    let reviews = fake.reviews();
    let events: Vec<&str> = reviews.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(events, ["REQUEST_CHANGES", "APPROVE", "COMMENT"]);
    assert!(
        reviews
            .iter()
            .all(|r| r.pr == PR && r.commit_id == sha().as_str() && r.body == "because")
    );
}

// ---------------------------------------------------------------- summary comment

fn marked(fake: &FakeGithub) -> Vec<fake_github::Comment> {
    fake.comments(REPO, PR)
        .into_iter()
        .filter(|c| c.body.contains(SUMMARY_MARKER))
        .collect()
}

#[tokio::test]
async fn summary_comment_is_created_once_then_edited() {
    let (fake, _app, client) = setup().await;
    let pr = PrNumber(PR);
    let id = client
        .upsert_summary_comment(&repo(), pr, None, "first")
        .await
        .unwrap();
    let comments = fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, format!("{SUMMARY_MARKER}\nfirst"));

    let again = client
        .upsert_summary_comment(&repo(), pr, Some(id), "second")
        .await
        .unwrap();
    assert_eq!(again, id);
    let last = fake.writes().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.clone()),
        ("PATCH", format!("/repos/{REPO}/issues/comments/{id}"))
    );

    // Without the stored id, the marker finds it.
    let third = client
        .upsert_summary_comment(&repo(), pr, None, "third")
        .await
        .unwrap();
    assert_eq!(third, id);
    let comments = fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.ends_with("third"));
    let posts = fake.writes().iter().filter(|c| c.method == "POST").count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn an_existing_marked_comment_by_the_app_is_edited_not_duplicated() {
    let (fake, _app, client) = setup().await;
    let pr = PrNumber(PR);
    // A person quoting the marker and another App using it are not ours.
    fake.add_comment(
        REPO,
        PR,
        &format!("quoting {SUMMARY_MARKER}"),
        Author::User("bob".into()),
    );
    fake.add_comment(
        REPO,
        PR,
        SUMMARY_MARKER,
        Author::OtherApp("other[bot]".into()),
    );
    for i in 0..150 {
        fake.add_comment(
            REPO,
            PR,
            &format!("chatter {i}"),
            Author::User("carol".into()),
        );
    }
    let ours = fake.add_comment(REPO, PR, &format!("{SUMMARY_MARKER}\nold"), Author::App);

    let id = client
        .upsert_summary_comment(&repo(), pr, None, &format!("{SUMMARY_MARKER}\nnew"))
        .await
        .unwrap();
    assert_eq!(id, ours);
    let by_app: Vec<_> = marked(&fake)
        .into_iter()
        .filter(|c| c.author == Author::App)
        .collect();
    assert_eq!(by_app.len(), 1);
    assert_eq!(by_app[0].body, format!("{SUMMARY_MARKER}\nnew"));
    // Found on the second page of 100.
    let pages: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.method == "GET")
        .map(|c| c.query.clone())
        .collect();
    assert_eq!(pages, ["per_page=100&page=1", "per_page=100&page=2"]);
}

#[tokio::test]
async fn a_deleted_stored_comment_falls_through_to_search_then_post() {
    let (fake, _app, client) = setup().await;
    let id = client
        .upsert_summary_comment(&repo(), PrNumber(PR), Some(999_999), "body")
        .await
        .unwrap();
    assert_ne!(id, 999_999);
    assert_eq!(marked(&fake).len(), 1);
    let trail: Vec<(String, u16)> = fake
        .writes()
        .iter()
        .map(|c| (c.method.clone(), c.status))
        .collect();
    assert_eq!(trail, [("PATCH".to_owned(), 404), ("POST".to_owned(), 201)]);
}

#[tokio::test]
async fn a_comment_post_that_landed_behind_a_504_is_not_posted_again() {
    let (fake, _app, client) = setup().await;
    let path = format!("/repos/{REPO}/issues/{PR}/comments");
    fake.fail_next_after_apply("POST", &path, 504);
    let id = client
        .upsert_summary_comment(&repo(), PrNumber(PR), None, "body")
        .await
        .unwrap();
    let comments = fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, id);
    assert_eq!(
        fake.writes().iter().filter(|c| c.method == "POST").count(),
        1
    );
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn a_rate_limited_write_is_retried_after_retry_after() {
    let (fake, _app, client) = setup().await;
    let path = format!("/repos/{REPO}/issues/{PR}/comments");
    fake.fail_next("POST", &path, 429, &[("retry-after", "1")]);
    let started = Instant::now();
    let id = client
        .post_comment(&repo(), PrNumber(PR), "hi")
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));

    let comments = fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, id);
    let writes = fake.writes();
    assert_eq!(
        writes.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 201]
    );
    assert!(writes[1].at.duration_since(writes[0].at) >= Duration::from_millis(950));
}

#[tokio::test]
async fn a_primary_rate_limit_waits_for_the_reset() {
    let (fake, _app, client) = setup().await;
    let reset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    fake.fail_next(
        "POST",
        "/repos/",
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ],
    );
    client.create_check_run(&repo(), &sha()).await.unwrap();
    assert_eq!(fake.check_runs().len(), 1);
    assert_eq!(
        fake.writes().iter().map(|c| c.status).collect::<Vec<_>>(),
        [403, 201]
    );
}

#[tokio::test]
async fn rate_limits_that_outlast_the_budget_surface_as_rate_limited() {
    let (fake, _app, client) = setup_with(|c| c.max_retries = 1).await;
    // Longer than the 15-minute cap: not slept, returned at once.
    fake.fail_next("POST", "/repos/", 429, &[("retry-after", "3600")]);
    let started = Instant::now();
    let err = client
        .post_comment(&repo(), PrNumber(PR), "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::RateLimited { retry_after } if retry_after == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Retries exhausted.
    fake.fail_next("POST", "/repos/", 429, &[("retry-after", "0")]);
    fake.fail_next("POST", "/repos/", 429, &[("retry-after", "0")]);
    let err = client
        .post_comment(&repo(), PrNumber(PR), "x")
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::RateLimited { .. }), "{err:?}");
    assert!(fake.comments(REPO, PR).is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_not_for_ambiguous_creates() {
    let (fake, _app, client) = setup().await;
    fake.add_pull(REPO, PR, PullSpec::default());
    let pull = format!("/repos/{REPO}/pulls/{PR}");
    fake.fail_next("GET", &pull, 500, &[]);
    fake.fail_next("GET", &pull, 502, &[]);
    client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    let statuses: Vec<u16> = fake
        .calls()
        .iter()
        .filter(|c| c.path == pull)
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [500, 502, 200]);

    // A 500 on a create may have been applied: not retried.
    fake.fail_next("POST", "/repos/", 500, &[]);
    let err = client
        .post_comment(&repo(), PrNumber(PR), "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Http { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(fake.writes().len(), 1);
    // A 503 was not applied: retried.
    fake.fail_next("POST", "/repos/", 503, &[]);
    client
        .post_comment(&repo(), PrNumber(PR), "y")
        .await
        .unwrap();
    assert_eq!(fake.comments(REPO, PR).len(), 1);
}

#[tokio::test]
async fn not_found_is_not_found() {
    let (fake, _app, client) = setup().await;
    let err = client
        .pull_request(&repo(), PrNumber(404))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::NotFound(_)), "{err:?}");
    assert_eq!(
        fake.calls().iter().filter(|c| c.status == 404).count(),
        1,
        "not retried"
    );
}

// ---------------------------------------------------------------- write budget

#[tokio::test]
async fn writes_over_budget_are_delayed_not_dropped() {
    // 120 a minute = one every 500 ms, no burst beyond the first.
    let (fake, _app, client) = setup_with(|c| {
        c.writes_per_minute = 120;
        c.write_burst = 1;
    })
    .await;
    let started = Instant::now();
    for i in 0..4 {
        client
            .post_comment(&repo(), PrNumber(PR), &format!("c{i}"))
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1_400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.comments(REPO, PR).len(), 4);
    // The budget releases write i no earlier than i x 500 ms after the first: a lower bound
    // from the first write, which a slow machine cannot break (the gap between two arrivals
    // can shrink when the earlier request was the one delayed).
    let writes = fake.writes();
    for (i, w) in writes.iter().enumerate() {
        let since_first = w.at.duration_since(writes[0].at);
        assert!(
            since_first >= Duration::from_millis((500 * i as u64).saturating_sub(50)),
            "write {i} arrived {since_first:?} after the first"
        );
    }
}

#[tokio::test]
async fn reads_are_not_budgeted() {
    // One write a minute: after the first write the bucket stays empty for a minute, so five
    // budgeted reads would take five minutes.
    let (fake, _app, client) = setup_with(|c| {
        c.writes_per_minute = 1;
        c.write_burst = 1;
    })
    .await;
    client
        .post_comment(&repo(), PrNumber(PR), "the one write")
        .await
        .unwrap();
    fake.add_pull(REPO, PR, PullSpec::default());
    let started = Instant::now();
    for _ in 0..5 {
        client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------- other calls

#[tokio::test]
async fn permissions_reactions_and_pull_requests() {
    let (fake, _app, client) = setup().await;
    for (login, role) in [
        ("ann", "admin"),
        ("max", "maintain"),
        ("tri", "triage"),
        ("sec", "security-reviewer"),
        ("dependabot[bot]", "write"),
    ] {
        fake.set_permission(REPO, login, role);
    }
    let perm = |login: &'static str| {
        let client = client.clone();
        async move {
            client
                .collaborator_permission(&repo(), login)
                .await
                .unwrap()
        }
    };
    assert_eq!(perm("ann").await, Permission::Admin);
    assert_eq!(perm("max").await, Permission::Maintain);
    assert_eq!(perm("tri").await, Permission::Triage);
    assert_eq!(perm("sec").await, Permission::Read);
    assert_eq!(perm("dependabot[bot]").await, Permission::Write);
    assert_eq!(perm("nobody").await, Permission::None);

    let comment = fake.add_comment(REPO, PR, "/thoth rerun", Author::User("ann".into()));
    client
        .add_reaction(&repo(), comment, Reaction::Eyes)
        .await
        .unwrap();
    client
        .add_reaction(&repo(), comment, Reaction::Eyes)
        .await
        .unwrap();
    client
        .add_reaction(&repo(), comment, Reaction::PlusOne)
        .await
        .unwrap();
    let contents: Vec<String> = fake.reactions().into_iter().map(|r| r.content).collect();
    assert_eq!(contents, ["eyes", "+1"]);

    fake.add_pull(
        REPO,
        PR,
        PullSpec {
            labels: vec!["hotfix".into()],
            draft: true,
            author: "bob".into(),
            ..PullSpec::default()
        },
    );
    let pull = client.pull_request(&repo(), PrNumber(PR)).await.unwrap();
    assert_eq!(pull.head_sha.as_str(), "a".repeat(40));
    assert_eq!(pull.base_sha.unwrap().as_str(), "b".repeat(40));
    assert_eq!(
        (pull.head_ref.as_deref(), pull.base_ref.as_deref()),
        (Some("feature"), Some("main"))
    );
    assert_eq!(pull.author.as_deref(), Some("bob"));
    assert_eq!(pull.labels, ["hotfix"]);
    assert!(pull.draft);
    assert_eq!(pull.state, PullState::Open);
    fake.add_pull(
        REPO,
        8,
        PullSpec {
            state: "closed".into(),
            merged: true,
            ..PullSpec::default()
        },
    );
    assert_eq!(
        client
            .pull_request(&repo(), PrNumber(8))
            .await
            .unwrap()
            .state,
        PullState::Merged
    );
}

// ---------------------------------------------------------------- plan and publish

fn finding(gate: Gate, level: Level, file: Option<(&str, u32)>) -> Finding {
    let f = Finding::new(
        gate,
        format!("{gate}-rule"),
        level,
        Severity::Medium,
        format!("{level} here"),
    );
    match file {
        Some((path, line)) => f.at(path, Some(line)),
        None => f,
    }
}

fn report(findings: Vec<Finding>) -> CheckReport {
    let gates = Gate::ALL
        .iter()
        .map(|g| {
            GateReport::new(
                *g,
                3,
                findings.iter().filter(|f| f.gate == *g).cloned().collect(),
            )
        })
        .collect();
    CheckReport::new(gates)
}

#[test]
fn plan_fails_the_check_on_blocking_findings_and_maps_levels() {
    let r = report(vec![
        finding(Gate::Rego, Level::Failure, Some(("main.tf", 3))),
        finding(Gate::Structure, Level::Error, Some(("README.md", 1))),
        finding(Gate::Rego, Level::Warning, Some(("vars.tf", 9))),
        finding(Gate::Drift, Level::Info, Some(("plan.json", 2))),
        finding(Gate::Structure, Level::Failure, None),
        finding(Gate::Rego, Level::Failure, Some(("no-line.tf", 0))).at("no-line.tf", None),
    ]);
    let d = decision::evaluate(&r, &DecisionConfig::default()).downgraded(Downgrade::Disabled);
    let ctx = PlanContext {
        head_sha: Some(sha()),
        notes: vec![],
        overridden: None,
        ai: None,
        ..PlanContext::default()
    };
    let plan = plan_from(&r, &d, &ctx);

    assert_eq!(plan.conclusion, CheckConclusion::Failure);
    assert!(plan.comment_body.starts_with(SUMMARY_MARKER));
    assert!(plan.summary_markdown.contains("thoth: blocked"));
    assert!(
        plan.summary_markdown.contains("downgraded"),
        "{}",
        plan.summary_markdown
    );
    assert!(plan.summary_markdown.contains("`0123456789ab`"));
    // Only findings with file and line are annotations.
    let levels: Vec<(&str, AnnotationLevel)> = plan
        .annotations
        .iter()
        .map(|a| (a.path.as_str(), a.annotation_level))
        .collect();
    assert_eq!(
        levels,
        [
            ("README.md", AnnotationLevel::Failure),
            ("main.tf", AnnotationLevel::Failure),
            ("vars.tf", AnnotationLevel::Warning),
            ("plan.json", AnnotationLevel::Notice),
        ]
    );
    // A downgraded decision is a comment: no review, the summary comment says it.
    assert_eq!(d.kind, DecisionKind::Comment);
    assert_eq!(plan.review, None);
}

#[test]
fn plan_passes_with_only_warnings() {
    let r = report(vec![finding(
        Gate::Rego,
        Level::Warning,
        Some(("main.tf", 1)),
    )]);
    let mut d = decision::evaluate(&r, &DecisionConfig::default());
    d.kind = DecisionKind::Approve;
    let plan = plan_from(&r, &d, &PlanContext::default());
    assert_eq!(plan.conclusion, CheckConclusion::Success);
    assert!(plan.title.contains("1 warning"), "{}", plan.title);
    assert!(plan.comment_body.contains(SUMMARY_MARKER));
    assert!(plan.summary_markdown.contains("thoth: passed"));
    assert!(matches!(plan.review, Some((ReviewEvent::Approve, _))));

    d.kind = DecisionKind::Reject;
    let plan = plan_from(&r, &d, &PlanContext::default());
    assert!(matches!(
        plan.review,
        Some((ReviewEvent::RequestChanges, _))
    ));
}

#[test]
fn plan_table_is_capped() {
    let findings = (0..130)
        .map(|i| finding(Gate::Rego, Level::Warning, Some(("f.tf", i + 1))))
        .collect();
    let r = report(findings);
    let d = decision::evaluate(&r, &DecisionConfig::default());
    let plan = plan_from(&r, &d, &PlanContext::default());
    assert!(
        plan.summary_markdown.contains("and 30 more finding(s)"),
        "{}",
        plan.summary_markdown
    );
    assert_eq!(plan.annotations.len(), 130);
}

#[tokio::test]
async fn publish_completes_the_check_reviews_and_keeps_one_comment() {
    let (fake, _app, client) = setup().await;
    let r = report(vec![finding(
        Gate::Rego,
        Level::Failure,
        Some(("main.tf", 3)),
    )]);
    let mut d = decision::evaluate(&r, &DecisionConfig::default());
    d.kind = DecisionKind::RequestChanges;
    let plan = plan_from(
        &r,
        &d,
        &PlanContext {
            head_sha: Some(sha()),
            notes: vec![],
            overridden: None,
            ai: None,
            ..PlanContext::default()
        },
    );

    let run = client.create_check_run(&repo(), &sha()).await.unwrap();
    let ids = publish(
        &client,
        &repo(),
        PrNumber(PR),
        &sha(),
        Some(run),
        &plan,
        None,
    )
    .await
    .unwrap();
    assert_eq!(ids.check_run_id, run);
    let order: Vec<String> = fake
        .writes()
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(
        order,
        [
            format!("POST /repos/{REPO}/check-runs"),
            format!("PATCH /repos/{REPO}/check-runs/{run}"),
            format!("POST /repos/{REPO}/pulls/{PR}/reviews"),
            format!("POST /repos/{REPO}/issues/{PR}/comments"),
        ]
    );
    assert_eq!(fake.check_runs()[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(fake.check_runs()[0].annotations.len(), 1);
    assert_eq!(fake.reviews()[0].event, "REQUEST_CHANGES");

    // The next push: a new check run (created by publish), the same comment.
    let again = publish(
        &client,
        &repo(),
        PrNumber(PR),
        &sha(),
        None,
        &plan,
        Some(ids.comment_id),
    )
    .await
    .unwrap();
    assert_eq!(again.comment_id, ids.comment_id);
    assert_ne!(again.check_run_id, ids.check_run_id);
    assert_eq!(fake.comments(REPO, PR).len(), 1);
    assert_eq!(fake.comments(REPO, PR)[0].body, plan.comment_body);
    // The same review on the same commit is not posted twice.
    assert_eq!(fake.reviews().len(), 1, "{:#?}", fake.reviews());
    assert_eq!(again.review_id, ids.review_id);
}

#[tokio::test]
async fn a_refused_review_does_not_stop_the_summary_comment() {
    let (fake, _app, client) = setup().await;
    let r = report(vec![]);
    let mut d = decision::evaluate(&r, &DecisionConfig::default());
    d.kind = DecisionKind::Approve;
    let plan = plan_from(&r, &d, &PlanContext::default());
    assert_eq!(plan.conclusion, CheckConclusion::Success);
    fake.fail_next(
        "POST",
        &format!("/repos/{REPO}/pulls/{PR}/reviews"),
        422,
        &[],
    );
    let ids = publish(&client, &repo(), PrNumber(PR), &sha(), None, &plan, None)
        .await
        .unwrap();
    assert_eq!(ids.review_id, None);
    assert!(fake.reviews().is_empty());
    assert_eq!(fake.check_runs()[0].conclusion.as_deref(), Some("success"));
    assert_eq!(marked(&fake).len(), 1);
}

#[test]
fn plan_summary_names_the_rego_namespaces_that_ran() {
    let mut r = report(vec![finding(
        Gate::Rego,
        Level::Warning,
        Some(("main.tf", 1)),
    )]);
    let d = decision::evaluate(&r, &DecisionConfig::default());
    let plan = plan_from(&r, &d, &PlanContext::default());
    assert!(!plan.summary_markdown.contains("namespaces"));
    for g in &mut r.gates {
        if g.gate == Gate::Rego {
            g.namespaces = vec!["main".into(), "terraform.s3".into()];
        }
    }
    let plan = plan_from(&r, &d, &PlanContext::default());
    assert!(
        plan.summary_markdown
            .contains("Rego namespaces evaluated: `main`, `terraform.s3`"),
        "{}",
        plan.summary_markdown
    );
}
