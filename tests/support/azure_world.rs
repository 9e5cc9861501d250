//! An Azure DevOps world for end-to-end tests: a fake Azure DevOps API, a real git repository
//! served over HTTP with PAT auth, and thoth-bot's real server on a loopback port.

use serde_json::{Value, json};
use thoth_bot::config::ServeConfig;
use thoth_bot::secret::{SecretString, basic_header};
use thoth_bot::server::Running;

use super::TestRepo;
use super::fake_azure::FakeAzure;
use super::http::request;
use super::world::BASE_TF;

pub const PAT: &str = "ado-e2e-personal-access-token";
pub const HOOK_USER: &str = "ado-hook";
pub const HOOK_PASSWORD: &str = "ado-hook-password";
/// `project/repository` as the fake names it; the bot's id is `org/Infra Team/infra`.
pub const REPO: &str = "Infra Team/infra";
/// The organization URL the bot is configured with (the fake serves its API).
pub const ORG_URL: &str = "https://dev.azure.com/org";
pub const MARKER: &str = "<!-- thoth-bot:summary -->";

pub struct World {
    pub ado: FakeAzure,
    pub repo: TestRepo,
    pub dir: tempfile::TempDir,
    pub base_sha: String,
    /// The servers this world started, for [`World::wait_idle`].
    servers: super::Servers,
}

impl World {
    pub async fn new() -> World {
        let ado = FakeAzure::start(PAT).await;
        let repo = TestRepo::new();
        // Azure DevOps takes any user name with a PAT; the bot sends `thoth-bot`.
        repo.server().set_credentials(Some(("thoth-bot", PAT)));
        let base_sha = repo.commit(
            &[
                ("README.md", "# infra\n"),
                ("main.tf", BASE_TF),
                (".thothctl/ai_decision_config.yaml", "enabled: true\n"),
            ],
            "base",
        );
        World {
            ado,
            repo,
            dir: tempfile::tempdir().unwrap(),
            base_sha,
            servers: Default::default(),
        }
    }

    pub fn config(&self) -> ServeConfig {
        let mut cfg = ServeConfig {
            store: format!("sled:{}", self.dir.path().join("store").display()),
            workers: 1,
            cache_dir: self.dir.path().join("cache"),
            lease_secs: 5,
            gate_exe: Some(env!("CARGO_BIN_EXE_thoth-bot").into()),
            data_dir: self.dir.path().join("data"),
            ..ServeConfig::default()
        };
        // As in production, the organization is on dev.azure.com; the fake stands in for its
        // API, and the bot then also clones from the fake's host (127.0.0.1) over http.
        cfg.azure.org_url = Some(ORG_URL.to_string());
        cfg.azure.api_url = Some(self.ado.url().to_string());
        cfg.azure.token = Some(SecretString::from(PAT));
        cfg.azure.webhook_user = Some(HOOK_USER.into());
        cfg.azure.webhook_password = Some(SecretString::from(HOOK_PASSWORD));
        // Reconciliation would evaluate every pull request pushed before the server started;
        // the tests of it turn it on.
        cfg.reconcile_interval_secs = 0;
        cfg
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

    /// Commits on the PR's source branch, records the push as an iteration and makes the fake
    /// answer `GET .../pullRequests/{n}` with the same pull request the event carries.
    pub fn push_pr(&self, n: u64, files: &[(&str, &str)]) -> String {
        self.repo.switch_branch("feature");
        let sha = self.repo.commit(files, "change");
        self.ado.push_iteration(REPO, n, &sha);
        let event: Value =
            serde_json::from_slice(&self.pr_event("git.pullrequest.updated", "x", n, &sha))
                .unwrap();
        self.ado.set_pull(REPO, n, event["resource"].clone());
        sha
    }

    /// A real `git.pullrequest.*` payload (the documented sample, with a subscription id so it
    /// is not a UI test delivery) pointed at our repository.
    pub fn pr_event(&self, event: &str, id: &str, n: u64, head: &str) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(include_str!(
            "../data/fixtures/azure-devops/docs/git.pullrequest.created.json"
        ))
        .unwrap();
        v["subscriptionId"] = json!("6c3d2a43-0a3a-4b8b-9b0e-6a1c0e4a1d11");
        v["id"] = json!(id);
        v["eventType"] = json!(event);
        let r = &mut v["resource"];
        r["repository"]["name"] = json!("infra");
        r["repository"]["project"]["name"] = json!("Infra Team");
        r["repository"]["remoteUrl"] = json!(self.repo.url());
        r["pullRequestId"] = json!(n);
        r["status"] = json!("active");
        r["sourceRefName"] = json!("refs/heads/feature");
        r["targetRefName"] = json!("refs/heads/main");
        r["lastMergeSourceCommit"]["commitId"] = json!(head);
        r["lastMergeTargetCommit"]["commitId"] = json!(self.base_sha);
        serde_json::to_vec(&v).unwrap()
    }

    /// A `ms.vss-code.git-pullrequest-comment-event` on pull request `n`.
    pub fn comment_event(&self, id: &str, n: u64, content: &str) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(include_str!(
            "../data/fixtures/azure-devops/tingle-dependabot/git-pullrequest-comment-event-1.json"
        ))
        .unwrap();
        v["id"] = json!(id);
        let r = &mut v["resource"];
        r["comment"]["content"] = json!(content);
        r["pullRequest"]["pullRequestId"] = json!(n);
        r["pullRequest"]["repository"]["name"] = json!("infra");
        r["pullRequest"]["repository"]["project"]["name"] = json!("Infra Team");
        r["pullRequest"]["repository"]["remoteUrl"] = json!(self.repo.url());
        serde_json::to_vec(&v).unwrap()
    }

    /// The policy statuses that are not `pending`, for one iteration.
    pub fn final_statuses(&self, n: u64, iteration: u64) -> Vec<super::fake_azure::Status> {
        self.ado
            .statuses()
            .into_iter()
            .filter(|s| s.pr == n && s.iteration_id == Some(iteration) && s.state != "pending")
            .collect()
    }

    /// Waits until the iteration has a final status and the summary thread was written.
    pub async fn wait_published(&self, n: u64, iteration: u64) -> super::fake_azure::Status {
        super::poll(
            super::STATE_WAIT,
            || {
                let done = self.final_statuses(n, iteration).into_iter().next();
                let writes = self.ado.writes();
                // The summary thread is the last write of a publish.
                let summary_written = writes.last().is_some_and(|c| {
                    c.path.contains("/threads")
                        && (c.body["status"].is_string() && !c.path.ends_with("/threads")
                            || c.body["comments"][0]["content"]
                                .as_str()
                                .is_some_and(|b| b.contains(MARKER)))
                });
                std::future::ready(done.filter(|_| summary_written))
            },
            || {
                format!(
                    "iteration {iteration} of !{n} was not published: {:#?}",
                    self.ado.calls()
                )
            },
        )
        .await
    }

    /// `author` writes `content` as a new thread on PR `n` (in the fake, so replies can land
    /// in it); returns the thread id and the comment event.
    pub fn comment(&self, id: &str, n: u64, author: &str, content: &str) -> (u64, Vec<u8>) {
        let thread = self.ado.add_user_thread_by(REPO, n, author, content);
        (
            thread,
            self.user_comment_event(id, n, thread, author, content),
        )
    }

    /// A comment event by `author` in `thread` of pull request `n`.
    pub fn user_comment_event(
        &self,
        id: &str,
        n: u64,
        thread: u64,
        author: &str,
        content: &str,
    ) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(include_str!(
            "../data/fixtures/azure-devops/tingle-dependabot/git-pullrequest-comment-event-1.json"
        ))
        .unwrap();
        v["id"] = json!(id);
        let r = &mut v["resource"];
        r["comment"]["id"] = json!(1);
        r["comment"]["content"] = json!(content);
        r["comment"]["author"]["uniqueName"] = json!(author);
        // Written now: an override binds to the evaluation on the PR when it was written.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        r["comment"]["publishedDate"] = json!(now);
        r["comment"]["lastContentUpdatedDate"] = json!(now);
        r["comment"]["_links"]["threads"]["href"] = json!(format!(
            "https://ado/_apis/git/repositories/r/pullRequests/{n}/threads/{thread}"
        ));
        r["pullRequest"]["pullRequestId"] = json!(n);
        r["pullRequest"]["repository"]["name"] = json!("infra");
        r["pullRequest"]["repository"]["project"]["name"] = json!("Infra Team");
        r["pullRequest"]["repository"]["remoteUrl"] = json!(self.repo.url());
        serde_json::to_vec(&v).unwrap()
    }

    /// The comments after the first of a thread (the bot's replies).
    pub fn replies(&self, thread: u64) -> Vec<String> {
        self.ado
            .threads()
            .into_iter()
            .find(|t| t.id == thread)
            .map(|t| t.comments[1..].to_vec())
            .unwrap_or_default()
    }

    pub fn final_states(&self, n: u64) -> Vec<String> {
        self.ado
            .statuses()
            .into_iter()
            .filter(|s| s.pr == n && s.state != "pending")
            .map(|s| s.state)
            .collect()
    }

    pub fn summary_threads(&self, n: u64) -> Vec<super::fake_azure::Thread> {
        self.ado
            .threads()
            .into_iter()
            .filter(|t| t.pr == n && t.comments[0].contains(MARKER))
            .collect()
    }

    pub fn finding_threads(&self, n: u64) -> Vec<super::fake_azure::Thread> {
        self.ado
            .threads()
            .into_iter()
            .filter(|t| t.pr == n && t.anchor.is_some())
            .collect()
    }
}

pub async fn deliver(addr: std::net::SocketAddr, auth: Option<(&str, &str)>, body: &[u8]) -> u16 {
    let header = auth.map(|(u, p)| basic_header(u, p));
    let mut headers = vec![("Content-Type", "application/json; charset=utf-8")];
    if let Some(h) = &header {
        headers.push(("Authorization", h.as_str()));
    }
    request(addr, "POST", "/webhooks/azure-devops", &headers, body)
        .await
        .0
}

pub async fn hook(addr: std::net::SocketAddr, body: &[u8]) -> u16 {
    deliver(addr, Some((HOOK_USER, HOOK_PASSWORD)), body).await
}

/// Every job in a (stopped) server's sled store, whatever its state.
pub async fn all_jobs(store_dir: &std::path::Path) -> Vec<thoth_bot::store::Job> {
    use thoth_bot::store::JobState;
    // The stopped server's last task may still hold the sled lock for a moment.
    let store = super::reopen_store(&format!("sled:{}", store_dir.display())).await;
    let mut jobs = Vec::new();
    for state in [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ] {
        jobs.extend(store.jobs_by_state(state, 100).await.unwrap());
    }
    jobs
}
