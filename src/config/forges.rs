//! `[github]` and `[azure]`: how the bot reaches each forge and checks its deliveries.

use std::path::PathBuf;

use serde::Deserialize;

use crate::secret::SecretString;

/// `[azure]`: one Azure DevOps organization, reached with a PAT, sending service hooks.
///
/// Azure DevOps signs nothing, so deliveries must carry the Basic credentials and/or the header
/// token configured on the subscription. With neither configured every delivery is refused (401).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureSettings {
    /// Organization URL, e.g. `https://dev.azure.com/acme` (`THOTH_AZURE_ORG_URL`).
    pub org_url: Option<String>,
    /// Personal access token (Code: read & write, Identity: read) used for the REST API and for
    /// cloning (`THOTH_AZURE_TOKEN`).
    #[serde(deserialize_with = "secret")]
    pub token: Option<SecretString>,
    /// REST API base when it differs from `org_url` (a test server) (`THOTH_AZURE_API_URL`).
    pub api_url: Option<String>,
    /// Basic user name the service hook sends (`THOTH_AZURE_WEBHOOK_USER`).
    pub webhook_user: Option<String>,
    /// Basic password the service hook sends (`THOTH_AZURE_WEBHOOK_PASSWORD`).
    #[serde(deserialize_with = "secret")]
    pub webhook_password: Option<SecretString>,
    /// Name of a header the service hook sends (`THOTH_AZURE_WEBHOOK_TOKEN_HEADER`).
    pub webhook_token_header: Option<String>,
    /// Value of that header (`THOTH_AZURE_WEBHOOK_TOKEN`).
    #[serde(deserialize_with = "secret")]
    pub webhook_token: Option<SecretString>,
    /// Finding threads anchored to file:line posted per pull request; the rest are only listed
    /// in the summary thread.
    pub max_finding_threads: usize,
}

impl Default for AzureSettings {
    fn default() -> Self {
        AzureSettings {
            org_url: None,
            token: None,
            api_url: None,
            webhook_user: None,
            webhook_password: None,
            webhook_token_header: None,
            webhook_token: None,
            max_finding_threads: 20,
        }
    }
}

impl AzureSettings {
    /// Whether the organization URL and the token are both set (needed to evaluate and publish).
    pub fn enabled(&self) -> bool {
        self.org_url.is_some() && self.token.is_some()
    }
}

/// A secret from the file; an empty one is refused (it would accept anything, or nothing).
pub(super) fn secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretString>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(non_empty_secret)
        .transpose()
}

fn non_empty_secret<E: serde::de::Error>(s: String) -> Result<SecretString, E> {
    if s.trim().is_empty() {
        return Err(E::custom("a secret must not be empty"));
    }
    Ok(SecretString::from(s))
}

/// `[github]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GithubSettings {
    /// App id (`THOTH_GITHUB_APP_ID`).
    pub app_id: Option<u64>,
    /// PEM private key of the App (`THOTH_GITHUB_PRIVATE_KEY_PATH`).
    pub private_key_path: Option<PathBuf>,
    /// Webhook secrets; several are accepted during rotation (`THOTH_GITHUB_WEBHOOK_SECRETS`,
    /// comma-separated).
    #[serde(deserialize_with = "secrets")]
    pub webhook_secrets: Vec<SecretString>,
    /// REST API base (`THOTH_GITHUB_API_URL`): GitHub Enterprise or a test server.
    pub api_url: String,
    /// Content writes per minute per installation (GitHub allows about 80)
    /// (`THOTH_GITHUB_WRITES_PER_MINUTE`).
    pub writes_per_minute: u32,
}

fn secrets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    let v: Vec<String> = Vec::deserialize(d)?;
    v.into_iter().map(non_empty_secret).collect()
}

impl Default for GithubSettings {
    fn default() -> Self {
        GithubSettings {
            app_id: None,
            private_key_path: None,
            webhook_secrets: Vec::new(),
            api_url: "https://api.github.com".into(),
            writes_per_minute: 60,
        }
    }
}
