//! The org policy repository as a git repository (`policy_repo = "https://..."` with
//! `policy_repo_ref`): fetched through the mirror cache at most every refresh interval, and
//! pinned to one commit for each evaluation, whose tree is written once per commit under the
//! cache and never changed afterwards. A local path is used as it is.
//!
//! A fetch that fails is an error for the caller to fail closed on: judging with fewer
//! policies than the org configured would let a pull request through that the org's rules
//! stop.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{CheckoutError, CheckoutLimits, Credentials, MirrorCache, io_at};

/// The mirror key of the policy repository (kept apart from the repositories under review).
const MIRROR_KEY_PREFIX: &str = "org-policy:";

/// Where the org policy repository comes from.
#[derive(Debug)]
pub enum PolicyRepo {
    /// A directory on the bot's disk, read as it is at each evaluation.
    Local(PathBuf),
    /// A git repository, fetched and pinned.
    Git(GitPolicyRepo),
}

/// The policies one evaluation runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedPolicy {
    /// The tree to read policies from.
    pub dir: PathBuf,
    /// The commit it was written from (git only).
    pub commit: Option<String>,
    /// What to call it in summaries: the URL and ref, or the path.
    pub source: String,
}

impl PinnedPolicy {
    /// One line for the summary: where the org policies came from and at which commit.
    pub fn describe(&self) -> String {
        match &self.commit {
            Some(c) => format!("org policy repository {} ({})", self.source, short(c)),
            None => format!("org policy repository {}", self.source),
        }
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// A git-hosted org policy repository.
pub struct GitPolicyRepo {
    url: String,
    reference: String,
    refresh: Duration,
    /// Trees written per commit: `ROOT/<sha>`.
    root: PathBuf,
    /// The last successful fetch: when, and the commit the ref named then.
    last: Mutex<Option<(Instant, String)>>,
}

impl fmt::Debug for GitPolicyRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitPolicyRepo")
            .field("url", &self.url)
            .field("reference", &self.reference)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl GitPolicyRepo {
    /// `url` at `reference` (a tag, a branch or a full commit id), trees kept under `root`.
    pub fn new(url: &str, reference: &str, refresh: Duration, root: PathBuf) -> Self {
        GitPolicyRepo {
            url: url.trim_end_matches('/').to_string(),
            reference: reference.trim().to_string(),
            refresh,
            root,
            last: Mutex::new(None),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `URL@REF`, as summaries name it.
    pub fn source(&self) -> String {
        format!("{}@{}", self.url, self.reference)
    }

    /// The commit to judge with at `now`: the one pinned by the last fetch while it is younger
    /// than the refresh interval, else the one a new fetch finds. Blocking (git and files).
    pub fn pin(
        &self,
        mirrors: &MirrorCache,
        creds: Option<&Credentials>,
        limits: &CheckoutLimits,
        now: Instant,
    ) -> Result<PinnedPolicy, CheckoutError> {
        // One fetch at a time per process; the mirror's file lock covers other processes.
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = last
            .as_ref()
            .filter(|(at, _)| now.saturating_duration_since(*at) < self.refresh)
            .map(|(_, sha)| sha.clone());
        let sha = match fresh {
            Some(sha) => sha,
            None => {
                let sha = self.fetch(mirrors, creds, limits)?;
                *last = Some((now, sha.clone()));
                sha
            }
        };
        drop(last);
        let dir = self.tree(mirrors, &sha, limits)?;
        Ok(PinnedPolicy {
            dir,
            commit: Some(sha),
            source: self.source(),
        })
    }

    /// The tree of the commit the last successful fetch pinned, if any (for `/thoth explain`,
    /// which has no fetch of its own).
    pub fn last_pinned(&self) -> Option<PinnedPolicy> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (_, sha) = last.as_ref()?;
        let dir = self.root.join(sha);
        dir.is_dir().then(|| PinnedPolicy {
            dir,
            commit: Some(sha.clone()),
            source: self.source(),
        })
    }

    fn key(&self) -> String {
        format!("{MIRROR_KEY_PREFIX}{}", self.url)
    }

    /// Fetches branches and tags (forced, so a moved tag moves here too) and resolves the ref.
    fn fetch(
        &self,
        mirrors: &MirrorCache,
        creds: Option<&Credentials>,
        limits: &CheckoutLimits,
    ) -> Result<String, CheckoutError> {
        let key = self.key();
        let specs = [
            "+refs/heads/*:refs/heads/*".to_string(),
            "+refs/tags/*:refs/tags/*".to_string(),
        ];
        mirrors.fetch(&key, &self.url, creds, &specs, limits)?;
        let r = &self.reference;
        let is_id = r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit());
        let candidates = if is_id {
            vec![r.to_ascii_lowercase()]
        } else {
            vec![format!("refs/tags/{r}"), format!("refs/heads/{r}")]
        };
        for c in &candidates {
            match mirrors.commit_id(&key, c) {
                Ok(sha) => return Ok(sha),
                Err(CheckoutError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CheckoutError::NotFound(format!(
            "policy_repo_ref `{r}` is neither a tag, a branch nor a commit of {}",
            self.url
        )))
    }

    /// `ROOT/<sha>`, written on first use: into a temporary sibling, then renamed, so a
    /// reader never sees half a tree.
    fn tree(
        &self,
        mirrors: &MirrorCache,
        sha: &str,
        limits: &CheckoutLimits,
    ) -> Result<PathBuf, CheckoutError> {
        let dir = self.root.join(sha);
        if dir.is_dir() {
            return Ok(dir);
        }
        fs::create_dir_all(&self.root).map_err(|e| io_at(&self.root, e))?;
        let tmp = self
            .root
            .join(format!(".{sha}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let written = mirrors.materialize(&self.key(), sha, &tmp, limits);
        if let Err(e) = written {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if let Err(e) = fs::rename(&tmp, &dir) {
            let _ = fs::remove_dir_all(&tmp);
            // Another worker wrote the same commit first: theirs is as good.
            if !dir.is_dir() {
                return Err(io_at(&dir, e));
            }
        }
        Ok(dir)
    }
}

/// Whether `setting` names a git repository rather than a directory.
pub fn is_git_url(setting: &str) -> bool {
    setting.starts_with("https://") || setting.starts_with("http://")
}

/// The same scheme, host and port: only then may the forge's credentials go along.
pub fn same_origin(a: &str, b: &str) -> bool {
    fn origin(u: &str) -> Option<(&str, String)> {
        let (scheme, rest) = u.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        Some((scheme, host.to_ascii_lowercase()))
    }
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

impl PolicyRepo {
    /// The policies for one evaluation (blocking). `clone_url` and `creds` are the pull
    /// request's: the credentials are offered only to the same origin.
    pub fn pin(
        &self,
        mirrors: &MirrorCache,
        clone_url: Option<&str>,
        creds: Option<&Credentials>,
        limits: &CheckoutLimits,
    ) -> Result<PinnedPolicy, CheckoutError> {
        match self {
            PolicyRepo::Local(path) => Ok(local(path)),
            PolicyRepo::Git(g) => {
                let creds = creds.filter(|_| clone_url.is_some_and(|u| same_origin(u, g.url())));
                g.pin(mirrors, creds, limits, Instant::now())
            }
        }
    }

    /// The policies without fetching: the local path, or the last pinned commit.
    pub fn current(&self) -> Option<PinnedPolicy> {
        match self {
            PolicyRepo::Local(path) => Some(local(path)),
            PolicyRepo::Git(g) => g.last_pinned(),
        }
    }
}

fn local(path: &Path) -> PinnedPolicy {
    PinnedPolicy {
        dir: path.to_path_buf(),
        commit: None,
        source: path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_to_the_same_origin_only() {
        assert!(same_origin(
            "https://github.com/acme/infra.git",
            "https://GitHub.com/acme/org-iac-policies.git"
        ));
        assert!(!same_origin(
            "https://github.com/acme/infra.git",
            "https://evil.example/acme/org-iac-policies.git"
        ));
        assert!(!same_origin(
            "http://github.com/acme/infra.git",
            "https://github.com/acme/p.git"
        ));
        assert!(!same_origin(
            "https://127.0.0.1:1/a.git",
            "https://127.0.0.1:2/a.git"
        ));
        assert!(is_git_url("https://x/y.git") && !is_git_url("/srv/policies"));
    }
}
