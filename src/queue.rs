//! Queue policy on top of the [`Store`]: lease length, retry backoff, when a job is dead, and a
//! small [`Worker`] handle so the worker loop cannot mix up its id, lease or retry rule.
//!
//! The store only records what it is told (`fail` with or without `retry_at`); the decisions
//! live here so both backends share them and tests can check them without a database.

use crate::store::{Job, Store, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;

/// How long a claim is valid without a heartbeat. Long enough for a checkout and three gates on
/// a slow repository, short enough that a dead replica's jobs restart within minutes.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// How often a running job should heartbeat: three tries before the lease runs out.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(DEFAULT_LEASE.as_secs() / 3);

/// Claims after which a failing job is marked dead instead of retried.
pub const MAX_ATTEMPTS: u32 = 6;

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
/// it has been claimed [`MAX_ATTEMPTS`] times.
pub async fn fail_or_retry(
    store: &dyn Store,
    job: &Job,
    worker: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<FailOutcome, StoreError> {
    let retry_at = if job.attempts >= MAX_ATTEMPTS {
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

/// One worker's view of the queue: its id and lease length, fixed once.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    id: String,
    lease: Duration,
}

impl Worker {
    /// A worker named `id` (unique per replica and task, e.g. `host-1234/3`) with
    /// [`DEFAULT_LEASE`].
    pub fn new(store: Arc<dyn Store>, id: impl Into<String>) -> Worker {
        Worker {
            store,
            id: id.into(),
            lease: DEFAULT_LEASE,
        }
    }

    /// The same worker with another lease length (tests, slow repositories).
    pub fn with_lease(mut self, lease: Duration) -> Worker {
        self.lease = lease;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next runnable job, leased to this worker.
    pub async fn claim(&self, now: DateTime<Utc>) -> Result<Option<Job>, StoreError> {
        self.store.claim(&self.id, self.lease, now).await
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
        fail_or_retry(self.store.as_ref(), job, &self.id, error, now).await
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
}
