//! GitHub App authentication.
//!
//! The App signs a short-lived RS256 JWT with its private key and trades it for an installation
//! access token (`POST /app/installations/{id}/access_tokens`, valid one hour). octocrab does
//! both: [`GithubApp`] holds the App-level octocrab, and [`GithubApp::installation`] hands out an
//! [`InstallationClient`] whose octocrab caches the token, mints a new one when less than 30 s
//! are left, and re-mints once when GitHub answers 401 (a revoked token).
//!
//! octocrab's token cache is per `Octocrab` value and is *copied*, not shared, when the value is
//! cloned, so each installation gets exactly one octocrab, behind an `Arc`, kept in a map here:
//! every caller for that installation shares one token and one write budget.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use octocrab::secrecy::{ExposeSecret as _, SecretString};
use octocrab::service::middleware::retry::RetryConfig;

use super::client::InstallationClient;
use super::retry::{RetryPolicy, map_octocrab_error};
use crate::forge::ForgeError;
use crate::ids::InstallationId as Installation;

/// How to reach GitHub and how hard to push it.
pub struct GithubConfig {
    /// REST API root: `https://api.github.com`, `https://HOST/api/v3` on GitHub Enterprise
    /// Server, or a fake server in tests.
    pub api_url: String,
    pub app_id: u64,
    /// The App's private key (PEM, PKCS#1 as GitHub hands it out, or PKCS#8). Never logged.
    pub private_key_pem: SecretString,
    /// Write requests (anything but GET) per minute and installation. GitHub's secondary limit
    /// is about 80 content writes a minute; the default leaves headroom. 0 counts as 1.
    pub writes_per_minute: u32,
    /// Writes that may go out back to back before the per-minute pace applies. Small, because
    /// GitHub also penalises bursts.
    pub write_burst: u32,
    /// Retries per request (rate limits, 5xx, transport errors; see the module doc of
    /// [`super`]). 0 disables retrying.
    pub max_retries: u32,
    /// First backoff after a 5xx or a transport error; doubles on each retry (capped at 30 s).
    pub retry_base_delay: Duration,
    /// Longest rate-limit wait slept in place; a longer one is returned as
    /// [`ForgeError::RateLimited`] for the job queue to reschedule.
    pub max_rate_limit_wait: Duration,
    /// Per request read timeout (and connect timeout, capped at 10 s).
    pub request_timeout: Duration,
}

impl GithubConfig {
    /// The defaults for github.com.
    pub fn new(app_id: u64, private_key_pem: impl Into<String>) -> Self {
        GithubConfig {
            api_url: "https://api.github.com".to_owned(),
            app_id,
            private_key_pem: SecretString::from(private_key_pem.into()),
            writes_per_minute: 60,
            write_burst: 10,
            max_retries: 3,
            retry_base_delay: Duration::from_secs(1),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for GithubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubConfig")
            .field("api_url", &self.api_url)
            .field("app_id", &self.app_id)
            .field("private_key_pem", &"<redacted>")
            .field("writes_per_minute", &self.writes_per_minute)
            .field("write_burst", &self.write_burst)
            .field("max_retries", &self.max_retries)
            .field("retry_base_delay", &self.retry_base_delay)
            .field("max_rate_limit_wait", &self.max_rate_limit_wait)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// The App: makes installation clients, one per installation, shared.
pub struct GithubApp {
    app: Octocrab,
    app_id: u64,
    policy: RetryPolicy,
    writes_per_minute: u32,
    write_burst: u32,
    installations: Mutex<HashMap<Installation, InstallationClient>>,
    /// The App itself as a client (see [`GithubApp::app_client`]).
    app_client: InstallationClient,
}

impl fmt::Debug for GithubApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubApp")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl GithubApp {
    /// Parses the key and builds the App-level client. Makes no request.
    pub fn new(cfg: GithubConfig) -> anyhow::Result<Self> {
        let key =
            octocrab::EncodingKey::from_rsa_pem(cfg.private_key_pem.expose_secret().as_bytes())
                .context("GitHub App private key is not an RSA PEM key")?;
        let app = Octocrab::builder()
            .base_uri(cfg.api_url.trim_end_matches('/'))
            .with_context(|| format!("invalid GitHub API URL `{}`", cfg.api_url))?
            .app(AppId(cfg.app_id), key)
            // Retries are ours (client.rs): octocrab's would repeat POSTs after a 5xx or a
            // timeout, which duplicates comments.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(cfg.request_timeout.min(Duration::from_secs(10))))
            .set_read_timeout(Some(cfg.request_timeout))
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                "2022-11-28".to_owned(),
            )
            .build()
            .context("building the GitHub client")?;
        let policy = RetryPolicy {
            max_retries: cfg.max_retries,
            base_delay: cfg.retry_base_delay,
            max_rate_limit_wait: cfg.max_rate_limit_wait,
        };
        // No installation: its requests carry the App JWT.
        let app_client = InstallationClient::new(
            app.clone(),
            cfg.app_id,
            None,
            policy.clone(),
            cfg.writes_per_minute,
            cfg.write_burst,
        );
        Ok(GithubApp {
            app,
            app_id: cfg.app_id,
            policy,
            app_client,
            writes_per_minute: cfg.writes_per_minute,
            write_burst: cfg.write_burst,
            installations: Mutex::new(HashMap::new()),
        })
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// The App itself, authenticated with its JWT, for the `/app/...` endpoints (webhook
    /// deliveries, installations). The same request path as an installation's (retries, write
    /// budget: redelivery requests are writes), with a budget of its own; it has no
    /// installation token.
    pub fn app_client(&self) -> InstallationClient {
        self.app_client.clone()
    }

    /// The client for one installation: the same one (same token cache, same write budget) on
    /// every call. No request is made until the first API call.
    pub fn installation(
        &self,
        installation_id: Installation,
    ) -> Result<InstallationClient, ForgeError> {
        let mut map = self
            .installations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = map.get(&installation_id) {
            return Ok(client.clone());
        }
        let crab = self
            .app
            .installation(InstallationId(installation_id.0))
            .map_err(|e| map_octocrab_error(e).0)?;
        let client = InstallationClient::new(
            crab,
            self.app_id,
            Some(installation_id),
            self.policy.clone(),
            self.writes_per_minute,
            self.write_burst,
        );
        map.insert(installation_id, client.clone());
        Ok(client)
    }

    /// Drops the cached client (the installation was deleted or suspended).
    pub fn forget_installation(&self, installation_id: Installation) {
        self.installations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&installation_id);
    }
}

/// A git fetch can outlast a token that is about to expire, so hand out one with this much life.
const GIT_TOKEN_MIN_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

impl InstallationClient {
    /// The installation access token, for git over HTTPS
    /// (`https://x-access-token:TOKEN@github.com/OWNER/REPO.git`). Cached; a new one is minted
    /// when less than 5 minutes are left. Never log it.
    pub async fn installation_token(&self) -> Result<String, ForgeError> {
        let token = self
            .crab()
            .installation_token_with_buffer(GIT_TOKEN_MIN_LIFETIME)
            .await
            .map_err(|e| map_octocrab_error(e).0)?;
        Ok(token.expose_secret().to_owned())
    }
}
