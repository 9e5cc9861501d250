//! The Azure DevOps client: an organization's settings, and the one path every REST call takes.
//!
//! The calls go through `azure_devops_rust_api` (its `core`, `git` and `ims` clients) over our own
//! transport ([`super::transport`]), with azure_core's retry policy switched off: its policy
//! repeats any request after a 5xx, POSTs included, which is how duplicate threads get posted.
//! [`AzureClient::run`] applies the bot's rules instead ([`crate::forge::retry`]):
//!
//! - 429 is waited out for every method (Azure DevOps does not apply a throttled request), after
//!   `Retry-After` or a minute without one; a longer wait than
//!   [`AzureConfig::max_rate_limit_wait`] surfaces as `ForgeError::RateLimited` so the job is
//!   rescheduled instead of holding a worker.
//! - 5xx and lost connections are retried only for requests whose repetition cannot duplicate
//!   anything: reads, a vote, an edit. Never a POST (a status, a thread, a reply): the write may
//!   have landed behind the error. A connection that was never established is retried for all.
//!
//! The PAT is sent as HTTP Basic by the crate and never logged. `connectionData` (the PAT's own
//! identity) is not in the crate; it is the one request written here, through the same
//! transport and error path ([`AzureClient::bot_id`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use azure_core::error::ErrorKind;
use azure_core::http::headers::HeaderName;
use azure_core::http::{HttpClient as _, Method, Request, RetryOptions, Transport, Url};
use azure_devops_rust_api::{Credential, core, git, ims};
use serde_json::Value;

use super::transport::HyperTransport;
use crate::forge::ForgeError;
use crate::forge::retry::{
    self, Failure, Forge, Idempotency, Next, RetryPolicy, error_from_status, retry_after,
};
use crate::ids::{PrNumber, RepoId};
use crate::secret::{ExposeSecret as _, SecretString, basic_header};

/// The api-version of the request written here; the crate's own ask for `7.1-preview`.
pub const API_VERSION: &str = "7.1";

/// Azure DevOps sends `Retry-After` with its 429s; without one, a minute.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Settings of one organization.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// Organization URL shown to users (`https://dev.azure.com/acme`), used for links.
    pub org_url: String,
    /// REST API base; the organization URL unless a test server stands in.
    pub api_url: String,
    /// Identity API base (`https://vssps.dev.azure.com/ORG` for `https://dev.azure.com/ORG`).
    pub identity_url: String,
    pub token: SecretString,
    pub max_retries: u32,
    pub base_delay: Duration,
    /// A longer `Retry-After` is not slept: the job is rescheduled instead.
    pub max_rate_limit_wait: Duration,
    /// Per request, connection included.
    pub timeout: Duration,
}

impl AzureConfig {
    pub fn new(org_url: &str, token: SecretString) -> Self {
        let org_url = org_url.trim_end_matches('/').to_string();
        AzureConfig {
            api_url: org_url.clone(),
            identity_url: identity_url_of(&org_url),
            org_url,
            token,
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_rate_limit_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Where the identity (IMS) API of an organization lives: `vssps.dev.azure.com/ORG` for
/// `dev.azure.com/ORG`, `ORG.vssps.visualstudio.com` for `ORG.visualstudio.com`, the collection
/// URL itself on Azure DevOps Server.
pub fn identity_url_of(org_url: &str) -> String {
    if let Some(rest) = org_url.strip_prefix("https://dev.azure.com/") {
        return format!("https://vssps.dev.azure.com/{rest}");
    }
    if let Some(host) = org_url
        .strip_prefix("https://")
        .and_then(|h| h.strip_suffix(".visualstudio.com"))
        .filter(|h| !h.contains('/') && !h.contains('.'))
    {
        return format!("https://{host}.vssps.visualstudio.com");
    }
    org_url.to_string()
}

/// An Azure DevOps organization, reached with a PAT.
pub struct AzureClient {
    cfg: AzureConfig,
    /// The organization (or collection) as the crate's paths name it, for the REST API and for
    /// the identity API.
    pub(crate) org: String,
    pub(crate) identity_org: String,
    pub(crate) core: core::Client,
    pub(crate) git: git::Client,
    pub(crate) ims: ims::Client,
    transport: Arc<HyperTransport>,
    /// `Basic` credentials of the request written here.
    auth: SecretString,
    policy: RetryPolicy,
    /// The PAT owner's identity id: the reviewer the bot votes as. Asked once.
    bot_id: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for AzureClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureClient")
            .field("api_url", &self.cfg.api_url)
            .finish_non_exhaustive()
    }
}

/// Where a pull request is, as the crate's calls take it: percent-encoded project and
/// repository names (names work where the API documents ids, so the event model needs no
/// GUIDs), and the request path for messages.
pub(crate) struct PrAt {
    pub project: String,
    pub repo: String,
    pub pr: i32,
    pub path: String,
}

impl PrAt {
    pub fn new(repo: &RepoId, pr: PrNumber) -> Result<PrAt, ForgeError> {
        let parts: Vec<&str> = repo.as_str().split('/').collect();
        let [_org, project, name] = parts.as_slice() else {
            return Err(ForgeError::Invalid(format!(
                "{repo} is not organization/project/repository"
            )));
        };
        Ok(PrAt {
            project: segment(project),
            repo: segment(name),
            pr: id32(pr.0)?,
            path: pr_path(repo, pr)?,
        })
    }
}

/// An id as the crate's calls take it.
pub(crate) fn id32(id: u64) -> Result<i32, ForgeError> {
    i32::try_from(id).map_err(|_| ForgeError::Invalid(format!("id {id} is out of range")))
}

/// The crate's endpoint and organization for an organization (or collection) URL: the
/// generated code puts the organization in the path itself. `ORG.visualstudio.com` is the
/// same organization as `dev.azure.com/ORG`, where the path has room for it.
pub(crate) fn endpoint_and_org(url: &str) -> anyhow::Result<(Url, String)> {
    let url = url.trim_end_matches('/');
    if let Some(host) = url.strip_prefix("https://").filter(|h| !h.contains('/'))
        && let Some(org) = host.strip_suffix(".visualstudio.com")
    {
        let (org, base) = match org.strip_suffix(".vssps") {
            Some(org) => (org, "https://vssps.dev.azure.com"),
            None => (org, "https://dev.azure.com"),
        };
        return Ok((Url::parse(base)?, org.to_string()));
    }
    let (base, org) = url
        .rsplit_once('/')
        .filter(|(base, org)| !org.is_empty() && base.contains("://") && !base.ends_with('/'))
        .ok_or_else(|| anyhow::anyhow!("`{url}` names no organization or collection"))?;
    Ok((Url::parse(base)?, org.to_string()))
}

/// What follows a non-2xx answer (see the module doc).
pub(crate) fn next_after_status(
    status: u16,
    retry_after: Option<Duration>,
    idempotency: Idempotency,
) -> Next {
    match (status, idempotency) {
        (429, _) => Next::Wait(retry_after.unwrap_or(DEFAULT_RATE_LIMIT_WAIT)),
        (500..=599, Idempotency::Safe) => Next::Backoff,
        _ => Next::Fail,
    }
}

/// What a failed crate call means for the retry loop.
fn failure(what: &str, idempotency: Idempotency, e: azure_core::Error) -> Failure {
    let transport = |next| Failure {
        error: ForgeError::Transport(format!("{what}: {e}")),
        next,
    };
    match e.kind() {
        ErrorKind::HttpResponse {
            status,
            raw_response,
            ..
        } => {
            let status = u16::from(*status);
            let (wait, body) = raw_response
                .as_ref()
                .map(|r| {
                    let header = HeaderName::from_static("retry-after");
                    (
                        retry_after(r.headers().get_optional_str(&header)),
                        String::from_utf8_lossy(r.body()).into_owned(),
                    )
                })
                .unwrap_or_default();
            let next = next_after_status(status, wait, idempotency);
            Failure {
                error: error_from_status(what, status, &body, next),
                next,
            }
        }
        // Never connected: nothing was sent.
        ErrorKind::Connection => transport(Next::Backoff),
        // Sent, answer lost: a write may have landed.
        ErrorKind::Io if idempotency == Idempotency::Safe => transport(Next::Backoff),
        ErrorKind::DataConversion => Failure {
            error: ForgeError::Transport(format!("{what}: unexpected answer: {e}")),
            next: Next::Fail,
        },
        _ => transport(Next::Fail),
    }
}

impl AzureClient {
    pub fn new(cfg: AzureConfig) -> anyhow::Result<AzureClient> {
        let transport = Arc::new(HyperTransport::new(cfg.timeout)?);
        let (api, org) = endpoint_and_org(&cfg.api_url)?;
        let (identities, identity_org) = endpoint_and_org(&cfg.identity_url)?;
        let credential = Credential::from_pat(cfg.token.expose_secret());
        let core = core::ClientBuilder::new(credential.clone())
            .endpoint(api.clone())
            .retry(RetryOptions::none())
            .transport(Transport::new(transport.clone()))
            .build();
        let git = git::ClientBuilder::new(credential.clone())
            .endpoint(api)
            .retry(RetryOptions::none())
            .transport(Transport::new(transport.clone()))
            .build();
        let ims = ims::ClientBuilder::new(credential)
            .endpoint(identities)
            .retry(RetryOptions::none())
            .transport(Transport::new(transport.clone()))
            .build();
        // Any user name goes with a PAT.
        let auth = SecretString::from(basic_header("thoth-bot", cfg.token.expose_secret()));
        let policy = RetryPolicy {
            max_retries: cfg.max_retries,
            base_delay: cfg.base_delay,
            max_rate_limit_wait: cfg.max_rate_limit_wait,
        };
        Ok(AzureClient {
            cfg,
            org,
            identity_org,
            core,
            git,
            ims,
            transport,
            auth,
            policy,
            bot_id: tokio::sync::OnceCell::new(),
        })
    }

    pub fn config(&self) -> &AzureConfig {
        &self.cfg
    }

    /// The pull request's page, for status links.
    pub fn pr_web_url(&self, repo: &RepoId, pr: PrNumber) -> String {
        let parts: Vec<&str> = repo.as_str().split('/').collect();
        let (project, name) = match parts.as_slice() {
            [_, p, n] => (*p, *n),
            _ => ("", repo.as_str()),
        };
        format!(
            "{}/{}/_git/{}/pullrequest/{pr}",
            self.cfg.org_url,
            segment(project),
            segment(name)
        )
    }

    /// Runs one request (`request` builds and sends it, once per attempt) under the retry rules
    /// of the module doc. `what` (method and path) names it in errors and logs.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        what: &str,
        idempotency: Idempotency,
        mut request: F,
    ) -> Result<T, ForgeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = azure_core::Result<T>>,
    {
        retry::run(Forge::AzureDevOps, &self.policy, what, || {
            let sent = request();
            async move { sent.await.map_err(|e| failure(what, idempotency, e)) }
        })
        .await
    }

    /// The identity the PAT belongs to (`connectionData.authenticatedUser.id`).
    pub async fn bot_id(&self) -> Result<String, ForgeError> {
        self.bot_id
            .get_or_try_init(|| async {
                let what = "GET /_apis/connectionData";
                let v = self
                    .run(what, Idempotency::Safe, || self.connection_data())
                    .await?;
                v["authenticatedUser"]["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| {
                        ForgeError::Transport("connectionData names no authenticated user".into())
                    })
            })
            .await
            .cloned()
    }

    /// `GET _apis/connectionData`, which the crate lacks (it has no `location` area): built
    /// here, sent through the same transport, its errors checked as the crate checks its own.
    async fn connection_data(&self) -> azure_core::Result<Value> {
        let url = format!(
            "{}/_apis/connectionData?api-version={API_VERSION}",
            self.cfg.api_url
        );
        let mut request = Request::new(Url::parse(&url)?, Method::Get);
        request.insert_header("authorization", self.auth.expose_secret().to_string());
        request.insert_header("accept", "application/json");
        let answer = self.transport.execute_request(&request).await?;
        let answer = azure_core::http::check_success(answer, None).await?;
        let raw = answer.try_into_raw_response().await?;
        Ok(serde_json::from_slice(raw.body())?)
    }
}

pub(crate) use crate::encoding::path_segment as segment;

/// `/{project}/_apis/git/repositories/{repository}` for an `org/project/repository` id, as
/// messages and reconciliation name it.
pub fn repo_path(repo: &RepoId) -> Result<String, ForgeError> {
    let parts: Vec<&str> = repo.as_str().split('/').collect();
    match parts.as_slice() {
        [_org, project, name] => Ok(format!(
            "/{}/_apis/git/repositories/{}",
            segment(project),
            segment(name)
        )),
        _ => Err(ForgeError::Invalid(format!(
            "{repo} is not organization/project/repository"
        ))),
    }
}

pub(crate) fn pr_path(repo: &RepoId, pr: PrNumber) -> Result<String, ForgeError> {
    Ok(format!("{}/pullRequests/{pr}", repo_path(repo)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_names() {
        let repo: RepoId = "acme/My Project/infra".parse().unwrap();
        assert_eq!(
            repo_path(&repo).unwrap(),
            "/My%20Project/_apis/git/repositories/infra"
        );
        let gh: RepoId = "acme/infra".parse().unwrap();
        assert!(matches!(repo_path(&gh), Err(ForgeError::Invalid(_))));
    }

    #[test]
    fn the_crate_gets_the_host_and_the_organization_apart() {
        let split = |url: &str| {
            let (endpoint, org) = endpoint_and_org(url).unwrap();
            (endpoint.to_string(), org)
        };
        let pair = |e: &str, o: &str| (e.to_string(), o.to_string());
        assert_eq!(
            split("https://dev.azure.com/acme/"),
            pair("https://dev.azure.com/", "acme")
        );
        assert_eq!(
            split("https://vssps.dev.azure.com/acme"),
            pair("https://vssps.dev.azure.com/", "acme")
        );
        assert_eq!(
            split("https://acme.visualstudio.com"),
            pair("https://dev.azure.com/", "acme")
        );
        assert_eq!(
            split("https://acme.vssps.visualstudio.com"),
            pair("https://vssps.dev.azure.com/", "acme")
        );
        assert_eq!(
            split("https://tfs.corp/tfs/DefaultCollection"),
            pair("https://tfs.corp/tfs", "DefaultCollection")
        );
        assert_eq!(
            split("http://127.0.0.1:9/org"),
            pair("http://127.0.0.1:9/", "org")
        );
        assert!(endpoint_and_org("https://dev.azure.com").is_err());
    }

    #[test]
    fn only_safe_requests_repeat_after_a_5xx() {
        let wait = Some(Duration::from_secs(3));
        for idem in [Idempotency::Safe, Idempotency::Unsafe] {
            assert_eq!(
                next_after_status(429, wait, idem),
                Next::Wait(Duration::from_secs(3))
            );
            assert_eq!(
                next_after_status(429, None, idem),
                Next::Wait(DEFAULT_RATE_LIMIT_WAIT)
            );
            assert_eq!(next_after_status(404, None, idem), Next::Fail);
        }
        for code in [500, 502, 503, 504] {
            assert_eq!(
                next_after_status(code, None, Idempotency::Safe),
                Next::Backoff
            );
            assert_eq!(
                next_after_status(code, None, Idempotency::Unsafe),
                Next::Fail
            );
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let client = AzureClient::new(AzureConfig::new(
            "https://dev.azure.com/acme",
            SecretString::from("pat-123"),
        ))
        .unwrap();
        assert!(!format!("{client:?}").contains("pat-123"));
        assert_eq!(
            client.pr_web_url(&"acme/P Q/r".parse().unwrap(), PrNumber(4)),
            "https://dev.azure.com/acme/P%20Q/_git/r/pullrequest/4"
        );
    }
}
