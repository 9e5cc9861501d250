//! Queue policy on top of the [`Store`]: lease length, retry backoff, when a job is dead, and a
//! small [`Worker`] handle so the worker loop cannot mix up its id, lease or retry rule.
//!
//! The store only records what it is told (`fail` with or without `retry_at`); the decisions
//! live here so both backends share them and tests can check them without a database.

use crate::event::JobPayload;
use crate::ids::DeliveryId;
use crate::store::{Job, JobKind, JobState, NewJob, Store, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Turns a parsed payload into a job for the store.
pub fn new_job(payload: &JobPayload, delivery: DeliveryId) -> NewJob {
    let (platform, repo, pr, kind) = match payload {
        JobPayload::Evaluate { pr, .. } => (pr.platform, pr.repo.clone(), pr.pr, JobKind::Evaluate),
        JobPayload::Command { comment } => (
            comment.platform,
            comment.repo.clone(),
            comment.pr,
            JobKind::Command,
        ),
    };
    NewJob {
        platform,
        repo,
        pr,
        head_sha: payload.head_sha(),
        kind,
        delivery,
        payload: serde_json::to_value(payload).unwrap_or_default(),
    }
}

/// How long a claim is valid without a heartbeat. The heartbeat keeps a long job alive, so this
/// only bounds how long a dead replica's job waits: short, so its check is finished by another
/// replica (or the restarted one) within a minute instead of staying "in progress".
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How often a running job should heartbeat: three tries before the lease runs out.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(DEFAULT_LEASE.as_secs() / 3);

/// Default for how many claims a job gets: a failing job is dead after this many, and a job
/// whose holders all died (crash, SIGKILL, lost lease) is dead when claimed once more.
pub const MAX_ATTEMPTS: u32 = 5;

/// Backoff before the first retry (upper bound; see [`backoff`]).
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);

/// Longest wait between two attempts.
pub const BACKOFF_CAP: Duration = Duration::from_secs(10 * 60);

/// The upper bound of the wait after failed attempt `attempt` (1-based): `BACKOFF_BASE *
/// 2^(attempt-1)`, at most [`BACKOFF_CAP`].
pub fn backoff_ceiling(attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    BACKOFF_BASE
        .checked_mul(1u32 << exponent)
        .map_or(BACKOFF_CAP, |d| d.min(BACKOFF_CAP))
}

/// Wait after failed attempt `attempt`: uniform in `0..=backoff_ceiling(attempt)` ("full
/// jitter"), so replicas retrying after a shared outage spread out instead of stampeding.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = backoff_ceiling(attempt).as_millis() as u64;
    Duration::from_millis(rand::random_range(0..=ceiling))
}

/// What [`fail_or_retry`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back in the queue, not before this time.
    Retrying { at: DateTime<Utc> },
    /// Out of attempts: kept as dead with its error.
    Dead,
    /// This worker no longer held the lease; nothing was recorded.
    LeaseLost,
}

/// Records a failure of `job` (as claimed by `worker`): retried after [`backoff`], or dead once
/// it has been claimed `max_attempts` times.
pub async fn fail_or_retry(
    store: &dyn Store,
    job: &Job,
    worker: &str,
    error: &str,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<FailOutcome, StoreError> {
    let retry_at = if job.attempts >= max_attempts {
        None
    } else {
        let wait = TimeDelta::from_std(backoff(job.attempts)).unwrap_or(TimeDelta::MAX);
        Some(
            now.checked_add_signed(wait)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    };
    if !store.fail(job.id, worker, error, retry_at).await? {
        return Ok(FailOutcome::LeaseLost);
    }
    Ok(retry_at.map_or(FailOutcome::Dead, |at| FailOutcome::Retrying { at }))
}

/// What [`claim`] handed out.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// Leased to the worker: run it.
    Run(Job),
    /// Its previous `max_attempts` holders all vanished without recording an outcome, so running
    /// it again would most likely kill this worker too (a file that overflows a parser's stack).
    /// Already marked dead with [`exhausted_error`]; the caller only tells the pull request.
    Exhausted(Job),
}

/// The error kept on a job whose claims ran out without any of them finishing.
pub fn exhausted_error(max_attempts: u32) -> String {
    let plural = if max_attempts == 1 { "" } else { "s" };
    format!(
        "evaluation did not complete after {max_attempts} attempt{plural} (the worker crashed, \
         was killed or lost its lease)"
    )
}

/// Leases the next runnable job to `worker`, unless it was already claimed more than
/// `max_attempts` times: a claim counts as an attempt, and only a failing run goes through
/// [`fail_or_retry`], so without this check a job that crashes the process is re-claimed on
/// every lapsed lease forever, taking every replica down in turn.
pub async fn claim(
    store: &dyn Store,
    worker: &str,
    lease: Duration,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, StoreError> {
    let Some(mut job) = store.claim(worker, lease, now).await? else {
        return Ok(None);
    };
    if job.attempts <= max_attempts {
        return Ok(Some(Claimed::Run(job)));
    }
    let error = exhausted_error(max_attempts);
    if !store.fail(job.id, worker, &error, None).await? {
        // Another worker took it over in between; it applies the same rule.
        return Ok(None);
    }
    job.state = JobState::Dead;
    job.last_error = Some(error);
    job.lease_until = None;
    Ok(Some(Claimed::Exhausted(job)))
}

/// One worker's view of the queue: its id and lease length, fixed once.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    id: String,
    lease: Duration,
    max_attempts: u32,
}

impl Worker {
    /// A worker named `id` (unique per replica and task, e.g. `host-1234/3`) with
    /// [`DEFAULT_LEASE`] and [`MAX_ATTEMPTS`].
    pub fn new(store: Arc<dyn Store>, id: impl Into<String>) -> Worker {
        Worker {
            store,
            id: id.into(),
            lease: DEFAULT_LEASE,
            max_attempts: MAX_ATTEMPTS,
        }
    }

    /// The same worker with another lease length (tests, slow repositories).
    pub fn with_lease(mut self, lease: Duration) -> Worker {
        self.lease = lease;
        self
    }

    /// The same worker with another attempt limit (at least 1).
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Worker {
        self.max_attempts = max_attempts.max(1);
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next runnable job, leased to this worker, or one found exhausted ([`claim`]).
    pub async fn claim(&self, now: DateTime<Utc>) -> Result<Option<Claimed>, StoreError> {
        claim(
            self.store.as_ref(),
            &self.id,
            self.lease,
            self.max_attempts,
            now,
        )
        .await
    }

    /// Extends the lease; `false` means another worker has the job now: stop working on it.
    pub async fn heartbeat(&self, job: &Job, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.store
            .heartbeat(job.id, &self.id, self.lease, now)
            .await
    }

    /// Marks the job done; `false` means the lease was lost and results must not be published.
    pub async fn complete(&self, job: &Job) -> Result<bool, StoreError> {
        self.store.complete(job.id, &self.id).await
    }

    /// Records a failure with the retry policy ([`fail_or_retry`]).
    pub async fn fail(
        &self,
        job: &Job,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<FailOutcome, StoreError> {
        fail_or_retry(
            self.store.as_ref(),
            job,
            &self.id,
            error,
            self.max_attempts,
            now,
        )
        .await
    }

    /// Gives the job back on shutdown without counting the attempt.
    pub async fn release(&self, job: &Job) -> Result<bool, StoreError> {
        self.store.release(job.id, &self.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        assert_eq!(backoff_ceiling(0), BACKOFF_BASE);
        assert_eq!(backoff_ceiling(1), Duration::from_secs(2));
        assert_eq!(backoff_ceiling(2), Duration::from_secs(4));
        assert_eq!(backoff_ceiling(5), Duration::from_secs(32));
        assert_eq!(backoff_ceiling(9), Duration::from_secs(512));
        assert_eq!(backoff_ceiling(10), BACKOFF_CAP);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn jitter_stays_under_the_ceiling_and_varies() {
        let samples: Vec<Duration> = (0..200).map(|_| backoff(6)).collect();
        assert!(samples.iter().all(|d| *d <= backoff_ceiling(6)));
        let first = samples[0];
        assert!(samples.iter().any(|d| *d != first), "no jitter");
    }

    #[test]
    fn heartbeat_is_well_inside_the_lease() {
        assert!(HEARTBEAT_EVERY * 2 < DEFAULT_LEASE);
    }

    #[test]
    fn exhausted_error_names_the_limit_and_the_causes() {
        let e = exhausted_error(5);
        assert!(e.contains("did not complete after 5 attempts"), "{e}");
        assert!(e.contains("crashed") && e.contains("lease"), "{e}");
        assert!(exhausted_error(1).contains("after 1 attempt ("));
    }
}
