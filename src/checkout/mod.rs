//! Checkout: a per-repository bare mirror cache, fetched over HTTP(S) with a forge token, and the
//! safe materialisation of one commit's tree into a directory the gates then read.
//!
//! The flow for one job is `has_commit` (skip the network when the mirror already has the head),
//! [`MirrorCache::fetch`], then [`MirrorCache::materialize`] for the head (and the base, where the
//! config is read from). Everything here is blocking: callers run it on
//! `tokio::task::spawn_blocking`.
//!
//! The repository is hostile input. Fetching is bounded by wall time and received bytes;
//! materialising never writes outside the destination (entry names are checked, symlinks are
//! created as symlinks and never followed, submodules are skipped) and is bounded by file count,
//! file size, total size and wall time. Credentials never appear in errors or `Debug` output.
//!
//! Layout: the network side of [`MirrorCache::fetch`] lives in `fetch.rs` (including why the
//! server sets libgit2's socket timeouts), the file-system side of [`MirrorCache::materialize`] in
//! `materialize.rs`, and the per-repository fetch lock in `lock.rs`.

mod fetch;
mod lock;
mod materialize;
pub mod policy_repo;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{Commit, ErrorCode, ObjectType, Repository, RepositoryInitOptions};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Why a checkout step failed. Callers branch on the variant: `Auth` and `NotFound` are
/// permanent for this token and ref, `Timeout` is worth a retry, `TooLarge` and `UnsafePath` are
/// findings about the repository rather than bot failures.
#[derive(Debug, Error)]
pub enum CheckoutError {
    /// The server rejected the credentials, or asked for some and none were given. The message
    /// never contains the token.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The repository, ref or commit does not exist (or is invisible to these credentials), or
    /// the mirror for the repository has not been fetched yet.
    #[error("not found: {0}")]
    NotFound(String),
    /// A size or count limit of [`CheckoutLimits`] was exceeded.
    #[error("repository too large: {0}")]
    TooLarge(String),
    /// [`CheckoutLimits::timeout`] passed (the limit is carried).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The tree holds an entry that could write outside the destination or is not a valid tree
    /// entry (`..`, `.git`, a `/` or NUL in a name, duplicate names, an unknown file mode).
    #[error("unsafe path in repository: {0}")]
    UnsafePath(String),
    /// The caller passed something unusable (an empty key, a URL with a password in it, a
    /// destination that is not empty...).
    #[error("invalid checkout request: {0}")]
    InvalidInput(String),
    /// Any other libgit2 error (messages from the network side are redacted).
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A file-system error (the message names the path).
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// HTTP Basic credentials for a fetch. GitHub: `("x-access-token", installation token)`; Azure
/// DevOps: (any user name, PAT or OAuth token).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    /// A GitHub App installation token.
    pub fn github_installation(token: impl Into<String>) -> Self {
        Credentials {
            username: "x-access-token".to_string(),
            password: token.into(),
        }
    }

    /// An Azure DevOps PAT or pipeline token (the user name is ignored by the server).
    pub fn azure_devops(token: impl Into<String>) -> Self {
        Credentials {
            username: "thoth-bot".to_string(),
            password: token.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    // Tokens end up in logs through `{:?}` of some enclosing struct sooner or later.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Bounds on one fetch or materialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutLimits {
    /// Entries (files, symlinks and folders) written by one materialisation.
    pub max_files: usize,
    /// A bigger file is skipped and listed in [`MaterializeStats::skipped_large`].
    pub max_file_bytes: u64,
    /// Bytes received by one fetch, and bytes of file content written by one materialisation.
    pub max_total_bytes: u64,
    /// Wall time of one call, including the wait for the repository's lock.
    pub timeout: Duration,
    /// A mirror found larger than this before a fetch is dropped and cloned afresh: libgit2 has
    /// no `gc`, so this is what keeps the cache bounded as pull requests come and go.
    pub max_mirror_bytes: u64,
}

impl Default for CheckoutLimits {
    fn default() -> Self {
        CheckoutLimits {
            max_files: 50_000,
            max_file_bytes: 5 * 1024 * 1024,
            max_total_bytes: 500 * 1024 * 1024,
            timeout: Duration::from_secs(120),
            max_mirror_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// What one materialisation wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaterializeStats {
    /// Regular files written.
    pub files: usize,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Files over [`CheckoutLimits::max_file_bytes`], not written (relative paths).
    pub skipped_large: Vec<String>,
    /// Symlinks created (as symlinks; `Workspace` decides which ones may be read).
    pub symlinks: usize,
    /// Submodules (gitlinks), not checked out (relative paths).
    pub submodules: Vec<String>,
}

/// The wall-time budget of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    limit: Duration,
}

impl Deadline {
    pub(crate) fn new(limit: Duration) -> Self {
        // A limit too large for `Instant` means "no limit", not a panic.
        Deadline {
            at: Instant::now().checked_add(limit),
            limit,
        }
    }

    pub(crate) fn expired(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    pub(crate) fn check(&self) -> Result<(), CheckoutError> {
        if self.expired() {
            Err(CheckoutError::Timeout(self.limit))
        } else {
            Ok(())
        }
    }
}

/// Bare mirrors of the repositories the bot checks, one per repository key, under one root.
///
/// Fetches into one mirror are serialised by a file lock (so it also holds between processes
/// sharing the cache); reading (materialising, diffing) needs no lock, because git writes objects
/// before the refs that name them and packs are renamed into place whole.
#[derive(Debug)]
pub struct MirrorCache {
    root: PathBuf,
}

/// Where one repository's mirror and lock live.
struct MirrorPaths {
    repo: PathBuf,
    lock: PathBuf,
}

impl MirrorCache {
    /// A cache under `root` (created when missing).
    pub fn new(root: PathBuf) -> Result<Self, CheckoutError> {
        fs::create_dir_all(&root).map_err(|e| io_at(&root, e))?;
        let meta = fs::metadata(&root).map_err(|e| io_at(&root, e))?;
        if !meta.is_dir() {
            return Err(CheckoutError::InvalidInput(format!(
                "mirror cache root {} is not a directory",
                root.display()
            )));
        }
        Ok(MirrorCache { root })
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Fetches `refspecs` from `url` into the bare mirror for `repo_key` (created on first use).
    ///
    /// Each refspec is one of:
    /// - a full refspec, `+refs/pull/7/head:refs/thoth/pull/7/head` (GitHub: fetch the PR head
    ///   from the base repository, which works for forks too);
    /// - a ref name, `refs/heads/main`, fetched to the same name in the mirror;
    /// - a full commit id (Azure DevOps' `lastMergeSourceCommit`), fetched to
    ///   `refs/thoth/commits/<sha>`. libgit2 can only fetch a bare commit id from servers that
    ///   advertise `allow-tip-sha1-in-want` / `allow-reachable-sha1-in-want`; elsewhere the fetch
    ///   fails with `NotFound`, so prefer fetching the source ref (`refs/pull/N/merge`,
    ///   `refs/heads/<branch>`) and check the commit with [`has_commit`](Self::has_commit). A
    ///   commit id the mirror already has is not fetched again.
    ///
    /// A named source ref that the server does not have is `NotFound`. The fetch is aborted
    /// with `Timeout` when `limits.timeout` passes (checked whenever libgit2 reports progress,
    /// asks for credentials or relays server messages; see `fetch.rs` for the one gap) and with
    /// `TooLarge` when more than `limits.max_total_bytes` arrive. Credentials are offered once:
    /// a rejected token is `Auth`, not a retry loop. Only `http://` and `https://` URLs are
    /// accepted, without a password in them.
    pub fn fetch(
        &self,
        repo_key: &str,
        url: &str,
        creds: Option<&Credentials>,
        refspecs: &[String],
        limits: &CheckoutLimits,
    ) -> Result<(), CheckoutError> {
        let deadline = Deadline::new(limits.timeout);
        fetch::check_url(url)?;
        let specs = fetch::parse_refspecs(refspecs)?;
        let paths = self.paths(repo_key)?;
        deadline.check()?;
        let _guard = lock::acquire(&paths.lock, &deadline)?;
        self.drop_if_oversized(&paths, limits.max_mirror_bytes)?;
        let repo = self.open_or_init(&paths)?;
        fetch::run(&repo, url, creds, &specs, limits, &deadline)
    }

    /// Removes the mirror when it grew past `max` bytes (called with the lock held); the next
    /// fetch clones afresh with only what jobs still ask for. It is moved aside first, so a
    /// concurrent reader sees either the old mirror or none.
    fn drop_if_oversized(&self, paths: &MirrorPaths, max: u64) -> Result<(), CheckoutError> {
        if fs::symlink_metadata(&paths.repo).is_err() || dir_size(&paths.repo) <= max {
            return Ok(());
        }
        tracing::info!(mirror = %paths.repo.display(), max, "mirror over its size cap: cloning afresh");
        let aside = self
            .root
            .join(format!("drop-{}.tmp", uuid::Uuid::new_v4().simple()));
        fs::rename(&paths.repo, &aside).map_err(|e| io_at(&paths.repo, e))?;
        fs::remove_dir_all(&aside).map_err(|e| io_at(&aside, e))
    }

    /// Whether the mirror for `repo_key` has this commit (full or abbreviated id). `false` when
    /// there is no mirror yet or `sha` is not a commit id.
    pub fn has_commit(&self, repo_key: &str, sha: &str) -> bool {
        let Ok(repo) = self.open(repo_key) else {
            return false;
        };
        is_hex(sha) && resolve_commit(&repo, sha).is_ok()
    }

    /// The full id of the commit `spec` (a commit id or a ref name starting with `refs/`) names
    /// in the mirror of `repo_key`.
    pub fn commit_id(&self, repo_key: &str, spec: &str) -> Result<String, CheckoutError> {
        let repo = self.open(repo_key)?;
        Ok(resolve_commit(&repo, spec)?.id().to_string())
    }

    /// Writes the tree of commit `sha` (a commit id, or a ref name starting with `refs/`) into
    /// `dest`, which is created or must be an empty directory.
    ///
    /// Regular files get their content and executable bit; symlinks are created as symlinks with
    /// their target text verbatim (never followed, so `Workspace` can report the ones that leave
    /// the tree); submodules are skipped and listed. Entry names with `/`, NUL, `.`, `..` or
    /// `.git` (any case) are refused with `UnsafePath`, as are duplicate names, before anything
    /// is written under them. A file over `max_file_bytes` is skipped and listed; more than
    /// `max_files` entries or `max_total_bytes` of content is `TooLarge`; `timeout` applies. On
    /// error `dest` may hold part of the tree: the caller removes it.
    pub fn materialize(
        &self,
        repo_key: &str,
        sha: &str,
        dest: &Path,
        limits: &CheckoutLimits,
    ) -> Result<MaterializeStats, CheckoutError> {
        let deadline = Deadline::new(limits.timeout);
        let repo = self.open(repo_key)?;
        let commit = resolve_commit(&repo, sha)?;
        materialize::write_tree(&repo, &commit, dest, limits, &deadline)
    }

    /// The paths (`/`-separated, sorted, each once) that the pull request `base...head` changes:
    /// the diff from the merge base of the two commits to `head`, as the forges show a PR diff, so
    /// files changed on the base branch since the PR branched off are not attributed to the PR.
    /// Without a common ancestor the two trees are compared directly. Renames appear as both the
    /// old and the new path.
    pub fn changed_paths(
        &self,
        repo_key: &str,
        base: &str,
        head: &str,
    ) -> Result<Vec<String>, CheckoutError> {
        let repo = self.open(repo_key)?;
        let base = resolve_commit(&repo, base)?;
        let head = resolve_commit(&repo, head)?;
        let from = match repo.merge_base(base.id(), head.id()) {
            Ok(id) => repo.find_commit(id)?,
            Err(e) if e.code() == ErrorCode::NotFound => base,
            Err(e) => return Err(e.into()),
        };
        let diff = repo.diff_tree_to_tree(Some(&from.tree()?), Some(&head.tree()?), None)?;
        let mut paths: Vec<String> = diff
            .deltas()
            .flat_map(|d| [d.old_file().path_bytes(), d.new_file().path_bytes()])
            .flatten()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// The mirror and lock paths of a repository key: a hash, so no key can name a path.
    fn paths(&self, repo_key: &str) -> Result<MirrorPaths, CheckoutError> {
        if repo_key.trim().is_empty() {
            return Err(CheckoutError::InvalidInput(
                "empty repository key".to_string(),
            ));
        }
        let digest = Sha256::digest(repo_key.as_bytes());
        let name = hex::encode(&digest[..16]);
        Ok(MirrorPaths {
            repo: self.root.join(format!("{name}.git")),
            lock: self.root.join(format!("{name}.lock")),
        })
    }

    /// Opens an existing mirror (`NotFound` when it has never been fetched).
    fn open(&self, repo_key: &str) -> Result<Repository, CheckoutError> {
        let paths = self.paths(repo_key)?;
        if fs::symlink_metadata(&paths.repo).is_err() {
            return Err(CheckoutError::NotFound(format!(
                "no mirror of {repo_key} yet (fetch it first)"
            )));
        }
        Ok(Repository::open_bare(&paths.repo)?)
    }

    /// Opens the mirror, creating it when missing or unreadable. Called with the lock held.
    fn open_or_init(&self, paths: &MirrorPaths) -> Result<Repository, CheckoutError> {
        if fs::symlink_metadata(&paths.repo).is_ok() {
            match Repository::open_bare(&paths.repo) {
                Ok(repo) => return Ok(repo),
                // A mirror is only a cache: one left broken (disk full, a crash during init
                // before we initialised atomically) is rebuilt rather than failing every job.
                Err(e) => {
                    tracing::warn!(mirror = %paths.repo.display(), error = %e, "rebuilding unreadable mirror");
                    fs::remove_dir_all(&paths.repo).map_err(|e| io_at(&paths.repo, e))?;
                }
            }
        }
        // Initialise next to the final path and rename, so readers never see half a repository.
        let tmp = self
            .root
            .join(format!("init-{}.tmp", uuid::Uuid::new_v4().simple()));
        let mut opts = RepositoryInitOptions::new();
        opts.bare(true).no_reinit(true).mkpath(false);
        let init = Repository::init_opts(&tmp, &opts).map_err(CheckoutError::from);
        let renamed = init.and_then(|repo| {
            drop(repo);
            fs::rename(&tmp, &paths.repo).map_err(|e| io_at(&paths.repo, e))
        });
        if let Err(e) = renamed {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        Ok(Repository::open_bare(&paths.repo)?)
    }
}

/// Whether `s` is a plausible (full or abbreviated) hexadecimal object id.
fn is_hex(s: &str) -> bool {
    (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves a commit id (full or abbreviated) or a full ref name (`refs/...`) to a commit,
/// peeling annotated tags. Nothing else is accepted: `revparse` syntax (`HEAD@{..}`, `:/text`)
/// has no business in a job.
fn resolve_commit<'r>(repo: &'r Repository, spec: &str) -> Result<Commit<'r>, CheckoutError> {
    let missing = || CheckoutError::NotFound(format!("commit {spec} is not in the mirror"));
    let object = if is_hex(spec) {
        // A full-length prefix is an exact lookup; a shorter one must be unique.
        match repo.find_object_by_prefix(spec, None) {
            Ok(object) => object,
            Err(e) if e.code() == ErrorCode::NotFound => return Err(missing()),
            Err(e) if e.code() == ErrorCode::Ambiguous => {
                return Err(CheckoutError::InvalidInput(format!(
                    "commit id {spec} is ambiguous"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    } else if spec.starts_with("refs/") {
        match repo.refname_to_id(spec) {
            Ok(id) => repo.find_object(id, None)?,
            Err(e) if e.code() == ErrorCode::NotFound => {
                return Err(CheckoutError::NotFound(format!(
                    "ref {spec} is not in the mirror"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        return Err(CheckoutError::InvalidInput(format!(
            "`{spec}` is neither a commit id nor a ref name"
        )));
    };
    match object.peel(ObjectType::Commit) {
        Ok(commit) => commit.into_commit().map_err(|_| missing()),
        Err(_) => Err(CheckoutError::NotFound(format!("{spec} is not a commit"))),
    }
}

/// Bytes of the regular files under `dir` (symlinks are not followed; unreadable entries
/// count as empty).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// An I/O error whose message names the path it happened on (the kind is kept for callers).
pub(crate) fn io_at(path: &Path, e: io::Error) -> CheckoutError {
    CheckoutError::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}
