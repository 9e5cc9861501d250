//! The job queue half of the PostgreSQL backend.
//!
//! `claim` takes the front runnable row with `FOR UPDATE SKIP LOCKED`; the other transitions are
//! single `UPDATE`s guarded by `state = 'running' AND lease_owner = me`, so a worker whose job was
//! re-claimed changes nothing and learns it from the row count. Enqueue is one statement that
//! takes no PR lock (see `enqueue_job`); fail and release of an `Evaluate` job hold a
//! transaction-scoped advisory lock on the PR, so their "is there a newer job" check cannot miss
//! a concurrent enqueue.

use super::{PgStore, limit_i64, parse, pr_from_i64, pr_i64};
use crate::ids::{JobId, Platform, PrNumber, RepoId};
use crate::store::{
    EnqueueOutcome, Job, JobKind, JobState, NewJob, StoreError, clean_text, lease_deadline, micros,
};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row, Transaction};
use std::time::Duration;

const JOB_COLUMNS: &str = "id, platform, repo, pr, head_sha, kind, delivery, \
     payload::text AS payload, state, attempts, run_after, lease_owner, lease_until, last_error, \
     created_at, updated_at";

/// Enqueue in one statement: `$1` id, `$2` platform, `$3` repo, `$4` pr, `$5` head sha, `$6`
/// kind, `$7` delivery, `$8` payload (JSON text), `$9` now. Returns the new job's `seq`, or no
/// row for a duplicate delivery. Public so a test can check its plan stays O(1) for a busy PR.
pub const ENQUEUE_SQL: &str = "WITH ins AS ( \
        INSERT INTO jobs (id, platform, repo, pr, head_sha, kind, delivery, payload, \
            state, attempts, run_after, ready_at, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, 'queued', 0, $9, $9, $9, $9) \
        ON CONFLICT (delivery) DO NOTHING RETURNING seq), \
     old AS ( \
        SELECT id FROM jobs \
        WHERE platform = $2 AND repo = $3 AND pr = $4 AND kind = 'evaluate' \
          AND state = 'queued' AND $6 = 'evaluate' AND EXISTS (SELECT 1 FROM ins) \
        FOR UPDATE SKIP LOCKED), \
     sup AS ( \
        UPDATE jobs SET state = 'superseded', updated_at = $9 \
        FROM old WHERE jobs.id = old.id) \
     SELECT seq FROM ins";

/// "A newer Evaluate job exists for this job's PR", for a row of `jobs`.
const NEWER_EVALUATE: &str = "jobs.kind = 'evaluate' AND EXISTS (SELECT 1 FROM jobs n \
     WHERE n.platform = jobs.platform AND n.repo = jobs.repo AND n.pr = jobs.pr \
     AND n.kind = 'evaluate' AND n.seq > jobs.seq)";

/// Serializes coalescing decisions about one PR until the transaction ends.
async fn lock_pr(
    tx: &mut Transaction<'_, Postgres>,
    platform: Platform,
    repo: &RepoId,
    pr: PrNumber,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("{platform}|{repo}|{pr}"))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl PgStore {
    /// Runs a lease-guarded update that may send an `Evaluate` job back to the queue (fail,
    /// release) while holding its PR lock, so its "is there a newer job" check cannot miss a
    /// concurrent enqueue.
    async fn requeue_update(
        &self,
        id: JobId,
        update: Query<'_, Postgres, PgArguments>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let target: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT platform, repo, pr FROM jobs WHERE id = $1 AND kind = 'evaluate'",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((platform, repo, pr)) = target {
            let (platform, repo) = (parse("job", &platform)?, parse("job", &repo)?);
            lock_pr(&mut tx, platform, &repo, pr_from_i64("job", pr)?).await?;
        }
        let updated = update.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(updated == 1)
    }

    pub(super) async fn enqueue_job(
        &self,
        job: NewJob,
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome, StoreError> {
        let now = micros(now);
        let id = JobId::new();
        let pr = pr_i64(job.pr)?;
        let payload = serde_json::to_string(&job.payload)
            .map_err(|e| StoreError::Invalid(format!("job payload: {e}")))?;
        // One statement, one commit, no lock held across it: insert the job and supersede the
        // PR's older queued `Evaluate` jobs (found through `jobs_pr_queued`, so a PR with a long
        // history costs the same as a new one). Rows another statement holds (a concurrent
        // enqueue superseding them, a claim) are skipped rather than waited for: two enqueues
        // of one PR never wait on each other's commit (an fsync). What a skip leaves queued is
        // superseded when claimed (`claim_job`), so an old head still never runs after a newer
        // one was enqueued. Durable: the commit waits for the WAL flush (synchronous_commit),
        // and concurrent commits share that flush.
        let inserted: Option<i64> = sqlx::query_scalar(ENQUEUE_SQL)
            .bind(id.0)
            .bind(job.platform.as_str())
            .bind(job.repo.as_str())
            .bind(pr)
            .bind(job.head_sha.as_str())
            .bind(job.kind.as_str())
            .bind(job.delivery.as_str())
            .bind(payload)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match inserted {
            Some(_) => EnqueueOutcome::Enqueued(id),
            None => EnqueueOutcome::Duplicate,
        })
    }

    pub(super) async fn claim_job(
        &self,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let now = micros(now);
        let until = lease_deadline(now, lease)?;
        let claim_sql = format!(
            "WITH next AS ( \
                SELECT id AS next_id FROM jobs \
                WHERE state IN ('queued', 'running') AND ready_at <= $1 \
                  AND (state = 'queued' OR ready_at < $1) \
                ORDER BY ready_at, seq LIMIT 1 \
                FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET state = 'running', lease_owner = $2, lease_until = $3, \
                ready_at = $3, attempts = jobs.attempts + 1, updated_at = $1 \
             FROM next WHERE jobs.id = next.next_id RETURNING {JOB_COLUMNS}"
        );
        let supersede_sql = format!(
            "UPDATE jobs SET state = 'superseded', lease_until = NULL, updated_at = $3 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND {NEWER_EVALUATE}"
        );
        loop {
            let row = sqlx::query(&claim_sql)
                .bind(now)
                .bind(worker)
                .bind(until)
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let job = job_from_row(&row)?;
            if job.kind != JobKind::Evaluate {
                return Ok(Some(job));
            }
            // A lapsed Evaluate job whose PR got a newer one meanwhile must not run: an old
            // head evaluated last would overwrite the newer result.
            let superseded = sqlx::query(&supersede_sql)
                .bind(job.id.0)
                .bind(worker)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
            if superseded == 0 {
                return Ok(Some(job));
            }
        }
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
        let updated = sqlx::query(
            "UPDATE jobs SET lease_until = $3, ready_at = $3, updated_at = $4 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2",
        )
        .bind(id.0)
        .bind(worker)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    pub(super) async fn complete_job(&self, id: JobId, worker: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = $3 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2",
        )
        .bind(id.0)
        .bind(worker)
        .bind(micros(Utc::now()))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    pub(super) async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET \
                state = CASE WHEN $4::timestamptz IS NULL THEN 'dead' \
                             WHEN {NEWER_EVALUATE} THEN 'superseded' ELSE 'queued' END, \
                run_after = COALESCE($4, run_after), ready_at = COALESCE($4, run_after), \
                lease_until = NULL, last_error = $3, updated_at = $5 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2"
        );
        let update = sqlx::query(&sql)
            .bind(id.0)
            .bind(worker)
            .bind(clean_text(error))
            .bind(retry_at.map(micros))
            .bind(micros(Utc::now()));
        self.requeue_update(id, update).await
    }

    pub(super) async fn release_job(&self, id: JobId, worker: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET \
                state = CASE WHEN {NEWER_EVALUATE} THEN 'superseded' ELSE 'queued' END, \
                attempts = GREATEST(attempts - 1, 0), lease_until = NULL, ready_at = run_after, \
                updated_at = $3 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2"
        );
        let update = sqlx::query(&sql)
            .bind(id.0)
            .bind(worker)
            .bind(micros(Utc::now()));
        self.requeue_update(id, update).await
    }

    pub(super) async fn get_job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    pub(super) async fn jobs_in_state(
        &self,
        state: JobState,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY seq LIMIT $2"
        ))
        .bind(state.as_str())
        .bind(limit_i64(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub(super) async fn count_queued(&self) -> Result<u64, StoreError> {
        let depth: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'queued'")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(depth).unwrap_or(0))
    }
}

fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    let text = |col: &str| row.try_get::<String, _>(col);
    let payload = text("payload")?;
    Ok(Job {
        id: JobId(row.try_get("id")?),
        platform: parse("job", &text("platform")?)?,
        repo: parse("job", &text("repo")?)?,
        pr: pr_from_i64("job", row.try_get("pr")?)?,
        head_sha: parse("job", &text("head_sha")?)?,
        kind: parse("job", &text("kind")?)?,
        delivery: parse("job", &text("delivery")?)?,
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::corrupt("job", e))?,
        state: parse("job", &text("state")?)?,
        attempts: u32::try_from(row.try_get::<i32, _>("attempts")?)
            .map_err(|e| StoreError::corrupt("job", e))?,
        run_after: row.try_get("run_after")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
