//! Checking out a pull request for a job, on either forge: fetch what the per-repository
//! mirror lacks, then materialise the exact head and base commits the delivery named into a
//! per-job temporary directory (removed when the [`Checkout`] is dropped).

use std::path::{Path, PathBuf};

use super::WorkerContext;
use crate::checkout::policy_repo::PinnedPolicy;
use crate::checkout::{CheckoutError, CheckoutLimits, Credentials, MaterializeStats, MirrorCache};
use crate::event::PullRequestRef;
use crate::ids::Platform;

/// The materialised commits of one job; removed when dropped.
pub(super) struct Checkout {
    pub(super) _dir: tempfile::TempDir,
    pub(super) head: PathBuf,
    pub(super) base: Option<PathBuf>,
    /// Paths changed between base and head.
    pub(super) changed: Vec<String>,
    /// What writing the head skipped (large files, submodules).
    pub(super) head_stats: MaterializeStats,
    /// The org policies this job is judged with, pinned for its whole run.
    pub(super) org_policy: Option<PinnedPolicy>,
}

impl Checkout {
    /// The org policy tree, for [`crate::check::CheckOptions::org_policy`].
    pub(super) fn org_dir(&self) -> Option<PathBuf> {
        self.org_policy.as_ref().map(|p| p.dir.clone())
    }
}

pub(super) enum CheckoutFailure {
    /// Will not get better by retrying (bad credentials, missing ref, too large, unsafe tree).
    Permanent(CheckoutError),
    Transient(anyhow::Error),
    /// The org policy repository could not be fetched: the job fails closed rather than judge
    /// with fewer policies than the org set.
    Policy(CheckoutError),
}

impl CheckoutFailure {
    pub(super) fn into_error(self) -> anyhow::Error {
        match self {
            CheckoutFailure::Permanent(e) => anyhow::Error::new(e).context("checkout"),
            CheckoutFailure::Transient(e) => e,
            CheckoutFailure::Policy(e) => anyhow::Error::new(e).context("org policy repository"),
        }
    }
}

/// The refspecs that bring the PR's head and base into the mirror.
///
/// GitHub: `refs/pull/N/head` lives in the base repository, so forks need no access of their
/// own. Azure DevOps has no fetchable `refs/pull/N/head` on every server, and fetching by sha
/// needs a server setting: the source and target branches are fetched instead. A source branch
/// that moved on since still holds the commit unless it was force-pushed away (then the newer
/// update event evaluates the new head).
fn refspecs(pr: &PullRequestRef) -> Result<Vec<String>, CheckoutError> {
    let branch = |kind: &str, b: &str| format!("+refs/heads/{b}:refs/thoth/{kind}/{b}");
    let mut specs = Vec::new();
    match pr.platform {
        Platform::GitHub => {
            let n = pr.pr.0;
            specs.push(format!("+refs/pull/{n}/head:refs/thoth/pull/{n}/head"));
        }
        Platform::AzureDevOps => {
            if let Some(h) = &pr.head_ref {
                specs.push(branch("source", h));
            }
        }
    }
    if let Some(b) = &pr.base_ref {
        specs.push(branch("base", b));
    }
    if specs.is_empty() {
        return Err(CheckoutError::InvalidInput(
            "the delivery names no source or target branch".into(),
        ));
    }
    Ok(specs)
}

/// Checks out `pr` (head and, when known, base) with `creds`.
pub(super) async fn checkout(
    ctx: &WorkerContext,
    pr: &PullRequestRef,
    creds: Credentials,
) -> Result<Checkout, CheckoutFailure> {
    let url = pr
        .clone_url
        .clone()
        .ok_or_else(|| CheckoutFailure::Transient(anyhow::anyhow!("no clone URL")))?;
    let dir = tempfile::TempDir::new_in(&ctx.work_dir)
        .or_else(|_| tempfile::TempDir::new())
        .map_err(|e| CheckoutFailure::Transient(e.into()))?;
    let target = Target {
        key: pr.repo.to_string(),
        url,
        specs: refspecs(pr).map_err(CheckoutFailure::Permanent)?,
        head_sha: pr.head_sha.to_string(),
        base_sha: pr.base_sha.as_ref().map(|s| s.to_string()),
    };
    let mirrors = ctx.mirrors.clone();
    let limits = ctx.checkout_limits;
    let root = dir.path().to_path_buf();
    let policy = ctx.policy_repo.clone();
    let span = tracing::Span::current(); // log lines of the blocking work keep the job's fields
    let result = tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        let m = fetch_and_materialize(&mirrors, &target, &creds, &root, &limits)?;
        let pinned = policy
            .map(|p| p.pin(&mirrors, Some(&target.url), Some(&creds), &limits))
            .transpose()
            .map_err(PolicyFetch);
        Ok((m, pinned))
    })
    .await
    .map_err(|e| CheckoutFailure::Transient(e.into()))?;
    match result {
        Ok((_, Err(PolicyFetch(e)))) => Err(CheckoutFailure::Policy(e)),
        Ok((
            Materialized {
                head,
                base,
                changed,
                head_stats,
            },
            Ok(org_policy),
        )) => Ok(Checkout {
            _dir: dir,
            head,
            base,
            changed,
            head_stats,
            org_policy,
        }),
        Err(
            e @ (CheckoutError::Auth(_)
            | CheckoutError::NotFound(_)
            | CheckoutError::TooLarge(_)
            | CheckoutError::UnsafePath(_)
            | CheckoutError::InvalidInput(_)),
        ) => Err(CheckoutFailure::Permanent(e)),
        Err(e) => Err(CheckoutFailure::Transient(
            anyhow::Error::new(e).context("checkout"),
        )),
    }
}

/// A failed fetch of the org policy repository, kept apart from the PR's own checkout errors.
struct PolicyFetch(CheckoutError);

/// What to fetch from where, and which commits to materialise.
struct Target {
    /// Mirror key (the repository id).
    key: String,
    url: String,
    specs: Vec<String>,
    head_sha: String,
    base_sha: Option<String>,
}

fn fetch_and_materialize(
    mirrors: &MirrorCache,
    t: &Target,
    creds: &Credentials,
    root: &Path,
    limits: &CheckoutLimits,
) -> Result<Materialized, CheckoutError> {
    let key = t.key.as_str();
    let need_head = !mirrors.has_commit(key, &t.head_sha);
    let need_base = t
        .base_sha
        .as_deref()
        .is_some_and(|b| !mirrors.has_commit(key, b));
    if need_head || need_base {
        mirrors.fetch(key, &t.url, Some(creds), &t.specs, limits)?;
    }
    let head = root.join("head");
    let head_stats = mirrors.materialize(key, &t.head_sha, &head, limits)?;
    let mut changed = Vec::new();
    let base = match t.base_sha.as_deref() {
        Some(b) if mirrors.has_commit(key, b) => {
            let dir = root.join("base");
            mirrors.materialize(key, b, &dir, limits)?;
            changed = mirrors.changed_paths(key, b, &t.head_sha)?;
            Some(dir)
        }
        _ => None,
    };
    Ok(Materialized {
        head,
        base,
        changed,
        head_stats,
    })
}

/// The directories written for one job, and what the diff and the head's write found.
struct Materialized {
    head: PathBuf,
    base: Option<PathBuf>,
    changed: Vec<String>,
    head_stats: MaterializeStats,
}
