//! `[ai]` in the server config, its `THOTH_AI_*` overrides, and the repository's
//! `.thothctl/ai_config.yaml` (read from the base branch), which may pick the model and its
//! settings but never the endpoint or the key.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::secret::SecretString;

/// Which API shape the endpoint speaks. All three are OpenAI chat completions; they differ in
/// the URL and the auth header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// `{base_url}/chat/completions`, `Authorization: Bearer KEY`.
    #[default]
    Openai,
    /// `base_url` is the deployment URL (`https://RES.openai.azure.com/openai/deployments/NAME`);
    /// `{base_url}/chat/completions?api-version=V`, `api-key: KEY`.
    Azure,
    /// `base_url` is Ollama's OpenAI endpoint (`http://localhost:11434/v1`); no key.
    Ollama,
}

impl Provider {
    /// The name ThothCTL's `ai_config.yaml` uses for it under `providers`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Azure => "azure_openai",
            Provider::Ollama => "ollama",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Provider> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Provider::Openai,
            "azure" | "azure_openai" | "azure-openai" => Provider::Azure,
            "ollama" => Provider::Ollama,
            other => bail!("THOTH_AI_PROVIDER must be openai, azure or ollama, not `{other}`"),
        })
    }
}

/// USD per million tokens of one model.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Input (prompt) tokens.
    pub input_per_million: f64,
    /// Output (completion) tokens.
    pub output_per_million: f64,
}

impl Price {
    /// What `usage` costs, in millionths of a US dollar (rounded to the nearest).
    pub fn cost_micro_usd(&self, usage: crate::ai::Usage) -> u64 {
        // USD per 1M tokens is exactly micro-USD per token.
        let micros = usage.input_tokens as f64 * self.input_per_million
            + usage.output_tokens as f64 * self.output_per_million;
        if micros.is_finite() && micros > 0.0 {
            micros.round().min(u64::MAX as f64) as u64
        } else {
            0
        }
    }
}

/// `[ai]`: the model that reviews pull requests. Off unless `enabled`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiSettings {
    /// Whether this server may call a model at all. A repository still needs
    /// `ai_review: true` in its decision config unless `default_on` is set.
    pub enabled: bool,
    /// Review every repository whose decision config does not say `ai_review: false`.
    pub default_on: bool,
    /// API shape (`THOTH_AI_PROVIDER`): `openai`, `azure` or `ollama`.
    pub provider: Provider,
    /// Endpoint (`THOTH_AI_BASE_URL`): `https://api.openai.com/v1`, an Azure OpenAI deployment
    /// URL, or `http://localhost:11434/v1`.
    pub base_url: String,
    /// Model name (`THOTH_AI_MODEL`); for Azure OpenAI the deployment decides, this names it
    /// in costs.
    pub model: String,
    /// Name of the environment variable holding the key (`THOTH_AI_API_KEY` holds the key
    /// itself and wins).
    pub api_key_env: Option<String>,
    /// Azure OpenAI `api-version`.
    pub api_version: String,
    /// Upper bound of the answer's tokens; a repository may ask for fewer, never more.
    pub max_tokens: u32,
    /// Sampling temperature (0..=2).
    pub temperature: f32,
    /// Seconds one request may take.
    pub timeout_secs: u64,
    /// Seconds the whole review may take, retries included; then the gates' outcome is
    /// published without it.
    pub deadline_secs: u64,
    /// The diff sent to the model is cut at this many bytes (the prompt says what was cut).
    pub max_diff_bytes: usize,
    /// Whether AI findings of high or critical severity fail the merge gate. Default `false`:
    /// they are shown, and can only raise the risk.
    pub ai_findings_block: bool,
    /// USD per installation or organization and day; over it reviews are skipped. 0: no limit.
    pub daily_budget_usd: f64,
    /// USD per installation or organization and calendar month. 0: no limit.
    pub monthly_budget_usd: f64,
    /// Prices by model name; a model not listed counts tokens only.
    pub pricing: BTreeMap<String, Price>,
    /// The key, from `THOTH_AI_API_KEY` or the variable `api_key_env` names (never the file).
    #[serde(skip)]
    pub api_key: Option<SecretString>,
}

impl Default for AiSettings {
    fn default() -> Self {
        AiSettings {
            enabled: false,
            default_on: false,
            provider: Provider::Openai,
            base_url: "https://api.openai.com/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key_env: None,
            api_version: "2024-10-21".into(),
            max_tokens: 4000,
            temperature: 0.1,
            timeout_secs: 60,
            deadline_secs: 180,
            max_diff_bytes: 60_000,
            ai_findings_block: false,
            daily_budget_usd: 0.0,
            monthly_budget_usd: 0.0,
            pricing: BTreeMap::new(),
            api_key: None,
        }
    }
}

impl AiSettings {
    /// Applies `THOTH_AI_*` from `get`, reads the key, and checks the values.
    pub fn apply_env(&mut self, get: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("THOTH_AI_PROVIDER") {
            self.provider = Provider::parse(&v)?;
        }
        if let Some(v) = non_empty("THOTH_AI_BASE_URL") {
            self.base_url = v.trim().to_string();
        }
        if let Some(v) = non_empty("THOTH_AI_MODEL") {
            self.model = v.trim().to_string();
        }
        if let Some(v) = non_empty("THOTH_AI_ENABLED") {
            self.enabled = matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            );
        }
        self.api_key = non_empty("THOTH_AI_API_KEY")
            .or_else(|| self.api_key_env.as_deref().and_then(non_empty))
            .map(SecretString::from);
        self.base_url = self.base_url.trim_end_matches('/').to_string();
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            bail!(
                "ai.base_url must start with https:// or http://, got `{}`",
                self.base_url
            );
        }
        if !valid_model(&self.model) {
            bail!("ai.model must be 1-100 characters without spaces or control characters");
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            bail!("ai.temperature must be between 0 and 2");
        }
        if self.max_tokens == 0 || self.timeout_secs == 0 || self.deadline_secs == 0 {
            bail!("ai.max_tokens, ai.timeout_secs and ai.deadline_secs must be at least 1");
        }
        if self.max_diff_bytes < 1024 {
            bail!("ai.max_diff_bytes must be at least 1024");
        }
        if !(self.daily_budget_usd >= 0.0 && self.monthly_budget_usd >= 0.0) {
            bail!("ai budgets must not be negative");
        }
        for (model, p) in &self.pricing {
            if !(p.input_per_million >= 0.0 && p.output_per_million >= 0.0) {
                bail!("ai.pricing.{model}: prices must not be negative");
            }
        }
        if self.enabled && self.provider != Provider::Ollama && self.api_key.is_none() {
            bail!(
                "ai is enabled for {} but no key is set: THOTH_AI_API_KEY or the variable ai.api_key_env names",
                self.provider.name()
            );
        }
        Ok(())
    }

    /// The price of `model`, if the table has it.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.pricing.get(model).copied()
    }

    /// The settings of one review: the server's, with what the repository may choose.
    pub fn for_repo(&self, repo: Option<&RepoAiConfig>) -> ModelSettings {
        let mut s = ModelSettings {
            model: self.model.clone(),
            max_tokens: self.max_tokens,
            temperature: self.temperature,
        };
        if let Some(p) = repo.and_then(|r| r.provider(self.provider)) {
            if let Some(m) = p.model.as_deref().filter(|m| valid_model(m)) {
                s.model = m.to_string();
            }
            if let Some(t) = p.max_tokens {
                s.max_tokens = t.clamp(1, self.max_tokens);
            }
            if let Some(t) = p.temperature.filter(|t| (0.0..=2.0).contains(t)) {
                s.temperature = t;
            }
        }
        s
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.deadline_secs)
    }
}

fn valid_model(m: &str) -> bool {
    !m.is_empty() && m.len() <= 100 && !m.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What one review asks the model for.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    pub model: String,
    pub max_tokens: u32,
    pub temperature: f32,
}

/// Where the repository's AI settings live, relative to the base branch's root.
pub const REPO_CONFIG_FILE: &str = ".thothctl/ai_config.yaml";

/// ThothCTL's `.thothctl/ai_config.yaml`; only the keys thoth-bot honours are read, the rest
/// (regions, agent ids, endpoints, keys) are ignored on purpose.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepoAiConfig {
    #[serde(default)]
    pub ai_review: RepoAiReview,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepoAiReview {
    #[serde(default)]
    pub default_provider: Option<String>,
    #[serde(default)]
    pub providers: BTreeMap<String, RepoProvider>,
}

/// The model settings of one provider section.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepoProvider {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f32>,
}

impl RepoAiConfig {
    /// Reads the file under `base_dir`; missing is `None`. A symlink or a file over 64 KiB is
    /// an error, like the decision config.
    pub fn load(base_dir: &Path) -> anyhow::Result<Option<RepoAiConfig>> {
        let path = base_dir.join(REPO_CONFIG_FILE);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context(REPO_CONFIG_FILE),
        };
        if !meta.is_file() || meta.len() > 64 * 1024 {
            bail!("{REPO_CONFIG_FILE} must be a regular file of at most 64 KiB");
        }
        let text = std::fs::read_to_string(&path).context(REPO_CONFIG_FILE)?;
        let cfg = serde_yaml::from_str(&text).context(REPO_CONFIG_FILE)?;
        Ok(Some(cfg))
    }

    /// The section for the server's provider: its own name, or `default_provider`'s when that
    /// names the same kind of endpoint (`azure` for `azure_openai`).
    fn provider(&self, server: Provider) -> Option<&RepoProvider> {
        let r = &self.ai_review;
        let same = |name: &str| Provider::parse(name).ok() == Some(server);
        r.default_provider
            .as_deref()
            .filter(|d| same(d))
            .and_then(|d| r.providers.get(d))
            .or_else(|| {
                r.providers
                    .iter()
                    .find(|(name, _)| same(name))
                    .map(|(_, p)| p)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret as _;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn env_overrides_the_file_and_the_key_comes_from_env_only() {
        let mut s: AiSettings = toml::from_str(
            "enabled = true\nprovider = \"openai\"\nmodel = \"gpt-4o\"\napi_key_env = \"MY_KEY\"\n",
        )
        .unwrap();
        s.apply_env(&env(&[("MY_KEY", "k1")])).unwrap();
        assert_eq!(s.api_key.as_ref().unwrap().expose_secret(), "k1");
        s.apply_env(&env(&[
            ("THOTH_AI_PROVIDER", "ollama"),
            ("THOTH_AI_BASE_URL", "http://localhost:11434/v1/"),
            ("THOTH_AI_MODEL", "llama3"),
            ("THOTH_AI_API_KEY", "k2"),
        ]))
        .unwrap();
        assert_eq!(s.provider, Provider::Ollama);
        assert_eq!(s.base_url, "http://localhost:11434/v1");
        assert_eq!(s.model, "llama3");
        assert_eq!(s.api_key.as_ref().unwrap().expose_secret(), "k2");
        assert!(!format!("{s:?}").contains("k2"));
        assert!(toml::from_str::<AiSettings>("api_key = \"x\"\n").is_err());
    }

    #[test]
    fn enabled_without_a_key_is_refused_except_for_ollama() {
        let mut s = AiSettings {
            enabled: true,
            ..AiSettings::default()
        };
        let err = s.apply_env(&|_| None).unwrap_err().to_string();
        assert!(err.contains("THOTH_AI_API_KEY"), "{err}");
        s.provider = Provider::Ollama;
        s.apply_env(&|_| None).unwrap();
        let err = s
            .apply_env(&env(&[("THOTH_AI_PROVIDER", "bedrock")]))
            .unwrap_err();
        assert!(err.to_string().contains("bedrock"), "{err}");
    }

    #[test]
    fn the_repository_picks_model_and_settings_within_the_server_bounds() {
        let server = AiSettings {
            max_tokens: 2000,
            ..AiSettings::default()
        };
        let repo: RepoAiConfig = serde_yaml::from_str(
            "ai_review:\n  default_provider: openai\n  providers:\n    openai:\n      model: gpt-4o\n      max_tokens: 8000\n      temperature: 0.3\n      base_url: http://evil.example\n      api_key: stolen\n    ollama:\n      model: llama3\n",
        )
        .unwrap();
        let s = server.for_repo(Some(&repo));
        assert_eq!(s.model, "gpt-4o");
        assert_eq!(s.max_tokens, 2000, "never more than the server allows");
        assert_eq!(s.temperature, 0.3);
        let ollama = AiSettings {
            provider: Provider::Ollama,
            ..AiSettings::default()
        };
        assert_eq!(ollama.for_repo(Some(&repo)).model, "llama3");
        assert_eq!(server.for_repo(None).model, "gpt-4o-mini");
    }
}
