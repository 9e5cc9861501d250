//! The embedded sled backend: the default, for a single replica (sled allows one process per
//! database directory).
//!
//! Records are serde_json in their own trees; index trees make the queue's questions cheap:
//! - `job_ready`: `ready_at ++ seq -> id` for `Queued` (ready at `run_after`) and `Running` (ready
//!   again at `lease_until`) jobs, so `claim` reads from the front instead of scanning all jobs.
//! - `job_state`: `state ++ seq -> id` for `jobs_by_state` and `queue_depth`.
//! - `job_delivery`: `delivery -> id`, the enqueue dedupe.
//! - `pr_latest`: `pr -> id` of the newest `Evaluate` job of each PR, for coalescing.
//! - `deliveries` / `body_digests` (`digest -> seen_at ++ delivery`), each with a `*_at`
//!   (`seen_at ++ key`) tree for pruning by age.
//!
//! `seq` comes from sled's monotonic id generator and orders jobs with the same time by enqueue
//! order. Times in keys are big-endian microseconds with the sign bit flipped, so byte order is
//! time order. Multi-tree changes go through sled transactions, so a crash never leaves a job
//! and its indexes disagreeing; queue operations that pick a job by scanning an index first also
//! hold `queue_lock`, since sled transactions cannot iterate.

mod ai_usage;
mod counters;
mod evaluations;
mod group_commit;
mod io;
mod jobs;
mod keys;
mod pushed;
mod scan;

use self::keys::{from_json, pr_key, repo_prefix, time_key, to_json, tx_error};
use super::{
    ActionVerdict, DecisionRecord, EnqueueOutcome, Job, JobState, NewJob, Override, PrState,
    ScanCursor, Store, StoreError, micros,
};
use crate::ids::{DeliveryId, JobId, Platform, PrNumber, RepoId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sled::transaction::Transactional;
use sled::{Db, Tree};
use std::sync::Mutex;
use std::time::Duration;

/// sled's default page cache is 1 GiB; the bot's working set is far smaller.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The sled store. Cheap to share: every field is a handle.
pub struct SledStore {
    db: Db,
    jobs: Tree,
    job_ready: Tree,
    job_state: Tree,
    job_delivery: Tree,
    pr_latest: Tree,
    deliveries: Tree,
    deliveries_at: Tree,
    body_digests: Tree,
    body_digests_at: Tree,
    decisions: Tree,
    decisions_repo: Tree,
    action_counts: Tree,
    last_action: Tree,
    overrides: Tree,
    pr_states: Tree,
    /// `window_start ++ key -> count` (u32 big-endian): command budgets.
    counters: Tree,
    /// `name -> {owner, lease_until}` (JSON): recovery scan leases.
    scan_leases: Tree,
    /// `name -> ScanCursor` (JSON): where each recovery scan stopped.
    scan_cursors: Tree,
    /// `id -> record`, indexed by `evaluations_at` and `evaluations_pr` (see `evaluations`).
    evaluations: Tree,
    evaluations_at: Tree,
    evaluations_pr: Tree,
    /// `day \0 owner \0 repo \0 model -> AiUsage` (JSON): AI costs (see `ai_usage`).
    ai_usage: Tree,
    /// Push API records (see `pushed`).
    push_tokens: Tree,
    pushed: Tree,
    pr_heads: Tree,
    /// Serializes queue changes that choose their job by scanning an index (see module docs).
    queue_lock: Mutex<()>,
    /// Concurrent writers share flushes (see `group_commit`).
    commits: group_commit::GroupCommit,
}

impl SledStore {
    /// Opens (or creates) the database at `path`. Fails if another process has it open.
    pub async fn open(path: &str) -> Result<SledStore, StoreError> {
        let location = path.to_owned();
        let open_err = |reason: String| StoreError::Open {
            location: format!("sled:{location}"),
            reason,
        };
        let config = sled::Config::new().path(path).cache_capacity(CACHE_BYTES);
        // Opening reads and may recover the log: blocking work, kept off the async workers.
        let db = tokio::task::spawn_blocking(move || config.open())
            .await
            .map_err(|e| open_err(e.to_string()))?
            .map_err(|e| open_err(e.to_string()))?;
        let tree = |name: &str| db.open_tree(name);
        Ok(SledStore {
            jobs: tree("jobs")?,
            job_ready: tree("job_ready")?,
            job_state: tree("job_state")?,
            job_delivery: tree("job_delivery")?,
            pr_latest: tree("pr_latest")?,
            deliveries: tree("deliveries")?,
            deliveries_at: tree("deliveries_at")?,
            body_digests: tree("body_digests")?,
            body_digests_at: tree("body_digests_at")?,
            decisions: tree("decisions")?,
            decisions_repo: tree("decisions_repo")?,
            action_counts: tree("action_counts")?,
            last_action: tree("last_action")?,
            overrides: tree("overrides")?,
            pr_states: tree("pr_states")?,
            counters: tree("counters")?,
            scan_leases: tree("scan_leases")?,
            scan_cursors: tree("scan_cursors")?,
            evaluations: tree("evaluations")?,
            evaluations_at: tree("evaluations_at")?,
            evaluations_pr: tree("evaluations_pr")?,
            ai_usage: tree("ai_usage")?,
            push_tokens: tree("push_tokens")?,
            pushed: tree("pushed")?,
            pr_heads: tree("pr_heads")?,
            queue_lock: Mutex::new(()),
            commits: group_commit::GroupCommit::default(),
            db,
        })
    }
}

#[async_trait]
impl Store for SledStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.jobs.first()?;
        Ok(())
    }

    async fn record_delivery(
        &self,
        key: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = time_key(micros(now));
        let key = key.as_str().as_bytes();
        (&self.deliveries, &self.deliveries_at)
            .transaction(|(deliveries, by_time)| {
                if deliveries.get(key)?.is_some() {
                    return Ok(false);
                }
                deliveries.insert(key, &at[..])?;
                by_time.insert([&at[..], key].concat(), &[][..])?;
                Ok(true)
            })
            .map_err(tx_error)
        // Not flushed: losing it in a crash only lets a redelivery through, and `enqueue`
        // dedupes on the delivery id durably anyway.
    }

    async fn record_body(
        &self,
        digest: &str,
        delivery: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<DeliveryId, StoreError> {
        let at = time_key(micros(now));
        let key = digest.as_bytes();
        let first = (&self.body_digests, &self.body_digests_at)
            .transaction(|(digests, by_time)| {
                if let Some(seen) = digests.get(key)? {
                    return Ok(seen.get(at.len()..).unwrap_or_default().to_vec());
                }
                digests.insert(key, [&at[..], delivery.as_str().as_bytes()].concat())?;
                by_time.insert([&at[..], key].concat(), &[][..])?;
                Ok(delivery.as_str().as_bytes().to_vec())
            })
            .map_err(tx_error)?;
        // Not flushed, like `record_delivery`: a crash can only let one replay through.
        String::from_utf8(first)
            .map_err(|e| StoreError::corrupt("body digest", e))?
            .parse()
            .map_err(|e| StoreError::corrupt("body digest", e))
    }

    async fn prune_deliveries(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = time_key(micros(older_than));
        let mut removed = self
            .prune_seen(&self.deliveries, &self.deliveries_at, &cutoff)
            .await?;
        removed += self
            .prune_seen(&self.body_digests, &self.body_digests_at, &cutoff)
            .await?;
        self.flush().await?;
        Ok(removed)
    }

    async fn enqueue(&self, new: NewJob, now: DateTime<Utc>) -> Result<EnqueueOutcome, StoreError> {
        self.enqueue_job(new, now).await
    }

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        self.claim_job(worker, lease, now).await
    }

    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.heartbeat_job(id, worker, lease, now).await
    }

    async fn complete(&self, id: JobId, worker: &str) -> Result<bool, StoreError> {
        self.complete_job(id, worker).await
    }

    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        self.fail_job(id, worker, error, retry_at).await
    }

    async fn release(&self, id: JobId, worker: &str) -> Result<bool, StoreError> {
        self.release_job(id, worker).await
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        self.get_job(id)
    }

    async fn jobs_by_state(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.jobs_in_state(state, limit).await
    }

    async fn queue_depth(&self) -> Result<u64, StoreError> {
        self.count_queued().await
    }

    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.prune_finished_jobs(before).await
    }

    async fn record_decision(&self, rec: &DecisionRecord) -> Result<(), StoreError> {
        let rec = DecisionRecord {
            at: micros(rec.at),
            ..rec.clone()
        };
        let time_id = [&time_key(rec.at)[..], rec.id.0.as_bytes()].concat();
        let by_repo = [&repo_prefix(&rec.repo)[..], &time_id].concat();
        let json = to_json(&rec)?;
        (&self.decisions, &self.decisions_repo)
            .transaction(|(all, per_repo)| {
                all.insert(&time_id[..], &json[..])?;
                per_repo.insert(&by_repo[..], &json[..])?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush().await
    }

    async fn decisions(
        &self,
        repo: Option<&RepoId>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let since = time_key(micros(since));
        let range = match repo {
            Some(repo) => {
                let prefix = repo_prefix(repo);
                let start = [&prefix[..], &since[..]].concat();
                // The separator is 0, so the next repository starts at `repo ++ 1`.
                let end = [repo.as_str().as_bytes(), &[1u8]].concat();
                self.decisions_repo.range(start..end)
            }
            None => self.decisions.range(since.to_vec()..),
        };
        range
            .values()
            .rev()
            .take(limit)
            .map(|value| from_json("decision", &value?))
            .collect()
    }

    async fn try_record_action(
        &self,
        repo: &RepoId,
        kind: &str,
        now: DateTime<Utc>,
        daily_limit: u32,
        cooldown_secs: u64,
    ) -> Result<ActionVerdict, StoreError> {
        self.record_action(repo, kind, now, daily_limit, cooldown_secs)
            .await
    }

    /// Not flushed: a count lost in a crash only gives a user a few more commands.
    async fn bump_counter(&self, key: &str, window: DateTime<Utc>) -> Result<u32, StoreError> {
        self.bump_window_counter(key, window).await
    }

    async fn prune_counters(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.prune_window_counters(before).await
    }

    async fn put_override(&self, o: &Override) -> Result<(), StoreError> {
        let o = Override {
            at: micros(o.at),
            ..o.clone()
        };
        self.put_json(&self.overrides, pr_key(o.platform, &o.repo, o.pr), &o)?;
        self.flush().await
    }

    async fn get_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<Override>, StoreError> {
        Self::get_json(&self.overrides, "override", pr_key(platform, repo, pr))
    }

    async fn clear_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<(), StoreError> {
        self.overrides.remove(pr_key(platform, repo, pr))?;
        self.flush().await
    }

    async fn pr_state(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<PrState>, StoreError> {
        Self::get_json(&self.pr_states, "PR state", pr_key(platform, repo, pr))
    }

    async fn put_pr_state(&self, s: &PrState) -> Result<(), StoreError> {
        self.put_json(&self.pr_states, pr_key(s.platform, &s.repo, s.pr), s)?;
        self.flush().await
    }

    async fn acquire_scan_lease(
        &self,
        name: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.acquire_lease(name, owner, lease, now)
    }

    async fn release_scan_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        self.release_lease(name, owner)
    }

    async fn scan_cursor(&self, name: &str) -> Result<Option<ScanCursor>, StoreError> {
        Self::get_json(&self.scan_cursors, "scan cursor", name.as_bytes().to_vec())
    }

    /// Not flushed: a cursor lost in a crash only makes the next scan look again.
    async fn put_scan_cursor(&self, name: &str, cursor: &ScanCursor) -> Result<(), StoreError> {
        let cursor = ScanCursor {
            last_success: cursor.last_success.map(micros),
            ..cursor.clone()
        };
        self.put_json(&self.scan_cursors, name.as_bytes().to_vec(), &cursor)
    }

    async fn put_evaluation(&self, rec: &super::EvaluationRecord) -> Result<(), StoreError> {
        self.put_evaluation_tx(rec).await
    }

    async fn evaluation(
        &self,
        id: super::EvaluationId,
    ) -> Result<Option<super::EvaluationRecord>, StoreError> {
        self.evaluation_by_id(id)
    }

    async fn pr_evaluations(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
        limit: usize,
    ) -> Result<Vec<super::EvaluationRecord>, StoreError> {
        self.evaluations_of_pr(platform, repo, pr, limit)
    }

    async fn evaluations(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<super::EvaluationRecord>, StoreError> {
        self.evaluations_since(since, limit)
    }

    async fn prune_evaluations(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.prune_evaluations_before(before).await
    }

    async fn add_ai_usage(&self, usage: &super::AiUsage) -> Result<(), StoreError> {
        self.add_usage(usage).await
    }

    async fn ai_usage(&self, since: chrono::NaiveDate) -> Result<Vec<super::AiUsage>, StoreError> {
        self.usage_since(since)
    }

    async fn put_push_token(&self, token: &super::PushToken) -> Result<(), StoreError> {
        self.insert_push_token(token).await
    }

    async fn push_token(
        &self,
        id: &super::PushTokenId,
    ) -> Result<Option<super::PushToken>, StoreError> {
        self.read_push_token(id)
    }

    async fn revoke_push_token(&self, id: &super::PushTokenId) -> Result<bool, StoreError> {
        self.remove_push_token(id).await
    }

    async fn put_pushed_report(&self, report: &super::PushedReport) -> Result<(), StoreError> {
        self.insert_pushed(report).await
    }

    async fn pushed_reports(
        &self,
        repo: &RepoId,
        head_sha: &crate::ids::CommitSha,
    ) -> Result<Vec<super::PushedReport>, StoreError> {
        self.read_pushed(repo, head_sha)
    }

    async fn prune_pushed(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.prune_pushed_before(before).await
    }

    async fn put_pr_head(&self, head: &super::PrHead) -> Result<(), StoreError> {
        self.insert_pr_head(head).await
    }

    async fn prs_at_head(
        &self,
        repo: &RepoId,
        head_sha: &crate::ids::CommitSha,
    ) -> Result<Vec<super::PrHead>, StoreError> {
        self.read_prs_at_head(repo, head_sha)
    }
}
