//! Every log line of a job carries the job's delivery, repository and pull request, also from
//! the blocking checkout and gate work and from the forge client's retries. Own test binary:
//! it installs a process-wide JSON subscriber that captures the logs.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::TestRepo;
use support::fake_github::{APP_ID, FakeGithub, INSTALLATION_ID, TEST_KEY_PEM};
use support::http::github_delivery;
use thoth_bot::config::ServeConfig;
use thoth_bot::secret::SecretString;

const SECRET: &str = "log-secret";
const TOKEN: &str = "ghs_log_token";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_log_lines_carry_delivery_repo_and_pr() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter("thoth_bot=debug")
        .with_writer(move || writer.clone())
        .init();

    let gh = FakeGithub::start().await;
    gh.set_fixed_token(TOKEN);
    // A retried request: the forge client logs a warning inside the job.
    gh.fail_next("POST", "/repos/acme/logs/check-runs", 502, &[]);
    let repo = TestRepo::new();
    repo.server()
        .set_credentials(Some(("x-access-token", TOKEN)));
    let base = repo.commit(&[("README.md", "# logs\n")], "base");
    repo.switch_branch("feature");
    let head = repo.commit(
        &[("main.tf", "resource \"null_resource\" \"x\" {}\n")],
        "pr",
    );
    repo.create_pull_ref(4, &head);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.pem"), TEST_KEY_PEM).unwrap();
    let mut cfg = ServeConfig {
        store: format!("sled:{}", dir.path().join("store").display()),
        cache_dir: dir.path().join("cache"),
        workers: 1,
        gate_exe: Some(env!("CARGO_BIN_EXE_thoth-bot").into()),
        data_dir: dir.path().join("data"),
        ..ServeConfig::default()
    };
    cfg.github.app_id = Some(APP_ID);
    cfg.github.private_key_path = Some(dir.path().join("app.pem"));
    cfg.github.webhook_secrets = vec![SecretString::from(SECRET)];
    cfg.github.api_url = gh.url().to_string();
    cfg.github.writes_per_minute = 600;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = thoth_bot::server::start(&cfg, listener).await.unwrap();

    let mut v: Value = serde_json::from_str(include_str!(
        "data/fixtures/github/pull_request/opened.payload.json"
    ))
    .unwrap();
    v["number"] = json!(4);
    v["pull_request"]["number"] = json!(4);
    v["pull_request"]["head"]["sha"] = json!(head);
    v["pull_request"]["head"]["ref"] = json!("feature");
    v["pull_request"]["base"]["sha"] = json!(base);
    v["pull_request"]["base"]["ref"] = json!("main");
    v["repository"]["full_name"] = json!("acme/logs");
    v["repository"]["clone_url"] = json!(repo.url());
    v["installation"]["id"] = json!(INSTALLATION_ID);
    let body = serde_json::to_vec(&v).unwrap();
    let status = github_delivery(app.addr, SECRET, "pull_request", "log-delivery-1", &body).await;
    assert_eq!(status, 202);
    support::poll(
        Duration::from_secs(60),
        || {
            let done = gh.check_runs().iter().any(|r| r.status == "completed");
            std::future::ready(done.then_some(()))
        },
        || format!("no completed check run: {:#?}", gh.calls()),
    )
    .await;
    app.stop().await;

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // Lines written while a job runs: the pipeline, the blocking gate work, the forge client.
    let job_targets = [
        "thoth_bot::worker::pipeline",
        "thoth_bot::worker::gates",
        "thoth_bot::worker::github",
        "thoth_bot::check",
        "thoth_bot::forge",
        "thoth_bot::checkout",
    ];
    let job_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            let target = l["target"].as_str().unwrap_or("");
            job_targets.iter().any(|t| target.starts_with(t))
        })
        .collect();
    let messages: Vec<&str> = job_lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    for expected in [
        "evaluating",
        "gates done",
        "GitHub request failed; retrying",
        "published",
    ] {
        assert!(
            messages.contains(&expected),
            "no `{expected}` line in {messages:?}"
        );
    }
    for l in job_lines {
        let job = l["spans"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "job"))
            .unwrap_or_else(|| panic!("line outside the job span: {l}"));
        assert_eq!(job["delivery"], "log-delivery-1", "{l}");
        assert_eq!(job["repo"], "acme/logs", "{l}");
        assert_eq!(job["pr"], "4", "{l}");
    }
    // The worker's own lines about the job too.
    let done = lines
        .iter()
        .find(|l| l["fields"]["message"] == "job done")
        .expect("job done line");
    assert_eq!(done["span"]["delivery"], "log-delivery-1");
}
