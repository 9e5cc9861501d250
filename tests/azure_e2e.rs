//! Azure DevOps end to end: service-hook deliveries (Basic auth) through the real router, a
//! real git repository served over HTTP with PAT auth, a fake Azure DevOps REST API recording
//! every call.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use support::azure_world::*;
use support::fake_azure::BOT_ID;
use support::http::request;
use support::world::{BASE_TF, INSECURE_TF};
use thoth_bot::secret::{SecretString, basic_header};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_then_pushed_then_own_vote_and_redelivery_do_nothing() {
    let w = World::new().await;
    let app = w.start(&w.config()).await;
    let head1 = w.push_pr(7, &[("main.tf", INSECURE_TF)]);

    let created = w.pr_event("git.pullrequest.created", "ado-1", 7, &head1);
    // Azure DevOps may prefix the JSON with a BOM.
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), &created].concat();
    assert_eq!(hook(app.addr, &with_bom).await, 202);
    let status = w.wait_published(7, 1).await;
    assert_eq!(
        (
            status.state.as_str(),
            status.genre.as_str(),
            status.name.as_str()
        ),
        ("failed", "thoth", "policy")
    );
    assert!(
        status
            .target_url
            .as_deref()
            .is_some_and(|u| u.contains("/Infra%20Team/_git/infra/pullrequest/7")),
        "{status:?}"
    );
    let states: Vec<String> = w.ado.statuses().iter().map(|s| s.state.clone()).collect();
    assert_eq!(states, ["pending", "failed"]);
    // A hardcoded password is a blocking pattern: reject.
    assert_eq!(w.ado.vote(REPO, 7), Some(-10));
    let summaries = w.summary_threads(7);
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].status, "active", "blocking: active");
    assert!(summaries[0].comments[0].contains("THOTH-AWS-SG-001"));
    let anchors: Vec<(String, u64)> = w
        .finding_threads(7)
        .into_iter()
        .filter_map(|t| t.anchor)
        .collect();
    assert!(anchors.contains(&("/main.tf".into(), 1)), "{anchors:?}");
    assert!(anchors.contains(&("/main.tf".into(), 11)), "{anchors:?}");
    let findings_after_first = w.finding_threads(7).len();
    // The PAT never leaves the Authorization header.
    assert!(
        w.ado
            .calls()
            .iter()
            .all(|c| !c.path.contains(PAT) && !c.query.contains(PAT))
    );

    // A push: a new status on iteration 2, the same summary thread edited and closed.
    let head2 = w.push_pr(7, &[("main.tf", BASE_TF)]);
    let updated = w.pr_event("git.pullrequest.updated", "ado-2", 7, &head2);
    assert_eq!(hook(app.addr, &updated).await, 202);
    let status2 = w.wait_published(7, 2).await;
    assert_eq!(status2.state, "succeeded");
    assert!(
        status2
            .target_url
            .as_deref()
            .is_some_and(|u| u.ends_with(&format!("discussionId={}", summaries[0].id))),
        "{status2:?}"
    );
    let summaries2 = w.summary_threads(7);
    assert_eq!(summaries2.len(), 1, "one summary thread, edited");
    assert_eq!(summaries2[0].id, summaries[0].id);
    assert_eq!(summaries2[0].status, "closed", "informational: closed");
    assert!(!summaries2[0].comments[0].contains("THOTH-AWS-SG-001"));
    assert_eq!(
        w.finding_threads(7).len(),
        findings_after_first,
        "no new finding threads"
    );
    // Clean now, but the default 300 s cooldown after the rejection downgrades the approval to
    // a comment: the vote is reset, not left at "reject".
    assert_eq!(w.ado.vote(REPO, 7), Some(0));
    assert!(
        summaries2[0].comments[0].contains("cooldown"),
        "{}",
        summaries2[0].comments[0]
    );

    // The update Azure DevOps sends for the bot's own vote (same source commit): nothing.
    let before = w.ado.calls().len();
    let own_vote = w.pr_event("git.pullrequest.updated", "ado-3", 7, &head2);
    assert_eq!(hook(app.addr, &own_vote).await, 202);
    // A redelivery of the first event: deduplicated on the payload id.
    assert_eq!(hook(app.addr, &created).await, 202);
    // The comment event for the bot's own summary thread.
    assert_eq!(
        hook(
            app.addr,
            &w.comment_event("ado-4", 7, &summaries2[0].comments[0])
        )
        .await,
        202
    );
    w.wait_idle().await;
    assert_eq!(
        w.ado.calls().len(),
        before,
        "{:#?}",
        &w.ado.calls()[before..]
    );
    app.stop().await;
    let jobs = all_jobs(&w.dir.path().join("store")).await;
    let mut deliveries: Vec<&str> = jobs.iter().map(|j| j.delivery.as_str()).collect();
    deliveries.sort();
    assert_eq!(
        deliveries,
        ["ado-1", "ado-2"],
        "only the creation and the push"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_findings_on_a_later_push_are_not_posted_again() {
    let w = World::new().await;
    let mut cfg = w.config();
    cfg.azure.max_finding_threads = 1;
    let app = w.start(&cfg).await;
    let head1 = w.push_pr(3, &[("main.tf", INSECURE_TF)]);
    let body = w.pr_event("git.pullrequest.created", "cap-1", 3, &head1);
    assert_eq!(hook(app.addr, &body).await, 202);
    w.wait_published(3, 1).await;
    assert_eq!(w.finding_threads(3).len(), 1, "capped");
    assert!(
        w.summary_threads(3)[0].comments[0].contains("at most 1 finding threads"),
        "the rest is summarised"
    );
    // The same findings, moved down two lines.
    let moved = format!("# moved\n\n{INSECURE_TF}");
    let head2 = w.push_pr(3, &[("main.tf", &moved)]);
    let body = w.pr_event("git.pullrequest.updated", "cap-2", 3, &head2);
    assert_eq!(hook(app.addr, &body).await, 202);
    w.wait_published(3, 2).await;
    assert_eq!(w.finding_threads(3).len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_credentials_are_refused() {
    let w = World::new().await;
    let app = w.start(&w.config()).await;
    let head = w.push_pr(5, &[("main.tf", BASE_TF)]);
    let body = w.pr_event("git.pullrequest.created", "auth-1", 5, &head);
    assert_eq!(
        deliver(app.addr, Some((HOOK_USER, "nope")), &body).await,
        401
    );
    assert_eq!(
        deliver(app.addr, Some(("other", HOOK_PASSWORD)), &body).await,
        401
    );
    assert_eq!(deliver(app.addr, None, &body).await, 401);
    let (status, _) = request(
        app.addr,
        "POST",
        "/webhooks/azure-devops",
        &[("Authorization", "Bearer x")],
        &body,
    )
    .await;
    assert_eq!(status, 401);
    w.wait_idle().await;
    assert!(w.ado.calls().is_empty(), "{:#?}", w.ado.calls());
    // The refused delivery was not recorded: the real one with the same id still counts.
    assert_eq!(hook(app.addr, &body).await, 202);
    w.wait_published(5, 1).await;
    app.stop().await;

    // Header token on top of Basic: both required.
    let mut cfg = w.config();
    cfg.store = format!("sled:{}", w.dir.path().join("store2").display());
    cfg.azure.webhook_token_header = Some("X-Thoth-Token".into());
    cfg.azure.webhook_token = Some(SecretString::from("hook-token"));
    let app = w.start(&cfg).await;
    let auth = basic_header(HOOK_USER, HOOK_PASSWORD);
    let send = |token: Option<&'static str>| {
        let (auth, body) = (auth.clone(), body.clone());
        async move {
            let mut headers = vec![("Authorization", auth.as_str())];
            if let Some(t) = token {
                headers.push(("X-Thoth-Token", t));
            }
            request(app.addr, "POST", "/webhooks/azure-devops", &headers, &body)
                .await
                .0
        }
    };
    assert_eq!(send(None).await, 401);
    assert_eq!(send(Some("wrong")).await, 401);
    let mut test_delivery: Value = serde_json::from_slice(&body).unwrap();
    test_delivery["subscriptionId"] = json!("00000000-0000-0000-0000-000000000000");
    let (status, _) = request(
        app.addr,
        "POST",
        "/webhooks/azure-devops",
        &[
            ("Authorization", auth.as_str()),
            ("X-Thoth-Token", "hook-token"),
        ],
        &serde_json::to_vec(&test_delivery).unwrap(),
    )
    .await;
    assert_eq!(status, 202, "UI test deliveries are acknowledged");
    app.stop().await;

    // Nothing configured: refused, secure by default.
    let mut cfg = w.config();
    cfg.store = format!("sled:{}", w.dir.path().join("store3").display());
    cfg.azure.webhook_user = None;
    cfg.azure.webhook_password = None;
    let app = w.start(&cfg).await;
    assert_eq!(hook(app.addr, &body).await, 401);
    assert_eq!(deliver(app.addr, None, &body).await, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_azure_fixture_goes_through_the_router_without_a_job_or_5xx() {
    let w = World::new().await;
    let app = w.start(&w.config()).await;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures/azure-devops");
    let mut n = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let body = std::fs::read(&f).unwrap();
            let name = f.file_name().unwrap().to_str().unwrap().to_string();
            n += 1;
            let status = hook(app.addr, &body).await;
            if name.starts_with("bad.") {
                assert!(status == 400 || status == 202, "{name} answered {status}");
            } else {
                assert_eq!(status, 202, "{name}");
            }
        }
    }
    assert!(n >= 26, "{n} fixtures");
    // The fixtures are samples, completed pull requests, pushes, merges, comments without a
    // command: no job may have reached the API or the git server.
    w.wait_idle().await;
    app.stop().await;
    let jobs = all_jobs(&w.dir.path().join("store")).await;
    assert!(jobs.is_empty(), "{jobs:#?}");
    assert!(w.ado.calls().is_empty(), "{:#?}", w.ado.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_status_is_retried_after_the_wait() {
    let w = World::new().await;
    w.ado
        .fail_next("POST", "/statuses", 429, &[("retry-after", "1")]);
    let app = w.start(&w.config()).await;
    let head = w.push_pr(9, &[("main.tf", BASE_TF)]);
    let body = w.pr_event("git.pullrequest.created", "rl-1", 9, &head);
    assert_eq!(hook(app.addr, &body).await, 202);
    let status = w.wait_published(9, 1).await;
    assert_eq!(status.state, "succeeded");
    let posts: Vec<_> = w
        .ado
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/statuses"))
        .collect();
    assert_eq!(
        posts.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 201, 201]
    );
    assert!(posts[1].at.duration_since(posts[0].at) >= Duration::from_secs(1));
    assert_eq!(w.ado.vote(REPO, 9), Some(10), "clean and enabled: approved");
    assert!(
        w.ado
            .calls()
            .iter()
            .any(|c| c.path.ends_with(&format!("/reviewers/{BOT_ID}")))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_the_pat_cannot_do_is_an_error_status() {
    let w = World::new().await;
    let app = w.start(&w.config()).await;
    let head = w.push_pr(4, &[("main.tf", BASE_TF)]);
    // The git server now wants another token: the clone is refused for good.
    w.repo
        .server()
        .set_credentials(Some(("thoth-bot", "another-pat")));
    let body = w.pr_event("git.pullrequest.created", "co-1", 4, &head);
    assert_eq!(hook(app.addr, &body).await, 202);
    let status = support::eventually("the error status", || {
        w.final_statuses(4, 1).into_iter().next()
    })
    .await;
    assert_eq!(status.state, "error");
    assert!(status.description.contains("check out"), "{status:?}");
    assert!(!status.description.contains("another-pat") && !status.description.contains(PAT));
    assert_eq!(w.ado.vote(REPO, 4), None, "no vote without an evaluation");
    app.stop().await;
}

/// A delivery whose body names a clean commit and another host is evaluated at what the API
/// says: the source commit with the hardcoded password, cloned from the real repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_body_that_lies_is_evaluated_at_the_apis_commit_and_url() {
    let w = World::new().await;
    let app = w.start(&w.config()).await;
    let head = w.push_pr(7, &[("main.tf", INSECURE_TF)]);
    let mut lie: Value =
        serde_json::from_slice(&w.pr_event("git.pullrequest.created", "lie-1", 7, &head)).unwrap();
    let r = &mut lie["resource"];
    r["lastMergeSourceCommit"]["commitId"] = json!(w.base_sha);
    r["repository"]["remoteUrl"] = json!("https://evil.example/org/Infra%20Team/_git/infra");
    assert_eq!(
        hook(app.addr, &serde_json::to_vec(&lie).unwrap()).await,
        202
    );
    let status = w.wait_published(7, 1).await;
    assert_eq!(status.state, "failed", "the API's head, not the clean base");
    assert_eq!(w.ado.vote(REPO, 7), Some(-10));
    let pull = "/org/Infra Team/_apis/git/repositories/infra/pullRequests/7";
    assert!(
        w.ado
            .calls()
            .iter()
            // Paths are case-insensitive; the crate writes `pullrequests` here.
            .any(|c| c.method == "GET" && c.path.eq_ignore_ascii_case(pull)),
        "the pull request was read from the API: {:#?}",
        w.ado.calls()
    );
    app.stop().await;
}

/// A clone URL off the organization's https host ends the job with an error status naming
/// the reason, and nothing is fetched (the PAT would go with the fetch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_url_off_the_organization_is_refused_without_cloning() {
    let w = World::new().await;
    let app = w.start(&w.config()).await;
    let urls = [
        (7, "https://dev.azure.com/other/Infra%20Team/_git/infra"),
        (8, "git@ssh.dev.azure.com:v3/org/Infra%20Team/infra"),
    ];
    for (n, url) in urls {
        let head = w.push_pr(n, &[("main.tf", BASE_TF)]);
        let event = w.pr_event("git.pullrequest.created", &format!("url-{n}"), n, &head);
        let mut pull: Value = serde_json::from_slice(&event).unwrap();
        pull["resource"]["repository"]["remoteUrl"] = json!(url);
        w.ado.set_pull(REPO, n, pull["resource"].clone());
        assert_eq!(hook(app.addr, &event).await, 202);
    }
    let errors = support::eventually("an error status for each refused URL", || {
        let errors: Vec<_> = w
            .ado
            .statuses()
            .into_iter()
            .filter(|s| s.state == "error")
            .collect();
        (errors.len() == urls.len()).then_some(errors)
    })
    .await;
    for (n, url) in urls {
        let status = errors.iter().find(|s| s.pr == n).expect("an error status");
        assert!(
            status.description.contains("refused") && status.description.contains(url),
            "{status:?}"
        );
        assert!(w.final_states(n).iter().all(|s| s == "error"));
    }
    assert!(
        w.repo.server().requests().is_empty(),
        "nothing was fetched: {:#?}",
        w.repo.server().requests()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_target_url_opens_the_details_page() {
    let w = World::new().await;
    let app = w.start_linked(&w.config()).await;
    let head = w.push_pr(7, &[("main.tf", INSECURE_TF)]);
    let created = w.pr_event("git.pullrequest.created", "ado-d1", 7, &head);
    assert_eq!(hook(app.addr, &created).await, 202);
    let status = w.wait_published(7, 1).await;
    w.wait_idle().await;
    let url = status.target_url.clone().unwrap_or_default();
    let prefix = format!("http://{}/runs/", app.addr);
    assert!(url.starts_with(&prefix), "{status:?}");
    let (code, page) = support::http::request(
        app.addr,
        "GET",
        &url[prefix.len() - "/runs/".len()..],
        &[],
        b"",
    )
    .await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("THOTH-AWS-SG-001"), "{page}");
    // Files link to the evaluated commit on Azure DevOps.
    assert!(page.contains(&format!("version=GC{head}")), "{page}");
    let summaries = w.summary_threads(7);
    assert!(
        summaries[0].comments[0].contains(&url),
        "{:?}",
        summaries[0]
    );
    app.stop().await;
}

/// The client over the fake alone: a POST answered with a 5xx is sent once (the write may have
/// landed), a GET is repeated, a rate-limited POST is waited out and applied once, and a wait
/// longer than allowed becomes `RateLimited` for the job to be rescheduled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_is_never_repeated_after_a_5xx_and_a_get_is() {
    use thoth_bot::forge::ForgeError;
    use thoth_bot::forge::azure::{AzureClient, AzureConfig, StatusState};
    use thoth_bot::ids::{CommitSha, PrNumber, RepoId};

    let ado = support::fake_azure::FakeAzure::start(PAT).await;
    let mut cfg = AzureConfig::new(ORG_URL, SecretString::from(PAT));
    cfg.api_url = ado.url().to_string();
    cfg.identity_url = cfg.api_url.clone();
    cfg.base_delay = Duration::from_millis(5);
    cfg.max_rate_limit_wait = Duration::from_secs(2);
    let client = AzureClient::new(cfg).unwrap();
    let repo: RepoId = format!("org/{REPO}").parse().unwrap();
    let pr = PrNumber(3);
    let head: CommitSha = "ab".repeat(20).parse().unwrap();
    ado.push_iteration(REPO, 3, head.as_str());
    let sent = |method: &str, tail: &str| -> Vec<u16> {
        ado.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path.ends_with(tail))
            .map(|c| c.status)
            .collect()
    };

    for code in [500, 502, 503, 504] {
        ado.fail_next("POST", "/threads", code, &[]);
        let err = client
            .create_thread(&repo, pr, "finding", "active", None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ForgeError::Http { status, .. } if status == code),
            "{err:?}"
        );
    }
    assert_eq!(sent("POST", "/threads"), [500, 502, 503, 504]);
    ado.fail_next("POST", "/statuses", 503, &[]);
    let err = client
        .post_status(&repo, pr, Some(1), StatusState::Pending, "x", "https://x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Http { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(sent("POST", "/statuses"), [503]);
    assert!(ado.threads().is_empty() && ado.statuses().is_empty());

    ado.fail_next("GET", "/iterations", 503, &[]);
    ado.fail_next("GET", "/iterations", 500, &[]);
    assert_eq!(
        client.iteration_for(&repo, pr, &head).await.unwrap(),
        Some(1)
    );
    assert_eq!(sent("GET", "/iterations"), [503, 500, 200]);

    ado.fail_next("POST", "/threads", 429, &[("retry-after", "1")]);
    let id = client
        .create_thread(&repo, pr, "summary", "active", None)
        .await
        .unwrap();
    let posts = sent("POST", "/threads");
    assert_eq!(posts[4..], [429, 200]);
    let calls = ado.calls();
    let at = |status| {
        calls
            .iter()
            .rev()
            .find(|c| c.path.ends_with("/threads") && c.status == status)
            .unwrap()
            .at
    };
    assert!(
        at(200) - at(429) >= Duration::from_millis(900),
        "Retry-After waited"
    );
    assert_eq!(ado.threads().len(), 1);
    assert_eq!(ado.threads()[0].id, id);

    ado.fail_next("POST", "/threads", 429, &[("retry-after", "3600")]);
    let err = client
        .create_thread(&repo, pr, "later", "active", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::RateLimited { retry_after } if retry_after == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert_eq!(ado.threads().len(), 1);
}
