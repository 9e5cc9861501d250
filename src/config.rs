//! Server configuration: `thoth-bot serve --config thoth.toml`, every key overridable by a
//! `THOTH_*` environment variable. Secrets are held in [`SecretString`] and never logged; an empty
//! secret is refused, from the file as from the environment.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::secret::{ExposeSecret as _, SecretString};

mod forges;
pub use forges::{AzureSettings, GithubSettings};

/// `thoth.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address to listen on (`THOTH_LISTEN`).
    pub listen: String,
    /// Store URL: `sled:PATH` or `postgres://...` (`THOTH_STORE`).
    pub store: String,
    /// Worker tasks per process (`THOTH_WORKERS`).
    pub workers: usize,
    /// Org policy repository (`THOTH_POLICY_REPO`): a directory on disk, or an `https://` git
    /// URL fetched with the forge's credentials (same host only) at `policy_repo_ref`.
    pub policy_repo: Option<String>,
    /// Tag, branch or full commit id of a git `policy_repo` (`THOTH_POLICY_REPO_REF`).
    pub policy_repo_ref: String,
    /// Seconds a fetched `policy_repo` ref is used before it is fetched again
    /// (`THOTH_POLICY_REPO_REFRESH_SECS`); each evaluation is pinned to one commit.
    pub policy_repo_refresh_secs: u64,
    /// Where per-repository git mirrors and checkouts live (`THOTH_CACHE_DIR`).
    pub cache_dir: PathBuf,
    /// Job lease in seconds: a job whose worker died is re-claimed after this
    /// (`THOTH_LEASE_SECS`). Running jobs renew it every third of it.
    pub lease_secs: u64,
    /// Claims a job gets (`THOTH_MAX_ATTEMPTS`): a failing job is dead after this many, and a
    /// job none of whose holders finished (crash, kill, lost lease) is dead at the next claim.
    pub max_attempts: u32,
    /// On SIGTERM, how long running jobs may take to finish before they are released back to
    /// the queue for another replica (`THOTH_SHUTDOWN_GRACE_SECS`). Keep it below the
    /// orchestrator's kill timeout (Kubernetes `terminationGracePeriodSeconds`, systemd
    /// `TimeoutStopSec`).
    pub shutdown_grace_secs: u64,
    /// Socket timeout of git fetches in seconds: a git server silent for longer fails the
    /// fetch (the job is retried) instead of holding a worker (`THOTH_GIT_TIMEOUT_SECS`).
    pub git_timeout_secs: u64,
    /// A repository's git mirror found larger than this many MiB is dropped and cloned afresh
    /// (`THOTH_MIRROR_MAX_MB`): the bound on the cache, since mirrors are never garbage collected.
    pub mirror_max_mb: u64,
    /// Days finished jobs are kept (`THOTH_RETENTION_DAYS`). A job is also its delivery's dedupe
    /// record: a redelivery within this period is recognised. At least 1.
    pub retention_days: u64,
    /// Address-space limit of the child process that runs one job's gates, in MiB
    /// (`THOTH_GATE_MEMORY_MB`). A child over it becomes an error finding, not a dead server.
    pub gate_memory_mb: u64,
    /// Wall-clock deadline of one job's gates in seconds (`THOTH_GATE_TIMEOUT_SECS`); the child's
    /// CPU-time limit is twice this.
    pub gate_timeout_secs: u64,
    /// The `thoth-bot` binary re-executed to run the gates (`THOTH_GATE_EXE`); default: the
    /// running executable.
    pub gate_exe: Option<PathBuf>,
    /// Webhook requests handled at once (`THOTH_WEBHOOK_MAX_CONCURRENCY`); more are answered 503
    /// at once rather than queued, so a flood cannot pile up tasks and memory. At least 1.
    pub webhook_max_concurrency: usize,
    /// Seconds a webhook request may take, body upload included (`THOTH_WEBHOOK_TIMEOUT_SECS`):
    /// a sender that stalls is answered 408 and its connection is closed. At least 1.
    pub webhook_timeout_secs: u64,
    /// Largest plan or drift report the push API (`/api/v1/plans`, `/api/v1/drift`) accepts,
    /// in MiB (`THOTH_PUSH_MAX_BODY_MB`); a larger body is answered 413 and nothing is stored.
    pub push_max_body_mb: u64,
    /// Seconds between two scans of the GitHub App's webhook delivery log, which ask GitHub to
    /// deliver again what failed (`THOTH_REDELIVER_INTERVAL_SECS`). The first scan runs at start.
    /// 0 turns the scan off.
    pub redeliver_interval_secs: u64,
    /// Seconds between two walks over the open pull requests (GitHub installations, Azure
    /// DevOps projects) that evaluate any head without a thoth result
    /// (`THOTH_RECONCILE_INTERVAL_SECS`). The first walk runs at start. 0 turns it off.
    pub reconcile_interval_secs: u64,
    /// Where the bot keeps files it generates for itself, such as the details key
    /// (`THOTH_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Base URL of this server as users reach it, e.g. `https://thoth.example.com`
    /// (`THOTH_PUBLIC_URL`). Every link the bot posts (the check run's `details_url`, the Azure
    /// DevOps status `targetUrl`) starts with it; without it no link is posted and the summary
    /// says how to set it.
    pub public_url: Option<String>,
    /// Key that signs details-page links (`THOTH_DETAILS_KEY`, at least 32 characters). When not
    /// set, a random key is generated into `data_dir/details.key` (mode 0600) on first start and
    /// reused; replicas must share it.
    #[serde(deserialize_with = "forges::secret")]
    pub details_key: Option<SecretString>,
    /// Days a posted details link stays valid (`THOTH_DETAILS_LINK_DAYS`). At least 1.
    pub details_link_days: u64,
    /// Bearer token that opens the dashboard at `/` (`THOTH_DASHBOARD_TOKEN`); without it the
    /// dashboard is off (404).
    #[serde(deserialize_with = "forges::secret")]
    pub dashboard_token: Option<SecretString>,
    /// GitHub App settings.
    pub github: GithubSettings,
    /// Who may steer the bot with `/thoth` comment commands.
    pub commands: CommandSettings,
    /// Azure DevOps settings.
    pub azure: AzureSettings,
    /// The AI review (off by default; see docs/ai-review.md).
    pub ai: crate::ai::AiSettings,
}

/// `[commands]`: authorization of `/thoth override`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommandSettings {
    /// Logins (GitHub) or unique names (Azure DevOps) that may override besides repository
    /// writers (`THOTH_OVERRIDE_USERS`, comma-separated).
    pub override_users: Vec<String>,
    /// Teams whose members may override: `org/team-slug`, or `team-slug` for the repository's
    /// owner organisation (`THOTH_OVERRIDE_TEAMS`, comma-separated).
    pub override_teams: Vec<String>,
    /// Whether the PR author may override the bot on their own PR (`THOTH_ALLOW_SELF_OVERRIDE`).
    pub allow_self_override: bool,
    /// How long a user's repository permission is cached, in seconds.
    pub permission_cache_secs: u64,
    /// `rerun`, `review`, `explain` and `help` commands one user may give on one pull request per hour
    /// (kept in the store, so replicas share it); the first command over it gets one reply,
    /// later ones in the hour are ignored.
    pub commands_per_hour: u32,
    /// What a push to the pull request does to an override given before it.
    pub override_after_push: OverrideAfterPush,
}

/// `[commands] override_after_push`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverrideAfterPush {
    /// A push ends the override, like GitHub's "dismiss stale pull request approvals".
    #[default]
    Drop,
    /// The override stays on a new head while the failing findings are the same ones.
    KeepIfSameFindings,
}

impl Default for CommandSettings {
    fn default() -> Self {
        CommandSettings {
            override_users: Vec::new(),
            override_teams: Vec::new(),
            allow_self_override: false,
            permission_cache_secs: 300,
            commands_per_hour: 10,
            override_after_push: OverrideAfterPush::Drop,
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:8080".into(),
            store: "sled:./thoth-data".into(),
            workers: 2,
            policy_repo: None,
            policy_repo_ref: "main".into(),
            policy_repo_refresh_secs: 300,
            cache_dir: PathBuf::from("./thoth-data/git"),
            lease_secs: crate::queue::DEFAULT_LEASE.as_secs(),
            max_attempts: crate::queue::MAX_ATTEMPTS,
            shutdown_grace_secs: 30,
            git_timeout_secs: 60,
            retention_days: 7,
            mirror_max_mb: 2048,
            gate_memory_mb: 1024,
            gate_timeout_secs: 120,
            gate_exe: None,
            webhook_max_concurrency: 256,
            webhook_timeout_secs: 10,
            push_max_body_mb: 20,
            redeliver_interval_secs: 300,
            reconcile_interval_secs: 1800,
            data_dir: PathBuf::from("./thoth-data"),
            public_url: None,
            details_key: None,
            details_link_days: 30,
            dashboard_token: None,
            github: GithubSettings::default(),
            commands: CommandSettings::default(),
            azure: AzureSettings::default(),
            ai: crate::ai::AiSettings::default(),
        }
    }
}

impl ServeConfig {
    /// Reads the file (if given), then applies the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<ServeConfig> {
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid config file {}", p.display()))?
            }
            None => ServeConfig::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// Applies `THOTH_*` variables from `get` (a function so tests need not touch the process env).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("THOTH_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("THOTH_STORE") {
            self.store = v;
        }
        if let Some(v) = get("THOTH_WORKERS") {
            self.workers = v.parse().context("THOTH_WORKERS must be a number")?;
        }
        if let Some(v) = get("THOTH_POLICY_REPO") {
            self.policy_repo = Some(v);
        }
        if let Some(v) = get("THOTH_POLICY_REPO_REF") {
            self.policy_repo_ref = v;
        }
        if let Some(v) = get("THOTH_POLICY_REPO_REFRESH_SECS") {
            self.policy_repo_refresh_secs = v
                .parse()
                .context("THOTH_POLICY_REPO_REFRESH_SECS must be a number of seconds")?;
        }
        if let Some(v) = get("THOTH_CACHE_DIR") {
            self.cache_dir = v.into();
        }
        if let Some(v) = get("THOTH_LEASE_SECS") {
            self.lease_secs = v.parse().context("THOTH_LEASE_SECS must be a number")?;
        }
        if let Some(v) = get("THOTH_MAX_ATTEMPTS") {
            self.max_attempts = v.parse().context("THOTH_MAX_ATTEMPTS must be a number")?;
        }
        if let Some(v) = get("THOTH_SHUTDOWN_GRACE_SECS") {
            self.shutdown_grace_secs = v
                .parse()
                .context("THOTH_SHUTDOWN_GRACE_SECS must be a number of seconds")?;
        }
        if let Some(v) = get("THOTH_MIRROR_MAX_MB") {
            self.mirror_max_mb = v
                .parse()
                .context("THOTH_MIRROR_MAX_MB must be a number of MiB")?;
        }
        if let Some(v) = get("THOTH_RETENTION_DAYS") {
            self.retention_days = v
                .parse()
                .context("THOTH_RETENTION_DAYS must be a number of days")?;
        }
        if let Some(v) = get("THOTH_WEBHOOK_MAX_CONCURRENCY") {
            self.webhook_max_concurrency = v
                .parse()
                .context("THOTH_WEBHOOK_MAX_CONCURRENCY must be a number")?;
        }
        if let Some(v) = get("THOTH_PUSH_MAX_BODY_MB") {
            self.push_max_body_mb = v
                .parse()
                .context("THOTH_PUSH_MAX_BODY_MB must be a number of MiB")?;
        }
        if let Some(v) = get("THOTH_WEBHOOK_TIMEOUT_SECS") {
            self.webhook_timeout_secs = v
                .parse()
                .context("THOTH_WEBHOOK_TIMEOUT_SECS must be a number of seconds")?;
        }
        if let Some(v) = get("THOTH_REDELIVER_INTERVAL_SECS") {
            self.redeliver_interval_secs = v
                .parse()
                .context("THOTH_REDELIVER_INTERVAL_SECS must be a number of seconds")?;
        }
        if let Some(v) = get("THOTH_RECONCILE_INTERVAL_SECS") {
            self.reconcile_interval_secs = v
                .parse()
                .context("THOTH_RECONCILE_INTERVAL_SECS must be a number of seconds")?;
        }
        if let Some(v) = get("THOTH_GIT_TIMEOUT_SECS") {
            self.git_timeout_secs = v
                .parse()
                .context("THOTH_GIT_TIMEOUT_SECS must be a number of seconds")?;
        }
        if let Some(v) = get("THOTH_GATE_MEMORY_MB") {
            self.gate_memory_mb = v
                .parse()
                .context("THOTH_GATE_MEMORY_MB must be a number of MiB")?;
        }
        if let Some(v) = get("THOTH_GATE_TIMEOUT_SECS") {
            self.gate_timeout_secs = v
                .parse()
                .context("THOTH_GATE_TIMEOUT_SECS must be a number of seconds")?;
        }
        if let Some(v) = get("THOTH_GATE_EXE").filter(|v| !v.trim().is_empty()) {
            self.gate_exe = Some(v.into());
        }
        if let Some(v) = get("THOTH_GITHUB_APP_ID") {
            self.github.app_id = Some(v.parse().context("THOTH_GITHUB_APP_ID must be a number")?);
        }
        if let Some(v) = get("THOTH_GITHUB_PRIVATE_KEY_PATH") {
            self.github.private_key_path = Some(v.into());
        }
        if let Some(v) = get("THOTH_GITHUB_WEBHOOK_SECRETS") {
            self.github.webhook_secrets = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(SecretString::from)
                .collect();
        }
        if let Some(v) = get("THOTH_GITHUB_API_URL") {
            self.github.api_url = v;
        }
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        if let Some(v) = get("THOTH_OVERRIDE_USERS") {
            self.commands.override_users = list(v);
        }
        if let Some(v) = get("THOTH_OVERRIDE_TEAMS") {
            self.commands.override_teams = list(v);
        }
        if let Some(v) = get("THOTH_ALLOW_SELF_OVERRIDE") {
            self.commands.allow_self_override = matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            );
        }
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("THOTH_AZURE_ORG_URL") {
            self.azure.org_url = Some(v.trim_end_matches('/').to_string());
        }
        if let Some(v) = non_empty("THOTH_AZURE_TOKEN") {
            self.azure.token = Some(SecretString::from(v));
        }
        if let Some(v) = non_empty("THOTH_AZURE_API_URL") {
            self.azure.api_url = Some(v.trim_end_matches('/').to_string());
        }
        if let Some(v) = non_empty("THOTH_AZURE_WEBHOOK_USER") {
            self.azure.webhook_user = Some(v);
        }
        if let Some(v) = non_empty("THOTH_AZURE_WEBHOOK_PASSWORD") {
            self.azure.webhook_password = Some(SecretString::from(v));
        }
        if let Some(v) = non_empty("THOTH_AZURE_WEBHOOK_TOKEN_HEADER") {
            self.azure.webhook_token_header = Some(v.trim().to_string());
        }
        if let Some(v) = non_empty("THOTH_AZURE_WEBHOOK_TOKEN") {
            self.azure.webhook_token = Some(SecretString::from(v));
        }
        if self.azure.webhook_token.is_some() != self.azure.webhook_token_header.is_some() {
            bail!(
                "THOTH_AZURE_WEBHOOK_TOKEN_HEADER and THOTH_AZURE_WEBHOOK_TOKEN must be set together"
            );
        }
        if self.azure.webhook_user.is_some() != self.azure.webhook_password.is_some() {
            bail!("THOTH_AZURE_WEBHOOK_USER and THOTH_AZURE_WEBHOOK_PASSWORD must be set together");
        }
        if let Some(v) = non_empty("THOTH_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = non_empty("THOTH_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = non_empty("THOTH_DETAILS_KEY") {
            self.details_key = Some(SecretString::from(v));
        }
        if let Some(v) = get("THOTH_DETAILS_LINK_DAYS") {
            self.details_link_days = v
                .parse()
                .context("THOTH_DETAILS_LINK_DAYS must be a number of days")?;
        }
        if let Some(v) = non_empty("THOTH_DASHBOARD_TOKEN") {
            self.dashboard_token = Some(SecretString::from(v));
        }
        if let Some(url) = &mut self.public_url {
            let trimmed = url.trim().trim_end_matches('/').to_string();
            if !(trimmed.starts_with("https://") || trimmed.starts_with("http://")) {
                bail!("public_url must start with https:// or http://, got `{trimmed}`");
            }
            *url = trimmed;
        }
        if self.details_link_days == 0 {
            bail!("details_link_days must be at least 1");
        }
        if self
            .details_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().len() < 32)
        {
            bail!("details_key must be at least 32 characters");
        }
        self.ai.apply_env(&get)?;
        if let Some(v) = get("THOTH_GITHUB_WRITES_PER_MINUTE") {
            self.github.writes_per_minute = v
                .parse()
                .context("THOTH_GITHUB_WRITES_PER_MINUTE must be a number")?;
        }
        if self.retention_days == 0 {
            bail!("retention_days must be at least 1");
        }
        if self.workers == 0 {
            bail!("workers must be at least 1");
        }
        // Below this the child cannot even start its runtime and every check would fail.
        if self.gate_memory_mb < 128 {
            bail!("gate_memory_mb must be at least 128");
        }
        if self.gate_timeout_secs == 0 {
            bail!("gate_timeout_secs must be at least 1");
        }
        if self.webhook_max_concurrency == 0 {
            bail!("webhook_max_concurrency must be at least 1");
        }
        if self.webhook_timeout_secs == 0 {
            bail!("webhook_timeout_secs must be at least 1");
        }
        if self.max_attempts == 0 {
            bail!("max_attempts must be at least 1");
        }
        if self.lease_secs == 0 {
            bail!("lease_secs must be at least 1");
        }
        let reference = self.policy_repo_ref.trim();
        if reference.is_empty()
            || reference.starts_with('-')
            || reference.contains("..")
            || reference
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
        {
            bail!("policy_repo_ref `{reference}` is not a valid tag, branch or commit id");
        }
        Ok(())
    }

    /// Whether enough GitHub settings are present to act as a GitHub App.
    pub fn github_enabled(&self) -> bool {
        self.github.app_id.is_some() && self.github.private_key_path.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_after_push_values() {
        let cfg: ServeConfig = toml::from_str("[commands]\ncommands_per_hour = 3\n").unwrap();
        assert_eq!(cfg.commands.override_after_push, OverrideAfterPush::Drop);
        assert_eq!(cfg.commands.commands_per_hour, 3);
        let cfg: ServeConfig =
            toml::from_str("[commands]\noverride_after_push = \"keep-if-same-findings\"\n")
                .unwrap();
        assert_eq!(
            cfg.commands.override_after_push,
            OverrideAfterPush::KeepIfSameFindings
        );
        assert!(
            toml::from_str::<ServeConfig>("[commands]\noverride_after_push = \"sticky\"\n")
                .is_err()
        );
    }

    #[test]
    fn details_settings_are_checked() {
        let mut cfg: ServeConfig =
            toml::from_str("public_url = \"https://thoth.example.com/\"\n").unwrap();
        cfg.apply_env(|_| None).unwrap();
        assert_eq!(cfg.public_url.as_deref(), Some("https://thoth.example.com"));
        assert_eq!(cfg.details_link_days, 30);
        let bad = |k: &'static str, v: &'static str| {
            let mut cfg = ServeConfig::default();
            cfg.apply_env(|name| (name == k).then(|| v.to_string()))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("THOTH_PUBLIC_URL", "thoth.example.com").contains("public_url"));
        assert!(bad("THOTH_DETAILS_LINK_DAYS", "0").contains("details_link_days"));
        assert!(bad("THOTH_DETAILS_KEY", "short").contains("details_key"));
        let mut cfg = ServeConfig::default();
        cfg.apply_env(|k| match k {
            "THOTH_DASHBOARD_TOKEN" => Some("t0ken".into()),
            "THOTH_DATA_DIR" => Some("/var/lib/thoth".into()),
            _ => None,
        })
        .unwrap();
        assert!(cfg.dashboard_token.is_some());
        assert_eq!(cfg.data_dir, PathBuf::from("/var/lib/thoth"));
        assert!(toml::from_str::<ServeConfig>("dashbord_token = \"x\"\n").is_err());
    }

    #[test]
    fn file_then_env() {
        let mut cfg: ServeConfig = toml::from_str(
            "listen = \"0.0.0.0:9000\"\n[github]\napp_id = 7\nwebhook_secrets = [\"a\"]\n",
        )
        .unwrap();
        cfg.apply_env(|k| match k {
            "THOTH_GITHUB_WEBHOOK_SECRETS" => Some("new, old".into()),
            "THOTH_STORE" => Some("postgres://x".into()),
            "THOTH_SHUTDOWN_GRACE_SECS" => Some("5".into()),
            "THOTH_MAX_ATTEMPTS" => Some("3".into()),
            "THOTH_RECONCILE_INTERVAL_SECS" => Some("60".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.listen, "0.0.0.0:9000");
        assert_eq!(cfg.redeliver_interval_secs, 300);
        assert_eq!(cfg.reconcile_interval_secs, 60);
        assert_eq!(cfg.store, "postgres://x");
        assert_eq!(cfg.github.app_id, Some(7));
        assert_eq!(cfg.shutdown_grace_secs, 5);
        assert_eq!(cfg.lease_secs, 30);
        assert_eq!(cfg.max_attempts, 3);
        let mut zero = ServeConfig::default();
        let err = zero
            .apply_env(|k| (k == "THOTH_MAX_ATTEMPTS").then(|| "0".into()))
            .unwrap_err();
        assert!(err.to_string().contains("max_attempts"), "{err}");
        let secrets: Vec<_> = cfg
            .github
            .webhook_secrets
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(secrets, ["new", "old"]);
        assert!(!format!("{cfg:?}").contains("new"));
    }

    #[test]
    fn azure_from_env_and_paired_settings() {
        let mut cfg = ServeConfig::default();
        cfg.apply_env(|k| match k {
            "THOTH_AZURE_ORG_URL" => Some("https://dev.azure.com/acme/".into()),
            "THOTH_AZURE_TOKEN" => Some("pat-secret".into()),
            "THOTH_AZURE_WEBHOOK_TOKEN_HEADER" => Some("X-Thoth-Token".into()),
            "THOTH_AZURE_WEBHOOK_TOKEN" => Some("hook-secret".into()),
            _ => None,
        })
        .unwrap();
        assert!(cfg.azure.enabled());
        assert_eq!(
            cfg.azure.org_url.as_deref(),
            Some("https://dev.azure.com/acme")
        );
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("pat-secret") && !shown.contains("hook-secret"));

        let mut half = ServeConfig::default();
        let err = half
            .apply_env(|k| (k == "THOTH_AZURE_WEBHOOK_USER").then(|| "u".into()))
            .unwrap_err();
        assert!(err.to_string().contains("PASSWORD"), "{err}");
        let file: ServeConfig =
            toml::from_str("[azure]\norg_url = \"https://x\"\ntoken = \"t\"\n").unwrap();
        assert!(file.azure.enabled());
    }

    #[test]
    fn empty_secrets_in_the_file_are_refused() {
        for text in [
            "[github]\nwebhook_secrets = [\"ok\", \"\"]\n",
            "[github]\nwebhook_secrets = [\"  \"]\n",
            "[azure]\ntoken = \"\"\n",
            "[azure]\nwebhook_user = \"u\"\nwebhook_password = \" \"\n",
            "[azure]\nwebhook_token_header = \"x-t\"\nwebhook_token = \"\"\n",
        ] {
            let err = toml::from_str::<ServeConfig>(text).unwrap_err();
            assert!(
                err.to_string().contains("must not be empty"),
                "{text}: {err}"
            );
        }
        assert!(toml::from_str::<ServeConfig>("[azure]\ntoken = \"t\"\n").is_ok());
    }

    #[test]
    fn debug_shows_no_secret() {
        let mut cfg: ServeConfig = toml::from_str(
            "[github]\nwebhook_secrets = [\"gh-hook-s3cret\"]\n[azure]\ntoken = \"az-pat-s3cret\"\nwebhook_user = \"u\"\nwebhook_password = \"az-pw-s3cret\"\nwebhook_token_header = \"x-t\"\nwebhook_token = \"az-tok-s3cret\"\n",
        )
        .unwrap();
        cfg.apply_env(|_| None).unwrap();
        let shown = format!("{cfg:?}");
        for secret in [
            "gh-hook-s3cret",
            "az-pat-s3cret",
            "az-pw-s3cret",
            "az-tok-s3cret",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<ServeConfig>("listn = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }
}
