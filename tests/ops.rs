//! Operations: `thoth-bot setup github` against a fake GitHub manifest endpoint, and
//! `thoth-bot healthcheck` against a running server.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};
use support::fake_github::TEST_KEY_PEM;
use support::http::{github_delivery, request};
use thoth_bot::config::ServeConfig;
use thoth_bot::setup::{GithubSetup, Registered};

const WEB: &str = "https://github.example.test";

/// The manifest conversion endpoint of GitHub: one code is valid, once.
async fn fake_manifest_api() -> (String, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/app-manifests/{code}/conversions",
            post(
                |State(calls): State<Arc<Mutex<Vec<String>>>>, Path(code): Path<String>| async move {
                    calls.lock().unwrap().push(code.clone());
                    if code != "good-code" || calls.lock().unwrap().len() > 1 {
                        return (
                            axum::http::StatusCode::NOT_FOUND,
                            axum::Json(json!({"message": "Not Found"})),
                        );
                    }
                    (
                        axum::http::StatusCode::CREATED,
                        axum::Json(json!({
                            "id": 4242,
                            "slug": "thoth-bot-acme",
                            "name": "thoth-bot",
                            "html_url": "https://github.example.test/apps/thoth-bot-acme",
                            "client_id": "Iv1.x",
                            "client_secret": "cs",
                            "webhook_secret": "whsec-from-github",
                            "pem": TEST_KEY_PEM,
                        })),
                    )
                },
            ),
        )
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

fn setup(dir: &std::path::Path, api: &str) -> GithubSetup {
    GithubSetup {
        org: Some("acme".into()),
        url: "https://bot.acme.test".into(),
        web_url: WEB.into(),
        api_url: api.into(),
        manifest: thoth_bot::setup::DEFAULT_MANIFEST.into(),
        config_out: dir.join("thoth.toml"),
        key_out: dir.join("app.pem"),
        force: false,
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let len = html[start..].find('"').unwrap();
    &html[start..start + len]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_github_registers_the_app_and_writes_a_usable_config() {
    let dir = tempfile::tempdir().unwrap();
    let (api, calls) = fake_manifest_api().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(thoth_bot::setup::run(
        setup(dir.path(), &api),
        listener,
        |_| {},
    ));

    // The browser opens the page: a form posting the manifest to the org's new-App page.
    let (status, html) = request(addr, "GET", "/", &[], b"").await;
    assert_eq!(status, 200);
    let action = unescape(attr(&html, "action"));
    let prefix = format!("{WEB}/organizations/acme/settings/apps/new?state=");
    assert!(action.starts_with(&prefix), "{action}");
    let state = action[prefix.len()..].to_string();
    assert!(state.len() >= 32, "state {state}");
    let manifest: Value = serde_json::from_str(&unescape(attr(&html, "value"))).unwrap();
    assert_eq!(
        manifest["hook_attributes"]["url"],
        "https://bot.acme.test/webhooks/github"
    );
    assert_eq!(manifest["url"], "https://bot.acme.test");
    assert_eq!(manifest["redirect_url"], format!("http://{addr}/callback"));
    assert_eq!(manifest["default_permissions"]["checks"], "write");

    // A redirect with another state is refused, and nothing is exchanged.
    let (status, _) = request(
        addr,
        "GET",
        "/callback?code=good-code&state=forged",
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = request(addr, "GET", "/callback?code=good-code", &[], b"").await;
    assert_eq!(status, 400);
    assert!(calls.lock().unwrap().is_empty());

    // GitHub's redirect back: the code is exchanged and the files written.
    let (status, html) = request(
        addr,
        "GET",
        &format!("/callback?code=good-code&state={state}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("thoth-bot-acme"), "{html}");
    let reg: Registered = task.await.unwrap().unwrap();
    assert_eq!(reg.app_id, 4242);
    assert_eq!(*calls.lock().unwrap(), ["good-code"]);

    use std::os::unix::fs::PermissionsExt;
    for f in [&reg.config, &reg.key] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    assert_eq!(std::fs::read_to_string(&reg.key).unwrap(), TEST_KEY_PEM);

    // `thoth-bot serve --config thoth.toml` accepts it: the App starts and the secret verifies.
    let mut cfg = ServeConfig::load(Some(&reg.config)).unwrap();
    assert_eq!(cfg.github.app_id, Some(4242));
    assert_eq!(cfg.github.api_url, api);
    assert!(cfg.github_enabled());
    cfg.store = format!("sled:{}", dir.path().join("store").display());
    cfg.cache_dir = dir.path().join("cache");
    cfg.data_dir = dir.path().join("data");
    cfg.gate_exe = Some(env!("CARGO_BIN_EXE_thoth-bot").into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = thoth_bot::server::start(&cfg, listener).await.unwrap();
    let status = github_delivery(app.addr, "whsec-from-github", "ping", "p-1", b"{}").await;
    assert_eq!(status, 202);
    app.stop().await;

    // Running setup again does not overwrite the credentials.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = thoth_bot::setup::run(setup(dir.path(), &api), listener, |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--force"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_github_reports_a_failed_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _) = fake_manifest_api().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut s = setup(dir.path(), &api);
    s.org = None;
    let task = tokio::spawn(thoth_bot::setup::run(s, listener, |_| {}));
    let (_, html) = request(addr, "GET", "/", &[], b"").await;
    let action = unescape(attr(&html, "action"));
    let state = action.split("state=").nth(1).unwrap().to_string();
    assert!(
        action.starts_with(&format!("{WEB}/settings/apps/new?")),
        "{action}"
    );
    let (status, _) = request(
        addr,
        "GET",
        &format!("/callback?code=expired&state={state}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 502);
    let err = task.await.unwrap().unwrap_err();
    assert!(format!("{err:#}").contains("404"), "{err:#}");
    assert!(!dir.path().join("thoth.toml").exists());
    assert!(!dir.path().join("app.pem").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_subcommand_follows_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        store: format!("sled:{}", dir.path().join("store").display()),
        cache_dir: dir.path().join("cache"),
        workers: 1,
        gate_exe: Some(env!("CARGO_BIN_EXE_thoth-bot").into()),
        data_dir: dir.path().join("data"),
        ..ServeConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = thoth_bot::server::start(&cfg, listener).await.unwrap();
    let addr = app.addr;
    let check = |url: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_thoth-bot"))
            .args(["healthcheck", "--url", &url, "--timeout", "3"])
            .output()
            .unwrap()
    };
    let url = format!("http://{addr}/healthz");
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || check(url)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tokio::task::spawn_blocking({
        let url = format!("http://{addr}/nope");
        move || check(url)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "404 is unhealthy");
    app.stop().await;
    let out = tokio::task::spawn_blocking(move || check(url))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unhealthy"));
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_thoth-bot"))
        .arg("serve")
        .env("THOTH_LISTEN", "127.0.0.1:0")
        .env(
            "THOTH_STORE",
            format!("sled:{}", dir.path().join("store").display()),
        )
        .env("THOTH_CACHE_DIR", dir.path().join("cache"))
        .env("THOTH_DATA_DIR", dir.path().join("data"))
        .env("THOTH_SHUTDOWN_GRACE_SECS", "2")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve exited early"
        );
        if let Some(a) = line.trim().strip_prefix("thoth-bot listening on http://") {
            break a.to_string();
        }
    };
    let health = Command::new(env!("CARGO_BIN_EXE_thoth-bot"))
        .args(["healthcheck", "--url", &format!("http://{addr}/healthz")])
        .status()
        .unwrap();
    assert!(health.success());
    let started = std::time::Instant::now();
    // The shell's builtin `kill`: no procps needed on a minimal machine.
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    // Drain stderr so the child never blocks on a full pipe, and keep what it said.
    let rest = std::thread::spawn(move || {
        let mut all = String::new();
        while stderr.read_line(&mut all).unwrap_or(0) > 0 {}
        all
    });
    let status = support::poll_blocking(
        std::time::Duration::from_secs(15).saturating_sub(started.elapsed()),
        || child.try_wait().unwrap(),
        || "serve did not stop after SIGTERM".to_string(),
    );
    assert!(status.success(), "{status:?}");
    let log = rest.join().unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
