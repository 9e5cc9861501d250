//! A small Azure DevOps REST client (api-version 7.1) over hyper: the few pull-request calls the
//! bot makes, with the retry rules of the GitHub client (see [`crate::forge::github`]): rate
//! limits (429 + `Retry-After`) are waited out for every method, 5xx is retried only when
//! repeating cannot duplicate a write. The PAT is sent as HTTP Basic and never logged.

use std::time::Duration;

use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::forge::ForgeError;
use crate::forge::github::retry::{
    Idempotency, Next, backoff, error_from_status, next_after_status, now_epoch,
};
use crate::ids::{CommitSha, PrNumber, RepoId};
use crate::secret::{ExposeSecret as _, SecretString, basic_header};

/// The REST API version every call asks for.
pub const API_VERSION: &str = "7.1";

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

/// The state of a PR status (`GitStatusState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Pending,
    Succeeded,
    Failed,
    Error,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Succeeded => "succeeded",
            StatusState::Failed => "failed",
            StatusState::Error => "error",
        }
    }
}

/// A comment thread as listed by the API (only what the bot reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Thread {
    pub id: u64,
    #[serde(default)]
    pub comments: Vec<ThreadComment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadComment {
    pub id: u64,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub author: Option<CommentAuthor>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub comment_type: Option<String>,
    /// When the text was last changed; strings, read leniently (see [`ThreadComment::written_at`]).
    #[serde(default)]
    pub last_content_updated_date: Option<String>,
    #[serde(default)]
    pub published_date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentAuthor {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
}

impl ThreadComment {
    /// Whether the identity `id` (the bot's, [`AzureClient::bot_id`]) wrote this comment: the
    /// bot trusts its markers only in its own comments.
    pub fn is_by(&self, id: &str) -> bool {
        self.author
            .as_ref()
            .and_then(|a| a.id.as_deref())
            .is_some_and(|a| a.eq_ignore_ascii_case(id))
    }
}

/// An Azure DevOps organization, reached with a PAT.
pub struct AzureClient {
    cfg: AzureConfig,
    auth: HeaderValue,
    http: crate::https::HttpsClient,
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

pub(crate) use crate::encoding::path_segment as segment;

/// `/{project}/_apis/git/repositories/{repository}` for an `org/project/repository` id. Names
/// work where the API documents ids, so the event model needs no GUIDs.
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

impl AzureClient {
    pub fn new(cfg: AzureConfig) -> anyhow::Result<AzureClient> {
        let http = crate::https::client()?;
        // Any user name goes with a PAT.
        let mut auth =
            HeaderValue::from_str(&basic_header("thoth-bot", cfg.token.expose_secret()))?;
        auth.set_sensitive(true);
        Ok(AzureClient {
            cfg,
            auth,
            http,
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

    /// One request to the REST API with retries. `path` starts with `/`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Value, ForgeError> {
        self.call_on(&self.cfg.api_url, method, path, body, idempotency)
            .await
    }

    /// One request to `base` (the REST or the identity API) with retries. `path` starts with
    /// `/` and may carry a query; `api-version` is added.
    pub(crate) async fn call_on(
        &self,
        base: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Value, ForgeError> {
        let mut attempt = 0u32;
        loop {
            let sent = self.send_once(base, &method, path, body).await;
            crate::metrics::forge_call("azure-devops", sent.as_ref().ok().map(|r| r.0.as_u16()));
            let (error, next) = match sent {
                Ok((status, _, text)) if status.is_success() => {
                    return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
                }
                Ok((status, headers, text)) => {
                    let next = next_after_status(status, &headers, &text, idempotency, now_epoch());
                    (error_from_status(&method, path, status, &text, next), next)
                }
                // A write may have landed behind a dropped connection: only safe calls repeat.
                Err(e) if idempotency == Idempotency::Safe => (e, Next::Backoff),
                Err(e) => (e, Next::Fail),
            };
            let wait = match next {
                Next::Fail => return Err(error),
                Next::Wait(w) if w > self.cfg.max_rate_limit_wait => return Err(error),
                Next::Wait(w) => {
                    crate::metrics::rate_limit_wait(
                        "azure-devops",
                        crate::metrics::WaitSource::Forge,
                        w,
                    );
                    w
                }
                Next::Backoff => backoff(self.cfg.base_delay, attempt),
            };
            if attempt >= self.cfg.max_retries {
                return Err(error);
            }
            attempt += 1;
            tracing::warn!(%method, path, attempt, wait_ms = wait.as_millis() as u64, error = %error,
                "Azure DevOps request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        base: &str,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, http::HeaderMap, String), ForgeError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let uri = format!("{base}{path}{sep}api-version={API_VERSION}");
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(header::AUTHORIZATION, self.auth.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "thoth-bot")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| ForgeError::Invalid(format!("{method} {path}: {e}")))?;
        let transport =
            |e: &dyn std::fmt::Display| ForgeError::Transport(format!("{method} {path}: {e}"));
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| transport(&e))?;
            let (parts, body) = response.into_parts();
            let collected = body.collect().await.map_err(|e| transport(&e))?;
            let text = String::from_utf8_lossy(&collected.to_bytes()).into_owned();
            Ok((parts.status, parts.headers, text))
        };
        tokio::time::timeout(self.cfg.timeout, exchange)
            .await
            .map_err(|_| transport(&"timed out"))?
    }

    /// The identity the PAT belongs to (`connectionData.authenticatedUser.id`).
    pub async fn bot_id(&self) -> Result<String, ForgeError> {
        self.bot_id
            .get_or_try_init(|| async {
                let v = self
                    .call(
                        Method::GET,
                        "/_apis/connectionData",
                        None,
                        Idempotency::Safe,
                    )
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

    /// The iteration whose source commit is `head` (the latest one if none matches).
    pub async fn iteration_for(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        head: &CommitSha,
    ) -> Result<Option<u64>, ForgeError> {
        let path = format!("{}/iterations", pr_path(repo, pr)?);
        let v = self
            .call(Method::GET, &path, None, Idempotency::Safe)
            .await?;
        let list = v["value"].as_array().cloned().unwrap_or_default();
        let matching = list.iter().rev().find(|it| {
            it["sourceRefCommit"]["commitId"]
                .as_str()
                .is_some_and(|c| c.eq_ignore_ascii_case(head.as_str()))
        });
        Ok(matching.or(list.last()).and_then(|it| it["id"].as_u64()))
    }

    /// Posts the `thoth/policy` status, bound to `iteration` when known.
    pub async fn post_status(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        iteration: Option<u64>,
        state: StatusState,
        description: &str,
        target_url: &str,
    ) -> Result<(), ForgeError> {
        let mut body = json!({
            "state": state.as_str(),
            "description": description.chars().take(400).collect::<String>(),
            "context": { "genre": "thoth", "name": "policy" },
            "targetUrl": target_url,
        });
        if let Some(it) = iteration {
            body["iterationId"] = json!(it);
        }
        let path = format!("{}/statuses", pr_path(repo, pr)?);
        // A status list is append-only, but a duplicate of the same state is harmless: the
        // latest one per context is what branch policies read.
        self.call(Method::POST, &path, Some(&body), Idempotency::Safe)
            .await
            .map(drop)
    }

    /// Sets the bot's vote (10, 5, 0, -5, -10). Setting a value is idempotent.
    pub async fn vote(&self, repo: &RepoId, pr: PrNumber, vote: i32) -> Result<(), ForgeError> {
        let me = self.bot_id().await?;
        let path = format!("{}/reviewers/{}", pr_path(repo, pr)?, segment(&me));
        self.call(
            Method::PUT,
            &path,
            Some(&json!({ "vote": vote })),
            Idempotency::Safe,
        )
        .await
        .map(drop)
    }

    /// Every comment thread of the pull request.
    pub async fn threads(&self, repo: &RepoId, pr: PrNumber) -> Result<Vec<Thread>, ForgeError> {
        let path = format!("{}/threads", pr_path(repo, pr)?);
        let v = self
            .call(Method::GET, &path, None, Idempotency::Safe)
            .await?;
        serde_json::from_value(v["value"].clone())
            .map_err(|e| ForgeError::Transport(format!("GET {path}: unexpected answer: {e}")))
    }

    /// Creates a thread with one comment; anchored to `file:line` when given. Returns its id.
    pub async fn create_thread(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        content: &str,
        status: &str,
        anchor: Option<(&str, u32)>,
    ) -> Result<u64, ForgeError> {
        let mut body = json!({
            "comments": [{ "parentCommentId": 0, "content": content, "commentType": "text" }],
            "status": status,
        });
        if let Some((file, line)) = anchor {
            let file = format!("/{}", file.trim_start_matches('/'));
            body["threadContext"] = json!({
                "filePath": file,
                "rightFileStart": { "line": line, "offset": 1 },
                "rightFileEnd": { "line": line, "offset": 1 },
            });
        }
        let path = format!("{}/threads", pr_path(repo, pr)?);
        let v = self
            .call(Method::POST, &path, Some(&body), Idempotency::Unsafe)
            .await?;
        v["id"]
            .as_u64()
            .ok_or_else(|| ForgeError::Transport(format!("POST {path}: no thread id")))
    }

    /// Adds a comment to an existing thread, as a reply to `parent_comment`. Returns its id.
    pub async fn reply(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        thread: u64,
        parent_comment: u64,
        content: &str,
    ) -> Result<u64, ForgeError> {
        let path = format!("{}/threads/{thread}/comments", pr_path(repo, pr)?);
        let body =
            json!({ "content": content, "parentCommentId": parent_comment, "commentType": 1 });
        let v = self
            .call(Method::POST, &path, Some(&body), Idempotency::Unsafe)
            .await?;
        v["id"]
            .as_u64()
            .ok_or_else(|| ForgeError::Transport(format!("POST {path}: no comment id")))
    }

    /// Replaces the first comment of a thread and sets the thread's status.
    pub async fn update_thread(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        thread: u64,
        comment: u64,
        content: &str,
        status: &str,
    ) -> Result<(), ForgeError> {
        let thread_path = format!("{}/threads/{thread}", pr_path(repo, pr)?);
        let comment_path = format!("{thread_path}/comments/{comment}");
        self.call(
            Method::PATCH,
            &comment_path,
            Some(&json!({ "content": content })),
            Idempotency::Safe,
        )
        .await?;
        self.call(
            Method::PATCH,
            &thread_path,
            Some(&json!({ "status": status })),
            Idempotency::Safe,
        )
        .await
        .map(drop)
    }
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
