//! Shared helpers for integration tests: `mod support;` in a test file, then
//! `use support::{GitHttpServer, TestRepo, ...}`.
//!
//! - [`git_http`]: a smart-HTTP git server on loopback (`git http-backend` as CGI) with HTTP Basic
//!   token auth and a request log;
//! - [`test_repo`]: real repositories served by it, built with the `git` CLI;
//! - [`fake_github`]: a fake GitHub REST API that records every call.

// Each test binary uses a different part of the helpers.
#![allow(dead_code, unused_imports)]

pub mod azure_world;
pub mod fake_azure;
pub mod fake_github;
pub mod fake_openai;
pub mod git_http;
pub mod http;
pub mod test_repo;
pub mod world;

pub use git_http::{AuthOutcome, DEFAULT_TOKEN, DEFAULT_USER, GitHttpServer, RecordedRequest};
pub use test_repo::{TestRepo, git};

/// How often the poll helpers look again.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// How long a test waits for a state (a check run, an idle store) before it fails. Generous on
/// purpose: a passing test returns as soon as the state holds, and the suite must pass under
/// `nice -n 19` beside a build, where a test process gets a small share of the two cores.
pub const STATE_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Polls the async `f` until it returns `Some`; after `limit` the test fails with `what()`
/// (computed then, so it can show the state at the deadline). Every wait for a state in these
/// tests goes through here or [`poll_blocking`]: tests wait for a state, never for a time.
pub async fn poll<T, Fut>(
    limit: std::time::Duration,
    mut f: impl FnMut() -> Fut,
    what: impl FnOnce() -> String,
) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if std::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?}: {}", what());
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// [`poll`] for tests without a runtime.
pub fn poll_blocking<T>(
    limit: std::time::Duration,
    mut f: impl FnMut() -> Option<T>,
    what: impl FnOnce() -> String,
) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if std::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?}: {}", what());
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// Polls `f` until it returns `Some`, for at most [`STATE_WAIT`].
pub async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    poll(
        STATE_WAIT,
        || std::future::ready(f()),
        || format!("waiting for {what}"),
    )
    .await
}

/// Opens a store a stopped server used. A sled store stays locked until the last task of that
/// server has dropped its handle, which can be a moment after `stop()` returns: wait for that.
#[allow(dead_code)]
pub async fn reopen_store(url: &str) -> std::sync::Arc<dyn thoth_bot::store::Store> {
    let last = std::cell::RefCell::new(String::new());
    poll(
        std::time::Duration::from_secs(30),
        || async {
            match thoth_bot::store::open(url).await {
                Ok(store) => Some(store),
                Err(e) => {
                    *last.borrow_mut() = format!("{e:#}");
                    None
                }
            }
        },
        || format!("the store {url} stayed locked: {}", last.borrow()),
    )
    .await
}

/// Waits until `store` holds no queued and no running job: everything delivered so far has
/// been handled. Then fails the test if any job died, since a worker error is a test failure
/// unless the test says it expects one (use [`wait_idle_with_dead`] there).
pub async fn wait_idle(store: &std::sync::Arc<dyn thoth_bot::store::Store>) {
    let dead = wait_idle_with_dead(store).await;
    assert!(dead.is_empty(), "a job died: {dead:#?}");
}

/// Waits like [`wait_idle`] and returns the dead jobs instead of failing on them.
pub async fn wait_idle_with_dead(
    store: &std::sync::Arc<dyn thoth_bot::store::Store>,
) -> Vec<thoth_bot::store::Job> {
    use thoth_bot::store::JobState;
    poll(
        STATE_WAIT,
        || async {
            let queued = store.jobs_by_state(JobState::Queued, 1).await.unwrap();
            let running = store.jobs_by_state(JobState::Running, 1).await.unwrap();
            if queued.is_empty() && running.is_empty() {
                Some(store.jobs_by_state(JobState::Dead, 100).await.unwrap())
            } else {
                None
            }
        },
        || "the store never went idle (jobs still queued or running)".to_string(),
    )
    .await
}

/// The stores of the servers a test world started, so the world can wait for them to go idle;
/// weak, so a stopped server's sled store is released.
#[derive(Default)]
pub struct Servers(std::sync::Mutex<Vec<std::sync::Weak<dyn thoth_bot::store::Store>>>);

impl Servers {
    /// Starts the server on a free loopback port and remembers its store.
    pub async fn start(&self, cfg: &thoth_bot::config::ServeConfig) -> thoth_bot::server::Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.start_on(cfg, listener).await
    }

    /// Starts the server with `public_url` set to its own address, so it posts details links.
    pub async fn start_linked(
        &self,
        cfg: &thoth_bot::config::ServeConfig,
    ) -> thoth_bot::server::Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut cfg = cfg.clone();
        cfg.public_url = Some(format!("http://{}", listener.local_addr().unwrap()));
        self.start_on(&cfg, listener).await
    }

    async fn start_on(
        &self,
        cfg: &thoth_bot::config::ServeConfig,
        listener: tokio::net::TcpListener,
    ) -> thoth_bot::server::Running {
        let running = thoth_bot::server::start(cfg, listener).await.unwrap();
        self.0
            .lock()
            .unwrap()
            .push(std::sync::Arc::downgrade(running.store()));
        running
    }

    /// Waits until every server still running is idle (no queued or running job) and returns
    /// the dead jobs.
    pub async fn wait_idle_with_dead(&self) -> Vec<thoth_bot::store::Job> {
        let live: Vec<_> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .collect();
        let mut dead = Vec::new();
        for store in &live {
            dead.extend(wait_idle_with_dead(store).await);
        }
        dead
    }

    /// Waits like [`Servers::wait_idle_with_dead`] and fails the test if a job died.
    pub async fn wait_idle(&self) {
        let dead = self.wait_idle_with_dead().await;
        assert!(dead.is_empty(), "a job died: {dead:#?}");
    }
}
