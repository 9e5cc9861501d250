//! The details page and the dashboard, rendered from a store filled by real evaluations through
//! the real router, and loaded in headless Chromium (Debian's `chromium`; `.ci/run` installs
//! it). The browser test is skipped only when `THOTH_SKIP_BROWSER=1` is set.
//!
//! With `THOTH_SCREENSHOT_DIR=DIR` the browser test also writes its screenshots there (that is
//! how `docs/details-page.png` and `docs/dashboard.png` are made).

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::eventually;
use support::fake_github::{Author, PullSpec};
use support::http::{github_delivery, request};
use support::world::*;
use thoth_bot::secret::SecretString;
use thoth_bot::store::EvaluationId;
use thoth_bot::web::links::{DetailsKey, KEY_FILE};

const SG_ONLY_TF: &str = include_str!("data/terraform/open-ssh.tf");
const DASHBOARD_TOKEN: &str = "dashboard-token-for-tests-0123456789";
const HOSTILE_TITLE: &str = "<script>alert('title')</script> open SSH";

fn pull(w: &World, head: &str) -> PullSpec {
    PullSpec {
        head_sha: head.into(),
        base_sha: w.base_sha.clone(),
        head_ref: "feature".into(),
        base_ref: "main".into(),
        author: "Codertocat".into(),
        ..PullSpec::default()
    }
}

/// `pull_request.opened` for PR 7 with a hostile title.
fn opened_with_title(w: &World, head: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&w.pr_event("opened", 7, head)).unwrap();
    v["pull_request"]["title"] = json!(HOSTILE_TITLE);
    serde_json::to_vec(&v).unwrap()
}

/// Path and query of an absolute link the bot posted.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_string())
}

/// The evaluation id and expiry of a details link.
fn parts(url: &str) -> (EvaluationId, i64, String) {
    let path = path_of(url);
    let (p, q) = path.split_once('?').unwrap();
    let id = p.trim_start_matches("/runs/").parse().unwrap();
    let mut exp = 0;
    let mut sig = String::new();
    for kv in q.split('&') {
        match kv.split_once('=') {
            Some(("exp", v)) => exp = v.parse().unwrap(),
            Some(("sig", v)) => sig = v.to_string(),
            _ => {}
        }
    }
    (id, exp, sig)
}

/// Evaluates PR 7 (a failing finding), overrides it as a maintainer, and returns the server,
/// the details link of the overriding evaluation and the world.
async fn evaluated_world() -> (World, thoth_bot::server::Running, String) {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.dashboard_token = Some(SecretString::from(DASHBOARD_TOKEN.to_string()));
    let app = w.start_linked(&cfg).await;
    w.gh.set_permission(REPO, "maintainer1", "maintain");
    let head = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head));
    let body = opened_with_title(&w, &head);
    assert_eq!(
        github_delivery(app.addr, SECRET, "pull_request", "p-1", &body).await,
        202
    );
    let first = w.wait_completed(&head).await;
    assert_eq!(first.conclusion.as_deref(), Some("failure"));
    let url = first
        .details_url
        .clone()
        .expect("the check run links its page");
    assert!(
        url.starts_with(&format!("http://{}/runs/", app.addr)),
        "{url}"
    );
    assert!(first.summary.unwrap_or_default().contains(&url));

    let comment = "/thoth override approve --reason \"SEC-42: bastion only, <b>accepted</b>\"";
    let id =
        w.gh.add_comment(REPO, 7, comment, Author::User("maintainer1".into()));
    let event = w.comment_event("created", 7, id, "maintainer1", comment);
    github_delivery(app.addr, SECRET, "issue_comment", "c-1", &event).await;
    let second = eventually("the overriding check run", || {
        w.completed_runs(&head)
            .into_iter()
            .find(|r| r.id != first.id && r.details_url.is_some())
    })
    .await;
    assert_eq!(second.conclusion.as_deref(), Some("success"));
    // The page gets its publish time once the job has finished: wait for that, not for the
    // check run alone.
    w.wait_idle().await;
    (w, app, second.details_url.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_page_and_dashboard_through_the_router() {
    let (w, app, url) = evaluated_world().await;
    let (status, page) = request(app.addr, "GET", &path_of(&url), &[], b"").await;
    assert_eq!(status, 200, "{page}");
    // The PR, its commits, the decision and its reasons, the findings with their rule, a link to
    // the line at the evaluated commit, the override, the stages and both evaluations.
    for needle in [
        "acme/infra #7: &#60;script&#62;",
        "Decision",
        "Risk score",
        "overridden by @maintainer1",
        "Safety guard",
        "main.tf",
        "/blob/",
        "#L",
        "@maintainer1",
        "still applies",
        "SEC-42",
        "checkout",
        "gates",
        "decide",
        "publish",
        "(this one)",
        "<svg",
    ] {
        assert!(page.contains(needle), "missing {needle}:\n{page}");
    }
    // Hostile text from the PR and the comment is escaped, never markup.
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&#60;script&#62;alert") || page.contains("&lt;script&gt;alert"));
    assert!(!page.contains("<b>accepted</b>"), "{page}");
    assert!(!page.contains("<script"), "no script at all: {page}");

    // Tampered or expired links are refused; an unsigned one too.
    let (id, exp, sig) = parts(&url);
    let mut bad = sig.clone();
    bad.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
    for path in [
        format!("/runs/{id}?exp={exp}&sig={bad}"),
        format!("/runs/{id}?exp={}&sig={sig}", exp + 1),
        format!("/runs/{}?exp={exp}&sig={sig}", EvaluationId::new()),
        format!("/runs/{id}"),
    ] {
        let (status, _) = request(app.addr, "GET", &path, &[], b"").await;
        assert_eq!(status, 403, "{path}");
    }
    let key = std::fs::read_to_string(w.dir.path().join("data").join(KEY_FILE)).unwrap();
    let key = DetailsKey::new(SecretString::from(key.trim().to_string()));
    let past = chrono::Utc::now() - chrono::TimeDelta::seconds(5);
    let (old_exp, old_sig) = key.sign(id, past);
    let (status, body) = request(
        app.addr,
        "GET",
        &format!("/runs/{id}?exp={old_exp}&sig={old_sig}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("expired"), "{body}");

    // The dashboard needs the token.
    let (status, _) = request(app.addr, "GET", "/", &[], b"").await;
    assert_eq!(status, 401);
    let bearer = format!("Bearer {DASHBOARD_TOKEN}");
    let (status, dash) = request(
        app.addr,
        "GET",
        "/",
        &[("Authorization", bearer.as_str())],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{dash}");
    for needle in [
        "Recent evaluations",
        "acme/infra",
        "Pass rate",
        "Top failing rules",
        "Open overrides",
        "@maintainer1",
        "Median time to fix",
        "Queue depth",
        "sled",
        "/runs/",
    ] {
        assert!(dash.contains(needle), "missing {needle}:\n{dash}");
    }
    app.stop().await;

    // Without a token configured the dashboard does not exist.
    let mut cfg = w.config(
        &format!("sled:{}", w.dir.path().join("store2").display()),
        1,
    );
    cfg.dashboard_token = None;
    let plain = w.start(&cfg).await;
    let (status, _) = request(plain.addr, "GET", "/", &[], b"").await;
    assert_eq!(status, 404);
    plain.stop().await;
}

/// Runs Debian's chromium headless on `args`; its stdout.
async fn chromium(profile: &Path, args: &[String]) -> String {
    let mut cmd = tokio::process::Command::new(chromium_binary());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("chromium finished within 120 s")
        .expect("chromium runs (apt-get install chromium; .ci/run installs it)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chromium_binary() -> PathBuf {
    std::env::var_os("THOTH_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn png_size(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap_or_default();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    bytes.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_page_in_headless_chromium() {
    if std::env::var("THOTH_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("THOTH_SKIP_BROWSER=1: the headless Chromium test is skipped");
        return;
    }
    let (w, app, url) = evaluated_world().await;
    let profile = w.dir.path().join("chromium-profile");

    // The check run's details_url opens the page.
    let dom = chromium(&profile, &["--dump-dom".into(), url.clone()]).await;
    for needle in [
        "acme/infra #7",
        "main.tf",
        "THOTH-AWS-SG-001",
        "allows SSH",
        "Risk score",
        "overridden by @maintainer1",
        "@maintainer1",
        "still applies",
        "SEC-42",
    ] {
        assert!(dom.contains(needle), "missing {needle}:\n{dom}");
    }
    assert!(
        dom.contains("alert('title')") && dom.contains("open SSH"),
        "{dom}"
    );
    assert!(!dom.contains("<script>"), "the title stayed text: {dom}");

    // A tampered link is refused in the browser too.
    let (id, exp, sig) = parts(&url);
    let tampered = format!("http://{}/runs/{id}?exp={}&sig={sig}", app.addr, exp + 60);
    let refused = chromium(&profile, &["--dump-dom".into(), tampered]).await;
    assert!(refused.contains("403"), "{refused}");

    // Screenshots of both pages: PNGs that are not empty.
    let shots = std::env::var_os("THOTH_SCREENSHOT_DIR").map(PathBuf::from);
    let details_png = w.dir.path().join("details.png");
    chromium(
        &profile,
        &[
            format!("--screenshot={}", details_png.display()),
            "--window-size=1100,2200".into(),
            url.clone(),
        ],
    )
    .await;
    assert!(png_size(&details_png) > 1_000);
    // The dashboard takes a bearer token, which chromium cannot send on the command line; it is
    // saved through the router and opened from a file.
    let bearer = format!("Bearer {DASHBOARD_TOKEN}");
    let (status, dash) = request(
        app.addr,
        "GET",
        "/",
        &[("Authorization", bearer.as_str())],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let dash_file = w.dir.path().join("dashboard.html");
    std::fs::write(&dash_file, dash).unwrap();
    let dash_png = w.dir.path().join("dashboard.png");
    chromium(
        &profile,
        &[
            format!("--screenshot={}", dash_png.display()),
            "--window-size=1100,1500".into(),
            format!("file://{}", dash_file.display()),
        ],
    )
    .await;
    assert!(png_size(&dash_png) > 1_000);
    if let Some(dir) = shots {
        std::fs::copy(&details_png, dir.join("details-page.png")).unwrap();
        std::fs::copy(&dash_png, dir.join("dashboard.png")).unwrap();
    }
    app.stop().await;
}
