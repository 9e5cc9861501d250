//! What the bot acts on, read from the Azure DevOps REST API with the PAT rather than taken
//! from a service-hook body: a pull request's commits, branches, author and clone URL, and a
//! comment's author and text. Service hooks are authenticated by a shared Basic password or
//! header at best, so a body is a hint of what happened, never a fact to act on.
//!
//! Also the rule for clone URLs: the PAT is sent to whatever URL the bot clones from, so only
//! the organization's own HTTPS host is allowed ([`check_clone_url`]).

use std::future::IntoFuture as _;

use azure_devops_rust_api::git::models::{GitCommitRef, git_pull_request};
use http::Uri;

use super::client::{AzureClient, AzureConfig, PrAt, id32};
use super::pulls::ThreadComment;
use crate::event::{PullRequest, PullState};
use crate::forge::ForgeError;
use crate::forge::retry::Idempotency;
use crate::ids::{CommitSha, PrNumber, RepoId};

impl AzureClient {
    /// The e-mail addresses of the authors and committers of the pull request's commits
    /// (lowercase, each once): Azure DevOps commits carry git identities, not account names.
    pub async fn pull_commit_emails(
        &self,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Vec<String>, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let what = format!("GET {}/commits", at.path);
        let commits = self.git.pull_request_commits_client();
        // One page of up to 1,000 commits: a PR with more is not reviewed by comment anyway.
        let list = self
            .run(&what, Idempotency::Safe, || {
                commits
                    .get_pull_request_commits(&self.org, &at.repo, at.pr, &at.project)
                    .top(1000)
                    .into_future()
            })
            .await?;
        let mut emails: Vec<String> = list
            .value
            .iter()
            .flat_map(|c| [&c.author, &c.committer])
            .filter_map(|who| who.as_ref()?.email.as_deref())
            .filter(|e| !e.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        emails.sort();
        emails.dedup();
        Ok(emails)
    }

    /// The pull request as it is now (source and target commits, refs, author, labels).
    pub async fn pull_request(
        &self,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<PullRequest, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let what = format!("GET {}", at.path);
        let pulls = self.git.pull_requests_client();
        let v = self
            .run(&what, Idempotency::Safe, || {
                pulls
                    .get_pull_request(&self.org, &at.repo, at.pr, &at.project)
                    .into_future()
            })
            .await?;
        let bad = |why: String| ForgeError::Transport(format!("{what}: {why}"));
        let sha = |commit: &Option<GitCommitRef>, field: &str| {
            commit
                .as_ref()
                .and_then(|c| c.commit_id.as_deref())
                .map(|c| {
                    c.parse::<CommitSha>()
                        .map_err(|e| bad(format!("{field}: {e}")))
                })
                .transpose()
        };
        let short = |r: &str| r.strip_prefix("refs/heads/").unwrap_or(r).to_string();
        let state = match v.status {
            git_pull_request::Status::Completed => PullState::Merged,
            git_pull_request::Status::Abandoned => PullState::Closed,
            // `active`, or a status this bot does not know: judged like an open one.
            _ => PullState::Open,
        };
        let created_by = &v.created_by;
        Ok(PullRequest {
            head_sha: sha(&v.last_merge_source_commit, "lastMergeSourceCommit")?
                .ok_or_else(|| bad("no lastMergeSourceCommit".into()))?,
            base_sha: sha(&v.last_merge_target_commit, "lastMergeTargetCommit")?,
            head_ref: Some(short(&v.source_ref_name)),
            base_ref: Some(short(&v.target_ref_name)),
            author: created_by
                .unique_name
                .clone()
                .or(created_by.graph_subject_base.display_name.clone()),
            draft: v.is_draft,
            labels: v.labels.iter().filter_map(|l| l.name.clone()).collect(),
            clone_url: v.repository.remote_url.as_deref().map(super::clean_url),
            state,
        })
    }

    /// One comment of a thread (`GET .../threads/{thread}/comments/{id}`): its author, text
    /// and dates as the server has them.
    pub async fn comment(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        thread: u64,
        id: u64,
    ) -> Result<ThreadComment, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let (thread_id, comment_id) = (id32(thread)?, id32(id)?);
        let what = format!("GET {}/threads/{thread}/comments/{id}", at.path);
        let comments = self.git.pull_request_thread_comments_client();
        let comment = self
            .run(&what, Idempotency::Safe, || {
                comments
                    .get(
                        &self.org,
                        &at.repo,
                        at.pr,
                        thread_id,
                        comment_id,
                        &at.project,
                    )
                    .into_future()
            })
            .await?;
        Ok(ThreadComment::from(&comment))
    }
}

impl ThreadComment {
    /// When the text was last written, if the server said.
    pub fn written_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.written
    }

    /// The author's unique name, the only name commands are authorized by.
    pub fn author_name(&self) -> Option<&str> {
        self.author.as_ref()?.unique_name.as_deref()
    }
}

/// A clone URL [`check_clone_url`] refused, as an error a job can tell from a failed clone.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CloneUrlRefused(pub String);

/// Whether the bot may clone `url` with the PAT: HTTPS on the organization's host
/// (`dev.azure.com/ORG/...` or its older `ORG.visualstudio.com` name, or the collection's host
/// on Azure DevOps Server). `Err` says why not. Anything else (another host, `ssh.dev.azure.com`,
/// plain HTTP) would hand the PAT to whoever runs it, or clone something the PR is not.
pub fn check_clone_url(cfg: &AzureConfig, url: &str) -> Result<(), String> {
    let refused = |why: &str| Err(format!("clone URL `{url}` refused: {why}"));
    let Ok(uri) = url.parse::<Uri>() else {
        return refused("not a URL");
    };
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    if url.contains('@') {
        return refused("it carries credentials");
    }
    // A stand-in API server (tests, `[azure] api_url`) serves its repositories over plain HTTP
    // on its own host; production configs leave `api_url` unset, so this allows nothing more.
    if cfg.api_url != cfg.org_url
        && let Ok(api) = cfg.api_url.parse::<Uri>()
        && api.scheme_str() == uri.scheme_str()
        && api.host().is_some_and(|h| h.eq_ignore_ascii_case(&host))
    {
        return Ok(());
    }
    if uri.scheme_str() != Some("https") {
        return refused("only https is allowed");
    }
    if uri.port_u16().is_some_and(|p| p != 443) {
        return refused("only the default https port is allowed");
    }
    let Ok(org) = cfg.org_url.parse::<Uri>() else {
        return refused("the organization URL is not a URL");
    };
    let org_host = org.host().unwrap_or_default().to_ascii_lowercase();
    let org_path = org.path().trim_end_matches('/').to_ascii_lowercase();
    let path = uri.path().to_ascii_lowercase();
    let under = |prefix: &str| path.starts_with(&format!("{prefix}/"));
    // The organization's name in both of its URL forms.
    let org_name = if org_host == "dev.azure.com" {
        org_path.trim_start_matches('/').split('/').next()
    } else {
        org_host.strip_suffix(".visualstudio.com")
    }
    .filter(|n| !n.is_empty() && !n.contains('.'));
    let allowed = match org_name {
        Some(name) => {
            (host == "dev.azure.com" && under(&format!("/{name}")))
                || host == format!("{name}.visualstudio.com")
        }
        // Azure DevOps Server: the collection's host and path.
        None => host == org_host && under(&org_path),
    };
    if allowed {
        Ok(())
    } else {
        refused(&format!("not on the organization's host ({})", cfg.org_url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretString;

    fn cfg(org: &str) -> AzureConfig {
        AzureConfig::new(org, SecretString::from("pat"))
    }

    #[test]
    fn clone_urls_must_be_the_organizations() {
        let c = cfg("https://dev.azure.com/acme");
        for ok in [
            "https://dev.azure.com/acme/Infra/_git/infra",
            "https://dev.azure.com/ACME/Infra%20Team/_git/infra",
            "https://acme.visualstudio.com/DefaultCollection/_git/infra",
        ] {
            assert_eq!(check_clone_url(&c, ok), Ok(()), "{ok}");
        }
        for bad in [
            "https://dev.azure.com/other/Infra/_git/infra",
            "https://dev.azure.com/acmeevil/Infra/_git/infra",
            "http://dev.azure.com/acme/Infra/_git/infra",
            "https://dev.azure.com:8443/acme/Infra/_git/infra",
            "https://evil.example/acme/_git/infra",
            "https://other.visualstudio.com/_git/infra",
            "git@ssh.dev.azure.com:v3/acme/Infra/infra",
            "https://ssh.dev.azure.com/v3/acme/Infra/infra",
            "https://x@evil.example@dev.azure.com/acme/I/_git/i",
            "not a url",
        ] {
            assert!(check_clone_url(&c, bad).is_err(), "{bad}");
        }
        let old = cfg("https://acme.visualstudio.com");
        assert_eq!(
            check_clone_url(&old, "https://dev.azure.com/acme/I/_git/i"),
            Ok(())
        );
        assert!(check_clone_url(&old, "https://dev.azure.com/other/I/_git/i").is_err());
        let server = cfg("https://tfs.corp/DefaultCollection");
        assert_eq!(
            check_clone_url(&server, "https://tfs.corp/DefaultCollection/P/_git/r"),
            Ok(())
        );
        assert!(check_clone_url(&server, "https://tfs.corp/Other/P/_git/r").is_err());
    }

    #[test]
    fn a_stand_in_api_server_allows_its_own_host_only() {
        let mut c = cfg("https://dev.azure.com/acme");
        assert!(check_clone_url(&c, "http://127.0.0.1:9/r.git").is_err());
        c.api_url = "http://127.0.0.1:8080/org".into();
        assert_eq!(check_clone_url(&c, "http://127.0.0.1:9/r.git"), Ok(()));
        assert!(check_clone_url(&c, "http://10.0.0.1:9/r.git").is_err());
        assert!(check_clone_url(&c, "https://127.0.0.1:9/r.git").is_err());
    }
}
