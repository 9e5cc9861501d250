//! The push API end to end: plans and drift reports pushed by a pipeline through the real
//! router, with tokens made by `thoth-bot push-token`, judged by the worker against the fake
//! GitHub and a real git repository.

mod support;

use std::time::Duration;

use support::http::request;
use support::world::*;
use thoth_bot::store::Store;

/// Fires on a plan's `resource_changes`, so only a pushed plan can trigger it.
const PLAN_REGO: &str = r#"package plan

import rego.v1

deny contains msg if {
	some rc in input.resource_changes
	rc.type == "aws_s3_bucket"
	"create" in rc.change.actions
	msg := sprintf("plan creates bucket %s", [rc.address])
}
"#;

const DRIFT_POLICY: &str = r#"require_plan: true
rules:
  - resource: "aws_security_group.*"
    action: block_deploy
"#;

const PLAN: &str = r#"{"format_version":"1.2","terraform_version":"1.9.0",
 "resource_changes":[{"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket",
   "name":"logs","change":{"actions":["create"],"before":null,"after":{"bucket":"logs"}}}]}"#;

const DRIFT: &str = r#"{"format_version":"1.2","terraform_version":"1.9.0",
 "resource_drift":[{"address":"aws_security_group.web","mode":"managed",
   "type":"aws_security_group","name":"web","change":{"actions":["update"],
   "before":{"description":"web"},"after":{"description":"changed by hand"}}}]}"#;

/// `thoth-bot push-token create` against `store`: the printed token.
fn create_token(store: &str, scope: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-bot"))
        .args(["push-token", "create", "--store", store])
        .args(scope)
        .output()
        .expect("run thoth-bot");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let token = stdout.lines().next().expect("a token line").to_string();
    assert!(token.starts_with("thp_"), "{stdout}");
    token
}

async fn push(addr: std::net::SocketAddr, path: &str, token: &str, body: &str) -> (u16, String) {
    let auth = format!("Bearer {token}");
    request(
        addr,
        "POST",
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await
}

async fn stored(store: &dyn Store, head: &str) -> usize {
    let repo = REPO.parse().unwrap();
    store
        .pushed_reports(&repo, &head.parse().unwrap())
        .await
        .unwrap()
        .len()
}

/// Waits for a completed check run on `head` besides the first `seen` ones.
async fn wait_next_run(w: &World, head: &str, seen: usize) -> support::fake_github::CheckRun {
    let run = support::poll(
        Duration::from_secs(90),
        || std::future::ready(w.completed_runs(head).into_iter().nth(seen)),
        || format!("no completed check run #{} on {head}", seen + 1),
    )
    .await;
    w.wait_idle_with_dead().await;
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_plan_reevaluates_the_head_and_drift_is_used_next_time() {
    let mut w = World::new().await;
    w.base_sha = w.repo.commit(
        &[
            ("policy/plan.rego", PLAN_REGO),
            (".driftpolicy", DRIFT_POLICY),
        ],
        "plan policy",
    );
    let cfg = w.config(&w.sled(), 1);
    let token = create_token(&cfg.store, &["--repo", REPO]);
    let other = create_token(&cfg.store, &["--repo", "acme/other"]);
    let owner = create_token(&cfg.store, &["--owner", "acme"]);
    let app = w.start(&cfg).await;
    let head = w.push_pr(7, &[("README.md", "# infra\n\nchanged\n")]);
    // Pushing a plan reads the pull request from the API again.
    w.gh.add_pull(
        REPO,
        7,
        support::fake_github::PullSpec {
            head_sha: head.clone(),
            base_sha: w.base_sha.clone(),
            ..Default::default()
        },
    );

    // require_plan and no plan yet: not passed, and the summary says why.
    assert_eq!(w.open_pr(app.addr, "d-1", 7, &head).await, 202);
    let first = w.wait_completed(&head).await;
    assert_eq!(first.conclusion.as_deref(), Some("action_required"));
    assert_eq!(first.title.as_deref(), Some("Waiting for plan"));
    // Without `public_url` the details link GitHub requires is the pull request.
    assert!(
        first
            .details_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/pull/7")),
        "{first:?}"
    );
    assert!(
        first
            .summary
            .as_deref()
            .unwrap_or_default()
            .contains("waiting for plan")
    );
    assert!(w.gh.reviews().iter().all(|r| r.event != "APPROVE"));

    let plan_path = format!("/api/v1/plans/{REPO}/{head}");
    // No token, a wrong one, one of another repository: refused, nothing stored.
    let (status, _) = request(app.addr, "POST", &plan_path, &[], PLAN.as_bytes()).await;
    assert_eq!(status, 401);
    // The last character changed (to another one: a token ending in 0 stayed valid before).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    assert_eq!(push(app.addr, &plan_path, &forged, PLAN).await.0, 401);
    assert_eq!(
        push(app.addr, &plan_path, "thp_0123456789abcdef_00", PLAN)
            .await
            .0,
        401
    );
    let (status, body) = push(app.addr, &plan_path, &other, PLAN).await;
    assert_eq!(status, 403, "{body}");
    // A bad body: 400 with the reason, nothing stored.
    let (status, body) = push(app.addr, &plan_path, &token, "{\"not\": \"a plan\"}").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not a plan"), "{body}");
    let (status, body) = push(app.addr, &plan_path, &token, "{broken").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = push(app.addr, &format!("{plan_path}?project=../x"), &token, PLAN).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(stored(app.store().as_ref(), &head).await, 0);
    assert_eq!(w.completed_runs(&head).len(), 1);

    // The plan: stored, and the open pull request at that head is judged again with it.
    let (status, body) = push(app.addr, &plan_path, &token, PLAN).await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"evaluations_enqueued\":1"), "{body}");
    let second = wait_next_run(&w, &head, 1).await;
    assert_eq!(second.conclusion.as_deref(), Some("failure"), "{second:#?}");
    let summary = second.summary.clone().unwrap_or_default();
    assert!(
        summary.contains("plan creates bucket aws_s3_bucket.logs"),
        "{summary}"
    );
    assert!(!summary.contains("waiting for plan"), "{summary}");
    assert_eq!(stored(app.store().as_ref(), &head).await, 1);

    // A drift report (owner token): stored, used by the next evaluation (a new push).
    let (status, body) = push(
        app.addr,
        &format!("/api/v1/drift/{REPO}?environment=prod"),
        &owner,
        DRIFT,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let head2 = w.push_pr(7, &[("README.md", "# infra\n\nchanged again\n")]);
    let event = w.pr_event("synchronize", 7, &head2);
    let status =
        support::http::github_delivery(app.addr, SECRET, "pull_request", "d-2", &event).await;
    assert_eq!(status, 202);
    let third = w.wait_completed(&head2).await;
    let summary = third.summary.clone().unwrap_or_default();
    // Blocking drift fails the check at once, plan or not.
    assert_eq!(third.conclusion.as_deref(), Some("failure"), "{summary}");
    assert!(summary.contains("aws_security_group.web"), "{summary}");
    assert!(summary.contains("waiting for plan"), "{summary}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_revoked_tokens_are_refused() {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.push_max_body_mb = 1;
    let token = create_token(&cfg.store, &["--repo", REPO]);
    let id = token["thp_".len()..].split('_').next().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-bot"))
        .args(["push-token", "revoke", &id, "--store", &cfg.store])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = create_token(&cfg.store, &["--repo", REPO]);
    let app = w.start(&cfg).await;
    let path = format!("/api/v1/drift/{REPO}");
    assert_eq!(push(app.addr, &path, &token, DRIFT).await.0, 401);
    let big = format!(
        "{{\"format_version\":\"1.2\",\"resource_drift\":[],\"pad\":\"{}\"}}",
        "x".repeat(2 << 20)
    );
    assert_eq!(push(app.addr, &path, &live, &big).await.0, 413);
    let any_head = "a".repeat(40);
    assert_eq!(stored(app.store().as_ref(), &any_head).await, 0);
    assert_eq!(push(app.addr, &path, &live, DRIFT).await.0, 201);
    assert_eq!(stored(app.store().as_ref(), &any_head).await, 1);
    app.stop().await;
}
