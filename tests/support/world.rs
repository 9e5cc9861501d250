//! A GitHub App world for end-to-end tests: a fake GitHub API, a real git repository served
//! over HTTP with token auth, and thoth-bot's real server started on a loopback port.

use std::path::PathBuf;

use serde_json::{Value, json};
use thoth_bot::config::ServeConfig;
use thoth_bot::secret::SecretString;
use thoth_bot::server::Running;

use super::TestRepo;
use super::fake_github::{APP_ID, FakeGithub, INSTALLATION_ID, TEST_KEY_PEM};

pub const SECRET: &str = "e2e-webhook-secret";
pub const TOKEN: &str = "ghs_e2e_installation_token";
pub const REPO: &str = "acme/infra";

pub const BASE_TF: &str = r#"resource "aws_sns_topic" "alerts" {
  name = "dev-infra-alerts"
  tags = {
    Environment = "dev"
    Owner       = "platform"
    CostCenter  = "cc-1"
  }
}
"#;
pub const INSECURE_TF: &str = r#"resource "aws_security_group" "web" {
  name = "dev-web-sg"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_db_instance" "orders" {
  identifier        = "dev-orders-db"
  storage_encrypted = false
  password          = "hunter2hunter2"
}
"#;

pub struct World {
    pub gh: FakeGithub,
    pub repo: TestRepo,
    pub dir: tempfile::TempDir,
    pub base_sha: String,
    /// The servers this world started, for [`World::wait_idle`].
    servers: super::Servers,
}

impl World {
    pub async fn new() -> World {
        let gh = FakeGithub::start().await;
        gh.set_fixed_token(TOKEN);
        let repo = TestRepo::new();
        repo.server()
            .set_credentials(Some(("x-access-token", TOKEN)));
        let base_sha = repo.commit(
            &[
                ("README.md", "# infra\n"),
                ("main.tf", BASE_TF),
                (".thothctl/ai_decision_config.yaml", "enabled: true\n"),
            ],
            "base",
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.pem"), TEST_KEY_PEM).unwrap();
        World {
            gh,
            repo,
            dir,
            base_sha,
            servers: Default::default(),
        }
    }

    pub fn config(&self, store: &str, workers: usize) -> ServeConfig {
        let mut cfg = ServeConfig {
            store: store.to_string(),
            workers,
            cache_dir: self.dir.path().join("cache"),
            lease_secs: 3,
            gate_exe: Some(env!("CARGO_BIN_EXE_thoth-bot").into()),
            data_dir: self.dir.path().join("data"),
            ..ServeConfig::default()
        };
        cfg.github.app_id = Some(APP_ID);
        cfg.github.private_key_path = Some(self.dir.path().join("app.pem"));
        cfg.github.webhook_secrets =
            vec![SecretString::from("old-secret"), SecretString::from(SECRET)];
        cfg.github.api_url = self.gh.url().to_string();
        cfg.github.writes_per_minute = 600;
        // Off: these scans would add calls the other tests do not expect. The recovery tests
        // turn them on.
        cfg.redeliver_interval_secs = 0;
        cfg.reconcile_interval_secs = 0;
        cfg
    }

    pub fn sled(&self) -> String {
        format!("sled:{}", self.dir.path().join("store").display())
    }

    pub async fn start(&self, cfg: &ServeConfig) -> Running {
        self.servers.start(cfg).await
    }

    /// Waits until every running server of this world is idle (no queued or running job) and
    /// fails the test if a job died.
    pub async fn wait_idle(&self) {
        self.servers.wait_idle().await;
    }

    /// Waits like [`World::wait_idle`] and returns the dead jobs instead of failing on them.
    pub async fn wait_idle_with_dead(&self) -> Vec<thoth_bot::store::Job> {
        self.servers.wait_idle_with_dead().await
    }

    /// Starts the server with `public_url` set to its own address, so it posts details links.
    pub async fn start_linked(&self, cfg: &ServeConfig) -> Running {
        self.servers.start_linked(cfg).await
    }

    /// Pushes a PR head commit (on a branch) and points `refs/pull/N/head` at it.
    pub fn push_pr(&self, n: u64, files: &[(&str, &str)]) -> String {
        self.repo.switch_branch("feature");
        let sha = self.repo.commit(files, "change");
        self.repo.create_pull_ref(n, &sha);
        sha
    }

    /// Delivers `pull_request.opened` for PR `n` at `head`; the answer's status.
    pub async fn open_pr(
        &self,
        addr: std::net::SocketAddr,
        delivery: &str,
        n: u64,
        head: &str,
    ) -> u16 {
        super::http::github_delivery(
            addr,
            SECRET,
            "pull_request",
            delivery,
            &self.pr_event("opened", n, head),
        )
        .await
    }

    /// A `pull_request` delivery built from the real fixture, pointed at our repository.
    pub fn pr_event(&self, action: &str, n: u64, head: &str) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(include_str!(
            "../data/fixtures/github/pull_request/opened.payload.json"
        ))
        .unwrap();
        v["action"] = json!(action);
        v["number"] = json!(n);
        v["pull_request"]["number"] = json!(n);
        v["pull_request"]["head"]["sha"] = json!(head);
        v["pull_request"]["head"]["ref"] = json!("feature");
        v["pull_request"]["base"]["sha"] = json!(self.base_sha);
        v["pull_request"]["base"]["ref"] = json!("main");
        v["pull_request"]["labels"] = json!([]);
        v["repository"]["full_name"] = json!(REPO);
        v["repository"]["clone_url"] = json!(self.repo.url());
        v["installation"]["id"] = json!(INSTALLATION_ID);
        serde_json::to_vec(&v).unwrap()
    }

    pub fn completed_runs(&self, head: &str) -> Vec<super::fake_github::CheckRun> {
        self.gh
            .check_runs()
            .into_iter()
            .filter(|r| r.head_sha == head && r.status == "completed")
            .collect()
    }

    pub async fn wait_completed(&self, head: &str) -> super::fake_github::CheckRun {
        let run = super::poll(
            super::STATE_WAIT,
            || std::future::ready(self.completed_runs(head).into_iter().next()),
            || format!("no completed check run for {head}: {:#?}", self.gh.calls()),
        )
        .await;
        // The comment is the last write of a publish: the job is done once it lands.
        // Dead jobs are the caller's to judge here (some tests expect one).
        self.wait_idle_with_dead().await;
        run
    }
}

pub fn marked_comments(w: &World, n: u64) -> Vec<super::fake_github::Comment> {
    w.gh.comments(REPO, n)
        .into_iter()
        .filter(|c| c.body.contains("<!-- thoth-bot:summary -->"))
        .collect()
}

/// A fresh database on the test PostgreSQL server (`THOTH_TEST_DATABASE_URL`); its URL.
pub async fn postgres_url() -> String {
    let admin = std::env::var("THOTH_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("PostgreSQL must be reachable (bash .ci/run starts one)");
    let name = format!("thoth_e2e_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    match admin.rfind('/') {
        Some(i) => format!("{}/{name}", &admin[..i]),
        None => panic!("bad URL {admin}"),
    }
}

/// An `issue_comment` delivery built from the real fixture: `login` comments `body` on PR `n`.
impl World {
    pub fn comment_event(
        &self,
        action: &str,
        n: u64,
        comment_id: u64,
        login: &str,
        body: &str,
    ) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(include_str!(
            "../data/fixtures/github/issue_comment/created.with-installation.payload.json"
        ))
        .unwrap();
        v["action"] = json!(action);
        v["issue"]["number"] = json!(n);
        v["issue"]["pull_request"] =
            json!({ "url": format!("https://api.github.com/repos/{REPO}/pulls/{n}") });
        v["comment"]["id"] = json!(comment_id);
        v["comment"]["body"] = json!(body);
        v["comment"]["user"]["login"] = json!(login);
        v["sender"]["login"] = json!(login);
        // Written now: an override binds to the evaluation on the PR when it was written.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        v["comment"]["created_at"] = json!(now);
        v["comment"]["updated_at"] = json!(now);
        v["comment"]["user"]["type"] = json!(if login.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        });
        v["repository"]["full_name"] = json!(REPO);
        v["installation"]["id"] = json!(INSTALLATION_ID);
        v["repository"]["clone_url"] = json!(self.repo.url());
        serde_json::to_vec(&v).unwrap()
    }
}
