//! The job queue half of the sled backend: job records, their index trees and the lease rules.
//!
//! Every change goes through [`SledStore::queue_tx`], a transaction over the five queue trees, so
//! a job and its index entries never disagree after a crash. Operations that pick their job by
//! scanning an index hold `queue_lock` as well, since sled transactions cannot iterate.

use super::SledStore;
use super::keys::{
    TxResult, abort_on, from_json, id_from_bytes, pr_key, time_from_key, time_key, to_json,
    tx_error,
};
use crate::ids::JobId;
use crate::store::{
    EnqueueOutcome, Job, JobKind, JobState, NewJob, StoreError, clean_text, lease_deadline, micros,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{Transactional, TransactionalTree};
use std::time::Duration;

/// A job plus its enqueue sequence number (storage detail, not part of [`Job`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredJob {
    seq: u64,
    job: Job,
}

/// The queue trees inside one transaction.
struct QueueTx<'a> {
    jobs: &'a TransactionalTree,
    ready: &'a TransactionalTree,
    state: &'a TransactionalTree,
    delivery: &'a TransactionalTree,
    pr_latest: &'a TransactionalTree,
}

impl QueueTx<'_> {
    fn load(&self, id: JobId) -> TxResult<Option<StoredJob>> {
        match self.jobs.get(id.0.as_bytes())? {
            Some(bytes) => Ok(Some(abort_on(from_json("job", &bytes))?)),
            None => Ok(None),
        }
    }

    /// Writes `new` and moves its index entries from where `old` had them.
    fn put(&self, old: Option<&StoredJob>, new: &StoredJob) -> TxResult<()> {
        if let Some(old) = old {
            if let Some(key) = ready_key(old) {
                self.ready.remove(key)?;
            }
            self.state.remove(&state_key(old.job.state, old.seq)[..])?;
        }
        let id = new.job.id.0.as_bytes();
        if let Some(key) = ready_key(new) {
            self.ready.insert(key, &id[..])?;
        }
        self.state
            .insert(&state_key(new.job.state, new.seq)[..], &id[..])?;
        self.jobs.insert(&id[..], abort_on(to_json(new))?)?;
        Ok(())
    }

    /// Whether a newer `Evaluate` job exists for this job's PR (then this one must not run).
    fn superseded(&self, job: &Job) -> TxResult<bool> {
        if job.kind != JobKind::Evaluate {
            return Ok(false);
        }
        let latest = self
            .pr_latest
            .get(pr_key(job.platform, &job.repo, job.pr))?;
        Ok(latest.is_some_and(|l| l.as_ref() != job.id.0.as_bytes()))
    }
}

impl SledStore {
    fn queue_tx<T>(&self, f: impl Fn(&QueueTx<'_>) -> TxResult<T>) -> Result<T, StoreError> {
        (
            &self.jobs,
            &self.job_ready,
            &self.job_state,
            &self.job_delivery,
            &self.pr_latest,
        )
            .transaction(|(jobs, ready, state, delivery, pr_latest)| {
                f(&QueueTx {
                    jobs,
                    ready,
                    state,
                    delivery,
                    pr_latest,
                })
            })
            .map_err(tx_error)
    }

    fn load(&self, id: JobId) -> Result<Option<StoredJob>, StoreError> {
        self.jobs
            .get(id.0.as_bytes())?
            .map(|bytes| from_json("job", &bytes))
            .transpose()
    }

    pub(super) fn get_job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        Ok(self.load(id)?.map(|stored| stored.job))
    }

    /// The first job in `job_ready` that is runnable at `now`.
    fn next_runnable(&self, now: DateTime<Utc>) -> Result<Option<JobId>, StoreError> {
        for entry in self.job_ready.iter() {
            let (key, value) = entry?;
            if time_from_key(&key)? > now {
                break;
            }
            let id = id_from_bytes(&value)?;
            let Some(stored) = self.load(id)? else {
                continue;
            };
            let job = &stored.job;
            let runnable = match job.state {
                JobState::Queued => job.run_after <= now,
                JobState::Running => job.lease_until.is_some_and(|until| until < now),
                _ => false,
            };
            if runnable {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Applies `change` to job `id` if `worker` holds its lease; `false` if it does not.
    fn leased_update(
        &self,
        id: JobId,
        worker: &str,
        change: impl Fn(&QueueTx<'_>, &mut Job) -> TxResult<()>,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock();
        self.queue_tx(|q| {
            let Some(old) = q.load(id)? else {
                return Ok(false);
            };
            if old.job.state != JobState::Running || old.job.lease_owner.as_deref() != Some(worker)
            {
                return Ok(false);
            }
            let mut new = old.clone();
            change(q, &mut new.job)?;
            q.put(Some(&old), &new)?;
            Ok(true)
        })
    }

    pub(super) async fn enqueue_job(
        &self,
        new: NewJob,
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome, StoreError> {
        let now = micros(now);
        let outcome = {
            let _guard = self.lock();
            let stored = StoredJob {
                seq: self.db.generate_id()?,
                job: Job {
                    id: JobId::new(),
                    platform: new.platform,
                    repo: new.repo,
                    pr: new.pr,
                    head_sha: new.head_sha,
                    kind: new.kind,
                    delivery: new.delivery,
                    payload: new.payload,
                    state: JobState::Queued,
                    attempts: 0,
                    run_after: now,
                    lease_owner: None,
                    lease_until: None,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                },
            };
            let job = &stored.job;
            let id = job.id.0.as_bytes();
            self.queue_tx(|q| {
                if q.delivery.get(job.delivery.as_str())?.is_some() {
                    return Ok(EnqueueOutcome::Duplicate);
                }
                if job.kind == JobKind::Evaluate {
                    let pr = pr_key(job.platform, &job.repo, job.pr);
                    if let Some(previous) = q.pr_latest.get(&pr)? {
                        let previous = abort_on(id_from_bytes(&previous))?;
                        if let Some(old) = q.load(previous)?
                            && old.job.state == JobState::Queued
                        {
                            let mut superseded = old.clone();
                            superseded.job.state = JobState::Superseded;
                            superseded.job.updated_at = now;
                            q.put(Some(&old), &superseded)?;
                        }
                    }
                    q.pr_latest.insert(pr, &id[..])?;
                }
                q.delivery.insert(job.delivery.as_str(), &id[..])?;
                q.put(None, &stored)?;
                Ok(EnqueueOutcome::Enqueued(job.id))
            })?
        };
        if matches!(outcome, EnqueueOutcome::Enqueued(_)) {
            self.flush().await?;
        }
        Ok(outcome)
    }

    pub(super) async fn claim_job(
        &self,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let now = micros(now);
        let until = lease_deadline(now, lease)?;
        // Not flushed: a claim lost in a crash only means the job runs again (at least once).
        let _guard = self.lock();
        while let Some(candidate) = self.next_runnable(now)? {
            // `None`: the candidate was superseded instead; look for the next one.
            let claimed = self.queue_tx(|q| {
                let Some(old) = q.load(candidate)? else {
                    return Ok(None);
                };
                let mut new = old.clone();
                new.job.updated_at = now;
                if q.superseded(&old.job)? {
                    new.job.state = JobState::Superseded;
                    new.job.lease_until = None;
                    q.put(Some(&old), &new)?;
                    return Ok(None);
                }
                new.job.state = JobState::Running;
                new.job.lease_owner = Some(worker.to_owned());
                new.job.lease_until = Some(until);
                new.job.attempts = new.job.attempts.saturating_add(1);
                q.put(Some(&old), &new)?;
                Ok(Some(new.job))
            })?;
            if claimed.is_some() {
                return Ok(claimed);
            }
        }
        Ok(None)
    }

    pub(super) async fn heartbeat_job(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = micros(now);
        let until = lease_deadline(now, lease)?;
        self.leased_update(id, worker, |_, job| {
            job.lease_until = Some(until);
            job.updated_at = now;
            Ok(())
        })
    }

    pub(super) async fn complete_job(&self, id: JobId, worker: &str) -> Result<bool, StoreError> {
        let now = micros(Utc::now());
        let held = self.leased_update(id, worker, |_, job| {
            job.state = JobState::Done;
            job.lease_until = None;
            job.updated_at = now;
            Ok(())
        })?;
        self.flush().await?;
        Ok(held)
    }

    pub(super) async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let now = micros(Utc::now());
        let held = self.leased_update(id, worker, |q, job| {
            job.last_error = Some(clean_text(error));
            job.lease_until = None;
            job.updated_at = now;
            if let Some(at) = retry_at {
                job.run_after = micros(at);
            }
            job.state = match retry_at {
                None => JobState::Dead,
                Some(_) if q.superseded(job)? => JobState::Superseded,
                Some(_) => JobState::Queued,
            };
            Ok(())
        })?;
        self.flush().await?;
        Ok(held)
    }

    pub(super) async fn release_job(&self, id: JobId, worker: &str) -> Result<bool, StoreError> {
        let now = micros(Utc::now());
        let held = self.leased_update(id, worker, |q, job| {
            job.attempts = job.attempts.saturating_sub(1);
            job.lease_until = None;
            job.updated_at = now;
            job.state = if q.superseded(job)? {
                JobState::Superseded
            } else {
                JobState::Queued
            };
            Ok(())
        })?;
        self.flush().await?;
        Ok(held)
    }

    pub(super) async fn jobs_in_state(
        &self,
        state: JobState,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let mut jobs = Vec::new();
        for entry in self
            .job_state
            .scan_prefix([state_byte(state)])
            .values()
            .take(limit)
        {
            if let Some(stored) = self.load(id_from_bytes(&entry?)?)? {
                jobs.push(stored.job);
            }
        }
        Ok(jobs)
    }

    pub(super) async fn prune_finished_jobs(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let before = micros(before);
        let mut removed = 0;
        for state in [JobState::Done, JobState::Superseded, JobState::Dead] {
            let ids = self
                .job_state
                .scan_prefix([state_byte(state)])
                .values()
                .map(|v| id_from_bytes(&v?))
                .collect::<Result<Vec<JobId>, StoreError>>()?;
            for chunk in ids.chunks(super::io::PRUNE_CHUNK) {
                let _guard = self.lock();
                removed += self.queue_tx(|q| {
                    let mut n = 0;
                    for id in chunk {
                        let Some(old) = q.load(*id)? else {
                            continue;
                        };
                        if old.job.state != state || old.job.updated_at >= before {
                            continue;
                        }
                        let key = id.0.as_bytes();
                        q.jobs.remove(&key[..])?;
                        q.state.remove(&state_key(old.job.state, old.seq)[..])?;
                        let delivery = old.job.delivery.as_str();
                        if q.delivery.get(delivery)?.is_some_and(|v| v.as_ref() == key) {
                            q.delivery.remove(delivery)?;
                        }
                        let pr = pr_key(old.job.platform, &old.job.repo, old.job.pr);
                        if q.pr_latest.get(&pr)?.is_some_and(|v| v.as_ref() == key) {
                            q.pr_latest.remove(pr)?;
                        }
                        n += 1;
                    }
                    Ok(n)
                })?;
            }
        }
        self.flush().await?;
        Ok(removed)
    }

    pub(super) async fn count_queued(&self) -> Result<u64, StoreError> {
        let mut depth = 0;
        for key in self
            .job_state
            .scan_prefix([state_byte(JobState::Queued)])
            .keys()
        {
            key?;
            depth += 1;
        }
        Ok(depth)
    }
}

fn state_byte(state: JobState) -> u8 {
    match state {
        JobState::Queued => 0,
        JobState::Running => 1,
        JobState::Done => 2,
        JobState::Dead => 3,
        JobState::Superseded => 4,
    }
}

fn state_key(state: JobState, seq: u64) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = state_byte(state);
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `ready_at ++ seq` for jobs a claim may pick: queued ones at `run_after`, running ones when
/// their lease runs out.
fn ready_key(stored: &StoredJob) -> Option<Vec<u8>> {
    let at = match stored.job.state {
        JobState::Queued => stored.job.run_after,
        JobState::Running => stored.job.lease_until?,
        _ => return None,
    };
    Some([time_key(at), stored.seq.to_be_bytes()].concat())
}
