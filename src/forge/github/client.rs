//! The installation client: one request path for every call (write budget, retries, error
//! mapping), and the simple REST calls. The publishing calls are in [`super::publish`].
//!
//! Requests go through octocrab's raw API (`_get` / `_post` / `_patch`), which returns the
//! `http::Response`, so status and rate-limit headers are ours to read. Paths are relative
//! (`/repos/...`): octocrab only attaches the token to a request without an authority (or one
//! for api.github.com), and its base-URI layer then adds the configured host, including the
//! `/api/v3` prefix of GitHub Enterprise Server.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::retry::{
    Idempotency, Next, RetryPolicy, is_transport, map_octocrab_error, next_after_status,
};
use super::{CheckRunId, Permission, Reaction};
use crate::event::PullRequest;
use crate::event::github::{Login, Pull};
use crate::forge::ForgeError;
use crate::forge::retry::{self, Failure, Forge, error_from_status, now_epoch};
use crate::ids::{CommitSha, InstallationId, PrNumber, RepoId};

/// The check run's name: make it required in branch protection.
pub const CHECK_NAME: &str = "thoth";

/// A successful answer.
pub(crate) struct Reply {
    pub status: StatusCode,
    /// For pagination (`link`) and the rate limit left (`x-ratelimit-remaining`).
    pub headers: HeaderMap,
    pub body: String,
}

/// The API as one installation of the App. Cheap to clone; clones share the token and the
/// write budget.
#[derive(Clone)]
pub struct InstallationClient {
    inner: Arc<Inner>,
}

struct Inner {
    crab: Octocrab,
    app_id: u64,
    /// `None` for the App itself (its requests carry the App JWT).
    installation_id: Option<InstallationId>,
    policy: RetryPolicy,
    writes: DefaultDirectRateLimiter,
}

impl fmt::Debug for InstallationClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationClient")
            .field("app_id", &self.inner.app_id)
            .field("installation_id", &self.inner.installation_id)
            .finish_non_exhaustive()
    }
}

impl InstallationClient {
    pub(crate) fn new(
        crab: Octocrab,
        app_id: u64,
        installation_id: Option<InstallationId>,
        policy: RetryPolicy,
        writes_per_minute: u32,
        write_burst: u32,
    ) -> Self {
        let per_minute = NonZeroU32::new(writes_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(write_burst.min(per_minute.get())).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        InstallationClient {
            inner: Arc::new(Inner {
                crab,
                app_id,
                installation_id,
                policy,
                writes: RateLimiter::direct(quota),
            }),
        }
    }

    pub(crate) fn crab(&self) -> &Octocrab {
        &self.inner.crab
    }

    pub fn app_id(&self) -> u64 {
        self.inner.app_id
    }

    pub fn installation_id(&self) -> Option<InstallationId> {
        self.inner.installation_id
    }

    /// One API call with the write budget and the retry policy. Only 2xx answers come back.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Reply, ForgeError> {
        let what = format!("{method} {path}");
        retry::run(Forge::GitHub, &self.inner.policy, &what, || {
            self.attempt(&method, path, body, idempotency)
        })
        .await
    }

    /// One attempt of [`Self::call`]: the write budget, the request, and what a failure means.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Reply, Failure> {
        if method != Method::GET {
            // Waits (never fails) until the installation's write budget has room. Every
            // attempt counts: GitHub counts retried writes too.
            let start = std::time::Instant::now();
            self.inner.writes.until_ready().await;
            let waited = start.elapsed();
            if waited > std::time::Duration::from_millis(1) {
                crate::metrics::rate_limit_wait(
                    "github",
                    crate::metrics::WaitSource::Budget,
                    waited,
                );
            }
        }
        let sent = self.send_once(method, path, body).await;
        crate::metrics::forge_call("github", sent.as_ref().ok().map(|r| r.0.as_u16()));
        let (error, next) = match sent {
            Ok((status, headers, text)) if status.is_success() => {
                return Ok(Reply {
                    status,
                    headers,
                    body: text,
                });
            }
            Ok((status, headers, text)) => {
                let next = next_after_status(status, &headers, &text, idempotency, now_epoch());
                let what = format!("{method} {path}");
                (error_from_status(&what, status.as_u16(), &text, next), next)
            }
            Err(e) => map_octocrab_error(e),
        };
        // A create may have landed behind a dropped connection: never repeated.
        let next = match next {
            Next::Backoff if idempotency == Idempotency::Unsafe && is_transport(&error) => {
                Next::Fail
            }
            other => other,
        };
        Err(Failure { error, next })
    }

    /// [`Self::call`] and parse the JSON answer.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<T, ForgeError> {
        let reply = self.call(method.clone(), path, body, idempotency).await?;
        serde_json::from_str(&reply.body).map_err(|e| {
            ForgeError::Transport(format!(
                "{method} {path}: unexpected answer ({}): {e}",
                reply.status
            ))
        })
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, HeaderMap, String), octocrab::Error> {
        let crab = &self.inner.crab;
        let response = match *method {
            Method::GET => crab._get(path).await?,
            Method::POST => crab._post(path, body).await?,
            Method::PATCH => crab._patch(path, body).await?,
            Method::PUT => crab._put(path, body).await?,
            Method::DELETE => crab._delete(path, body).await?,
            _ => unreachable!("the client only sends GET, POST, PATCH, PUT and DELETE"),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let text = crab.body_to_string(response).await?;
        Ok((status, headers, text))
    }

    /// Creates the `thoth` check run, in progress, on `head_sha`.
    pub async fn create_check_run(
        &self,
        repo: &RepoId,
        head_sha: &CommitSha,
    ) -> Result<CheckRunId, ForgeError> {
        let body = json!({
            "name": CHECK_NAME,
            "head_sha": head_sha.as_str(),
            "status": "in_progress",
            "started_at": now_rfc3339(),
        });
        let path = format!("{}/check-runs", repo_path(repo)?);
        let created: Created = self
            .call_json(Method::POST, &path, Some(&body), Idempotency::Unsafe)
            .await?;
        Ok(CheckRunId(created.id))
    }

    /// Posts a new comment on the pull request; returns its id.
    pub async fn post_comment(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        body: &str,
    ) -> Result<u64, ForgeError> {
        let path = format!("{}/issues/{pr}/comments", repo_path(repo)?);
        let created: Created = self
            .call_json(
                Method::POST,
                &path,
                Some(&json!({ "body": body })),
                Idempotency::Unsafe,
            )
            .await?;
        Ok(created.id)
    }

    /// Reacts to an issue / pull request comment. GitHub keeps one reaction per kind and user
    /// (a repeat answers 200), so this is safe to retry.
    pub async fn add_reaction(
        &self,
        repo: &RepoId,
        comment_id: u64,
        reaction: Reaction,
    ) -> Result<(), ForgeError> {
        let path = format!(
            "{}/issues/comments/{comment_id}/reactions",
            repo_path(repo)?
        );
        let body = json!({ "content": reaction.as_str() });
        self.call(Method::POST, &path, Some(&body), Idempotency::Safe)
            .await?;
        Ok(())
    }

    /// The user's permission on the repository. A login GitHub does not know has none.
    pub async fn collaborator_permission(
        &self,
        repo: &RepoId,
        login: &str,
    ) -> Result<Permission, ForgeError> {
        #[derive(Deserialize)]
        struct Answer {
            permission: Option<String>,
            role_name: Option<String>,
        }
        let path = format!(
            "{}/collaborators/{}/permission",
            repo_path(repo)?,
            encode_segment(login)
        );
        let answer: Answer = match self
            .call_json(Method::GET, &path, None, Idempotency::Safe)
            .await
        {
            Ok(answer) => answer,
            Err(ForgeError::NotFound(_)) => return Ok(Permission::None),
            Err(e) => return Err(e),
        };
        // `role_name` is the precise role (maintain, triage); a custom role falls back to the
        // base `permission` it is built on (admin, write, read, none).
        let permission = [answer.role_name, answer.permission]
            .into_iter()
            .flatten()
            .find_map(|s| Permission::parse(&s))
            .unwrap_or(Permission::None);
        Ok(permission)
    }

    /// Whether `login` is an active member of the team `org/team_slug`. A team the App cannot
    /// see (no `members: read` permission) counts as no membership.
    pub async fn is_team_member(
        &self,
        org: &str,
        team_slug: &str,
        login: &str,
    ) -> Result<bool, ForgeError> {
        #[derive(Deserialize)]
        struct Membership {
            state: String,
        }
        let path = format!(
            "/orgs/{}/teams/{}/memberships/{}",
            encode_segment(org),
            encode_segment(team_slug),
            encode_segment(login)
        );
        match self
            .call_json::<Membership>(Method::GET, &path, None, Idempotency::Safe)
            .await
        {
            Ok(m) => Ok(m.state == "active"),
            Err(ForgeError::NotFound(_) | ForgeError::Auth(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The logins of everyone who authored or committed a commit of the pull request (GitHub
    /// lists at most 250 commits; commits whose e-mail maps to no account have no login).
    pub async fn pull_commit_logins(
        &self,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Vec<String>, ForgeError> {
        #[derive(Deserialize)]
        struct Commit {
            author: Option<Login>,
            committer: Option<Login>,
        }
        let mut logins: Vec<String> = Vec::new();
        for page in 1..=3 {
            let path = format!(
                "{}/pulls/{pr}/commits?per_page=100&page={page}",
                repo_path(repo)?
            );
            let commits: Vec<Commit> = self
                .call_json(Method::GET, &path, None, Idempotency::Safe)
                .await?;
            for u in commits
                .iter()
                .flat_map(|c| [c.author.as_ref(), c.committer.as_ref()])
                .flatten()
            {
                if !logins.iter().any(|l| l.eq_ignore_ascii_case(&u.login)) {
                    logins.push(u.login.clone());
                }
            }
            if commits.len() < 100 {
                break;
            }
        }
        Ok(logins)
    }

    /// Head, base, author, labels and state of a pull request.
    pub async fn pull_request(
        &self,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<PullRequest, ForgeError> {
        let path = format!("{}/pulls/{pr}", repo_path(repo)?);
        let pull: Pull = self
            .call_json(Method::GET, &path, None, Idempotency::Safe)
            .await?;
        Ok(pull.into_api_view())
    }
}

/// Any created resource: only its id matters.
#[derive(Deserialize)]
pub(crate) struct Created {
    pub id: u64,
}

/// `/repos/{owner}/{repo}` for a GitHub `owner/name`. Anything else (an Azure DevOps id, odd
/// characters) is refused rather than sent.
pub(crate) fn repo_path(repo: &RepoId) -> Result<String, ForgeError> {
    let valid = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match repo.as_str().split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => Ok(format!("/repos/{owner}/{name}")),
        _ => Err(ForgeError::Invalid(format!(
            "`{repo}` is not a GitHub `owner/name` repository"
        ))),
    }
}

pub(crate) use crate::encoding::path_segment as encode_segment;

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_and_encoded() {
        let repo: RepoId = "octo-org/infra.live".parse().unwrap();
        assert_eq!(repo_path(&repo).unwrap(), "/repos/octo-org/infra.live");
        let ado: RepoId = "org/My Project/repo".parse().unwrap();
        assert!(matches!(repo_path(&ado), Err(ForgeError::Invalid(_))));
        let dots: RepoId = "../x".parse().unwrap();
        assert!(repo_path(&dots).is_err());
        assert_eq!(encode_segment("dependabot[bot]"), "dependabot%5Bbot%5D");
    }
}
