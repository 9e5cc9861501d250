//! Push API records on sled, each JSON in its own tree:
//! - `push_tokens`: `id -> PushToken`.
//! - `pushed`: `repo \0 p \0 sha \0 project -> PushedReport` for plans and
//!   `repo \0 d \0 environment -> PushedReport` for drift reports, so the questions of an
//!   evaluation are two prefix reads and a newer push replaces the older one in place.
//! - `pr_heads`: `platform \0 repo \0 pr -> PrHead`, one per pull request (its latest head).
//!
//! Pruning walks the whole tree: both hold one record per repository head, project,
//! environment or pull request, few enough to read through once a day.

use super::SledStore;
use super::keys::{from_json, pr_key, repo_prefix, to_json};
use crate::ids::{CommitSha, RepoId};
use crate::store::StoreError;
use crate::store::pushed::{PrHead, PushToken, PushTokenId, PushedKind, PushedReport};
use chrono::{DateTime, Utc};

fn report_key(r: &PushedReport) -> Vec<u8> {
    match &r.kind {
        PushedKind::Plan { head_sha, project } => [
            plans_prefix(&r.repo, head_sha).as_slice(),
            project.as_bytes(),
        ]
        .concat(),
        PushedKind::Drift { environment } => {
            [drift_prefix(&r.repo).as_slice(), environment.as_bytes()].concat()
        }
    }
}

fn plans_prefix(repo: &RepoId, head: &CommitSha) -> Vec<u8> {
    [
        repo_prefix(repo).as_slice(),
        b"p\0",
        head.as_str().as_bytes(),
        &[0],
    ]
    .concat()
}

fn drift_prefix(repo: &RepoId) -> Vec<u8> {
    [repo_prefix(repo).as_slice(), b"d\0"].concat()
}

impl SledStore {
    pub(super) async fn insert_push_token(&self, t: &PushToken) -> Result<(), StoreError> {
        self.push_tokens.insert(t.id.as_str(), to_json(t)?)?;
        self.flush().await
    }

    pub(super) fn read_push_token(
        &self,
        id: &PushTokenId,
    ) -> Result<Option<PushToken>, StoreError> {
        self.push_tokens
            .get(id.as_str())?
            .map(|b| from_json("push token", &b))
            .transpose()
    }

    pub(super) async fn remove_push_token(&self, id: &PushTokenId) -> Result<bool, StoreError> {
        let removed = self.push_tokens.remove(id.as_str())?.is_some();
        self.flush().await?;
        Ok(removed)
    }

    pub(super) async fn insert_pushed(&self, r: &PushedReport) -> Result<(), StoreError> {
        let r = r.clone().bounded();
        self.pushed.insert(report_key(&r), to_json(&r)?)?;
        self.flush().await
    }

    pub(super) fn read_pushed(
        &self,
        repo: &RepoId,
        head: &CommitSha,
    ) -> Result<Vec<PushedReport>, StoreError> {
        let mut out = Vec::new();
        for prefix in [plans_prefix(repo, head), drift_prefix(repo)] {
            for entry in self.pushed.scan_prefix(prefix) {
                let (_, v) = entry?;
                out.push(from_json("pushed report", &v)?);
            }
        }
        Ok(out)
    }

    pub(super) async fn insert_pr_head(&self, h: &PrHead) -> Result<(), StoreError> {
        let h = h.clone().bounded();
        self.pr_heads
            .insert(pr_key(h.platform, &h.repo, h.pr), to_json(&h)?)?;
        self.flush().await
    }

    pub(super) fn read_prs_at_head(
        &self,
        repo: &RepoId,
        head: &CommitSha,
    ) -> Result<Vec<PrHead>, StoreError> {
        let mut out = Vec::new();
        // Keys start with the platform, so each platform's part is one prefix read.
        for platform in [
            crate::ids::Platform::GitHub,
            crate::ids::Platform::AzureDevOps,
        ] {
            let prefix = [platform.as_str().as_bytes(), &[0], &repo_prefix(repo)].concat();
            for entry in self.pr_heads.scan_prefix(prefix) {
                let (_, v) = entry?;
                let h: PrHead = from_json("PR head", &v)?;
                if &h.head_sha == head {
                    out.push(h);
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn prune_pushed_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut removed = 0;
        for entry in self.pushed.iter() {
            let (k, v) = entry?;
            let r: PushedReport = from_json("pushed report", &v)?;
            if r.at < before
                && self
                    .pushed
                    .compare_and_swap(&k, Some(&v), None::<&[u8]>)?
                    .is_ok()
            {
                removed += 1;
            }
        }
        for entry in self.pr_heads.iter() {
            let (k, v) = entry?;
            let h: PrHead = from_json("PR head", &v)?;
            if h.at < before
                && self
                    .pr_heads
                    .compare_and_swap(&k, Some(&v), None::<&[u8]>)?
                    .is_ok()
            {
                removed += 1;
            }
        }
        self.flush().await?;
        Ok(removed)
    }
}
