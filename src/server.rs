//! `thoth-bot serve`: the HTTP server (webhooks, health, the details pages and the dashboard)
//! and the worker pool, wired together.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower::ServiceBuilder;

use crate::store::Store;
use crate::webhook::{self, IntakeState, MAX_BODY_BYTES};

/// Bounds on webhook requests, so a flood or a slow sender cannot exhaust the server.
#[derive(Debug, Clone, Copy)]
pub struct IntakeLimits {
    /// Requests handled at once, both webhook routes together; more are answered 503.
    pub max_concurrency: usize,
    /// Time one request may take, body upload included; then 408.
    pub timeout: Duration,
}

impl IntakeLimits {
    pub fn of(cfg: &crate::config::ServeConfig) -> Self {
        IntakeLimits {
            max_concurrency: cfg.webhook_max_concurrency,
            timeout: Duration::from_secs(cfg.webhook_timeout_secs),
        }
    }
}

/// The HTTP routes. Intake state is everything a request needs; workers run separately.
pub fn router(
    intake: IntakeState,
    limits: IntakeLimits,
    web: crate::web::WebState,
    api: crate::api::ApiState,
) -> Router {
    let store = intake.store.clone();
    // Shed, not queue: a request over the limit is answered 503 at once instead of waiting
    // (and holding memory) behind the others. The semaphore is shared by both routes.
    // The timeout is inside the limit, so a stalled sender gives its slot back when it fires.
    let intake_limits = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(limit_error))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            limits.max_concurrency,
        ))
        .timeout(limits.timeout);
    // Pushed plans are uploads of many MiB from CI: their own, smaller concurrency bound and a
    // longer time limit than webhooks, shed the same way.
    let api_limits = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(limit_error))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            API_MAX_CONCURRENCY,
        ))
        .timeout(API_TIMEOUT);
    let api = crate::api::routes(api).layer(api_limits);
    Router::new()
        .route("/webhooks/github", post(webhook::github_webhook))
        .route("/webhooks/azure-devops", post(webhook::azure_webhook))
        .with_state(intake)
        .layer(intake_limits)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz).with_state(store.clone()))
        .route("/metrics", get(metrics).with_state(store))
        .merge(crate::web::routes(web))
        .merge(api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Push API requests handled at once; more are answered 503.
const API_MAX_CONCURRENCY: usize = 16;
/// Time one push API request may take, upload included; then 408.
const API_TIMEOUT: Duration = Duration::from_secs(120);

/// The answer when a limit of [`IntakeLimits`] stops a webhook request.
async fn limit_error(e: tower::BoxError) -> StatusCode {
    if e.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("webhook request timed out");
        crate::metrics::webhook("-", "-", "timeout");
        StatusCode::REQUEST_TIMEOUT
    } else if e.is::<tower::load_shed::error::Overloaded>() {
        tracing::warn!("webhook request shed: too many at once");
        crate::metrics::webhook("-", "-", "overloaded");
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        tracing::error!(error = %e, "webhook request failed");
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// Prometheus text. The queue depth is read from the store at scrape time (shared by all
/// replicas on PostgreSQL); it is left out when the store does not answer.
async fn metrics(State(store): State<Arc<dyn Store>>) -> impl axum::response::IntoResponse {
    let depth = store.queue_depth().await.ok();
    let ages = crate::recovery::scan_ages(store.as_ref()).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        crate::metrics::render(depth, &ages),
    )
}

/// Ready when the store answers.
async fn readyz(State(store): State<Arc<dyn Store>>) -> (StatusCode, &'static str) {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}

/// A running server: its address and the handle that stops it.
pub struct Running {
    pub addr: std::net::SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    grace: std::time::Duration,
    store: Arc<dyn crate::store::Store>,
}

/// Time on top of the grace period for releasing jobs and closing connections before
/// [`Running::stop`] gives up on a task.
const STOP_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

impl Running {
    /// The store the server uses: tests wait on it for a state (no queued or running job)
    /// instead of waiting a fixed time.
    pub fn store(&self) -> &Arc<dyn crate::store::Store> {
        &self.store
    }

    /// Stops everything at once, as a killed process would: the job in hand is neither finished
    /// nor released; its lease runs out and another worker takes it.
    pub fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Graceful shutdown: stops accepting connections, lets workers finish the job in hand
    /// within the grace period (`shutdown_grace_secs`) and release it after that, and waits
    /// for everything, at most the grace period plus a few seconds (a task still running then,
    /// such as a stuck HTTP connection, is aborted).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + self.grace + STOP_MARGIN;
        for mut t in self.tasks {
            if tokio::time::timeout_at(deadline, &mut t).await.is_err() {
                tracing::warn!("a task did not stop within the grace period; aborting it");
                t.abort();
            }
        }
    }
}

/// Opens the store, builds the GitHub client, starts `cfg.workers` workers and the HTTP server
/// on `listener`.
pub async fn start(
    cfg: &crate::config::ServeConfig,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<Running> {
    use anyhow::Context;

    let store = crate::store::open(&cfg.store)
        .await
        .with_context(|| format!("cannot open the store {}", redact_url(&cfg.store)))?;
    let github = if cfg.github_enabled() {
        let key_path = cfg
            .github
            .private_key_path
            .as_ref()
            .context("no private key path")?;
        let pem = std::fs::read_to_string(key_path)
            .with_context(|| format!("cannot read the GitHub App key {}", key_path.display()))?;
        let mut gh =
            crate::forge::github::GithubConfig::new(cfg.github.app_id.context("no app id")?, pem);
        gh.api_url = cfg.github.api_url.clone();
        gh.writes_per_minute = cfg.github.writes_per_minute;
        Some(Arc::new(crate::forge::github::GithubApp::new(gh)?))
    } else {
        tracing::warn!(
            "GitHub App not configured (THOTH_GITHUB_APP_ID, THOTH_GITHUB_PRIVATE_KEY_PATH): jobs cannot be published"
        );
        None
    };
    let azure = if cfg.azure.enabled() {
        let org_url = cfg
            .azure
            .org_url
            .as_deref()
            .context("no organization URL")?;
        let token = cfg.azure.token.clone().context("no token")?;
        let mut az = crate::forge::azure::AzureConfig::new(org_url, token);
        if let Some(api) = &cfg.azure.api_url {
            // A stand-in server (tests) answers the identity API too.
            az.api_url = api.trim_end_matches('/').to_string();
            az.identity_url = az.api_url.clone();
        }
        // Shared with GitHub's `org/team` names, so not refused: said once here, and again
        // when an override is weighed.
        for team in &cfg.commands.override_teams {
            if crate::forge::azure::identity::project_of(team).is_none() {
                tracing::warn!(team = %team, "override_teams entry without a [Project]\\ prefix: ignored on Azure DevOps");
            }
        }
        Some(Arc::new(crate::forge::azure::AzureContext {
            client: crate::forge::azure::AzureClient::new(az)?,
            max_finding_threads: cfg.azure.max_finding_threads,
        }))
    } else {
        None
    };
    let hook_auth = azure_hook_auth(&cfg.azure);
    if hook_auth.basic.is_none() && hook_auth.header.is_none() {
        tracing::warn!(
            "no Azure DevOps webhook credentials configured (THOTH_AZURE_WEBHOOK_USER/_PASSWORD or THOTH_AZURE_WEBHOOK_TOKEN_HEADER/_TOKEN): every Azure DevOps delivery is refused with 401"
        );
    }
    if cfg.github.webhook_secrets.is_empty() {
        tracing::warn!(
            "no GitHub webhook secret configured: every GitHub delivery is refused with 401"
        );
    }
    std::fs::create_dir_all(&cfg.cache_dir)
        .with_context(|| format!("cannot create {}", cfg.cache_dir.display()))?;
    let work_dir = cfg.cache_dir.join("work");
    std::fs::create_dir_all(&work_dir)?;
    let key = crate::web::links::DetailsKey::configured_or_generated(
        cfg.details_key.as_ref(),
        &cfg.data_dir,
    )
    .context("cannot set up the details-link key")?;
    let links = match &cfg.public_url {
        Some(url) => Some(crate::web::links::LinkMaker {
            public_url: url.clone(),
            key: key.clone(),
            valid_for: chrono::TimeDelta::days(cfg.details_link_days.min(3650) as i64),
        }),
        None => {
            tracing::warn!(
                "public_url (THOTH_PUBLIC_URL) is not set: no details link is posted on pull requests"
            );
            None
        }
    };
    let web = crate::web::WebState {
        store: store.clone(),
        key,
        link_days: cfg.details_link_days.min(3650) as i64,
        dashboard: cfg
            .dashboard_token
            .clone()
            .map(|t| Arc::new(crate::web::BearerToken(t)) as Arc<dyn crate::web::DashboardAccess>),
        workers: cfg.workers,
        store_kind: crate::web::store_kind(&cfg.store),
    };
    let wake = Arc::new(tokio::sync::Notify::new());
    let ctx = Arc::new(crate::worker::WorkerContext {
        store: store.clone(),
        github,
        azure,
        mirrors: Arc::new(crate::checkout::MirrorCache::new(
            cfg.cache_dir.join("mirrors"),
        )?),
        work_dir,
        policy_repo: cfg.policy_repo.as_deref().map(|p| {
            use crate::checkout::policy_repo::{GitPolicyRepo, PolicyRepo, is_git_url};
            Arc::new(if is_git_url(p) {
                PolicyRepo::Git(GitPolicyRepo::new(
                    p,
                    &cfg.policy_repo_ref,
                    std::time::Duration::from_secs(cfg.policy_repo_refresh_secs),
                    cfg.cache_dir.join("policy"),
                ))
            } else {
                PolicyRepo::Local(p.into())
            })
        }),
        sandbox: crate::sandbox::SandboxLimits {
            exe: crate::sandbox::gate_exe(cfg.gate_exe.as_deref())
                .context("cannot find the thoth-bot executable to run the gates")?,
            memory_mb: cfg.gate_memory_mb,
            timeout: std::time::Duration::from_secs(cfg.gate_timeout_secs),
        },
        burst: crate::decision::safety::BurstLimiter::default(),
        lease: std::time::Duration::from_secs(cfg.lease_secs),
        max_attempts: cfg.max_attempts,
        checkout_limits: crate::checkout::CheckoutLimits {
            max_mirror_bytes: cfg.mirror_max_mb.saturating_mul(1024 * 1024),
            ..Default::default()
        },
        commands: cfg.commands.clone(),
        permission_cache: Default::default(),
        shutdown_grace: std::time::Duration::from_secs(cfg.shutdown_grace_secs),
        wake: wake.clone(),
        links,
        ai: crate::ai::Reviewer::from_settings(&cfg.ai)
            .context("cannot set up the AI review client")?
            .map(Arc::new),
    });
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let host = hostname();
    for i in 0..cfg.workers {
        let id = format!("{host}-{}/{i}", std::process::id());
        tasks.push(tokio::spawn(crate::worker::run(
            ctx.clone(),
            id,
            rx.clone(),
        )));
    }
    tasks.extend(crate::recovery::spawn(
        crate::recovery::Recovery {
            store: store.clone(),
            github: ctx.github.clone(),
            azure: ctx.azure.clone(),
            wake: wake.clone(),
            owner: format!("{host}-{}", std::process::id()),
            redeliver_every: std::time::Duration::from_secs(cfg.redeliver_interval_secs),
            reconcile_every: std::time::Duration::from_secs(cfg.reconcile_interval_secs),
        },
        &rx,
    ));
    tasks.push(tokio::spawn(crate::housekeeping::run(
        store.clone(),
        std::time::Duration::from_secs(cfg.retention_days.saturating_mul(86_400)),
        // Pages stay as long as their links and the dashboard's 30 days, at least 90 days.
        std::time::Duration::from_secs(cfg.details_link_days.max(90).saturating_mul(86_400)),
        rx.clone(),
    )));
    let app = router(
        IntakeState {
            store: store.clone(),
            github_secrets: Arc::new(cfg.github.webhook_secrets.clone()),
            azure_auth: Arc::new(hook_auth),
            azure_org: crate::forge::azure::org_name(cfg.azure.org_url.as_deref().unwrap_or(""))
                .into(),
            wake: wake.clone(),
        },
        IntakeLimits::of(cfg),
        web,
        crate::api::ApiState {
            store: store.clone(),
            wake,
            max_body_bytes: usize::try_from(cfg.push_max_body_mb.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            limits: crate::inputs::ParseLimits::default(),
        },
    );
    let addr = listener.local_addr()?;
    let mut srx = rx.clone();
    tasks.push(tokio::spawn(async move {
        let shutdown = async move {
            let _ = srx.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP server failed");
        }
    }));
    tracing::info!(%addr, workers = cfg.workers, "thoth-bot listening");
    Ok(Running {
        addr,
        shutdown: tx,
        tasks,
        grace: std::time::Duration::from_secs(cfg.shutdown_grace_secs),
        store,
    })
}

fn azure_hook_auth(a: &crate::config::AzureSettings) -> crate::webhook::signature::AzureHookAuth {
    crate::webhook::signature::AzureHookAuth {
        basic: a.webhook_user.clone().zip(a.webhook_password.clone()),
        header: a.webhook_token_header.clone().zip(a.webhook_token.clone()),
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "thoth".into())
}

/// A store URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
