//! The PostgreSQL backend, for several replicas sharing one database.
//!
//! Only runtime-checked queries (`sqlx::query`), so building needs no database. The queue lives
//! in [`jobs`] (`FOR UPDATE SKIP LOCKED` claims, lease-guarded updates); here are the rest:
//! deliveries (a unique key), the audit trail, overrides and PR state (upserts), and
//! `try_record_action`, which locks the repository's `repo_actions` row for the whole
//! check-and-count so the limits hold across replicas.
//!
//! Migrations live in `migrations/` and are embedded at build time ([`MIGRATIONS`]) rather than
//! through `sqlx::migrate!`, which would need sqlx's proc-macro feature (a second, host-side build
//! of sqlx). They are applied by [`PgStore::connect`], under sqlx's migration lock, so replicas
//! starting together do not race.

mod ai_usage;
mod evaluations;
mod jobs;
pub use jobs::ENQUEUE_SQL;
mod migrations;
mod pr;
mod pushed;
mod rows;
mod scan;

use rows::{decision_from_row, limit_i64, parse, pr_from_i64, pr_i64};

pub use migrations::{MIGRATIONS, migrator};

use super::{
    ActionVerdict, DecisionRecord, EnqueueOutcome, Job, JobState, NewJob, Override, PrState,
    ScanCursor, Store, StoreError, action_verdict, micros, redact,
};
use crate::ids::{DeliveryId, JobId, Platform, PrNumber, RepoId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

/// Connections per replica. Workers hold one only for the length of a statement.
const MAX_CONNECTIONS: u32 = 10;

/// How long a query waits for a free connection before `/readyz` and callers see an error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

const DECISION_COLUMNS: &str = "id, at, platform, repo, pr, head_sha, decision, risk, confidence, \
     reasons, findings_digest, actor, downgraded_from, dry_run";

/// A one-row `FROM` item that turns off `synchronous_commit` for the statement's own
/// transaction: its commit does not wait for the WAL flush. For records whose loss in a crash
/// only lets one redelivery or replay through (the sled backend does not flush them either), so
/// a delivery pays one WAL flush, its job's, not two. A later synchronous commit flushes them
/// anyway, and a crash cannot leave them half written. Public so a test can check it.
pub const RELAXED_COMMIT: &str =
    "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed";

/// The PostgreSQL store: a connection pool.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| StoreError::Open {
                location: redact(url),
                reason: e.to_string(),
            })?;
        PgStore::from_pool(pool).await
    }

    /// Wraps an existing pool, applying migrations.
    pub async fn from_pool(pool: PgPool) -> Result<PgStore, StoreError> {
        migrator(None).await?.run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The pool, for operational queries outside the trait.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn record_delivery(
        &self,
        key: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO deliveries (key, seen_at) SELECT $1, $2 FROM {RELAXED_COMMIT} \
             ON CONFLICT (key) DO NOTHING"
        ))
        .bind(key.as_str())
        .bind(micros(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn record_body(
        &self,
        digest: &str,
        delivery: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<DeliveryId, StoreError> {
        // The no-op update makes RETURNING give the stored row when the digest is known, in one
        // statement, so two replicas racing on a replay agree on who was first.
        let first: String = sqlx::query_scalar(&format!(
            "INSERT INTO body_digests (digest, delivery, seen_at) SELECT $1, $2, $3 \
             FROM {RELAXED_COMMIT} \
             ON CONFLICT (digest) DO UPDATE SET digest = EXCLUDED.digest RETURNING delivery"
        ))
        .bind(digest)
        .bind(delivery.as_str())
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?;
        parse("body digest", &first)
    }

    async fn prune_deliveries(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut deleted = sqlx::query("DELETE FROM deliveries WHERE seen_at < $1")
            .bind(micros(older_than))
            .execute(&self.pool)
            .await?
            .rows_affected();
        deleted += sqlx::query("DELETE FROM body_digests WHERE seen_at < $1")
            .bind(micros(older_than))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }

    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM jobs WHERE state IN ('done', 'superseded', 'dead') AND updated_at < $1",
        )
        .bind(micros(before))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted)
    }

    async fn enqueue(&self, job: NewJob, now: DateTime<Utc>) -> Result<EnqueueOutcome, StoreError> {
        self.enqueue_job(job, now).await
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
        self.get_job(id).await
    }

    async fn jobs_by_state(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.jobs_in_state(state, limit).await
    }

    async fn queue_depth(&self) -> Result<u64, StoreError> {
        self.count_queued().await
    }

    async fn record_decision(&self, rec: &DecisionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO decisions (id, at, platform, repo, pr, head_sha, decision, risk, \
             confidence, reasons, findings_digest, actor, downgraded_from, dry_run) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(rec.id.0)
        .bind(micros(rec.at))
        .bind(rec.platform.as_str())
        .bind(rec.repo.as_str())
        .bind(pr_i64(rec.pr)?)
        .bind(rec.head_sha.as_str())
        .bind(&rec.decision)
        .bind(i16::from(rec.risk))
        .bind(rec.confidence)
        .bind(&rec.reasons)
        .bind(&rec.findings_digest)
        .bind(&rec.actor)
        .bind(&rec.downgraded_from)
        .bind(rec.dry_run)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn decisions(
        &self,
        repo: Option<&RepoId>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        // Two statements rather than `($3 IS NULL OR repo = $3)`, which would defeat the index.
        let filter = if repo.is_some() { "AND repo = $3" } else { "" };
        let query = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE at >= $1 {filter} \
             ORDER BY at DESC, id DESC LIMIT $2"
        );
        let mut q = sqlx::query(&query)
            .bind(micros(since))
            .bind(limit_i64(limit));
        if let Some(repo) = repo {
            q = q.bind(repo.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(decision_from_row).collect()
    }

    async fn bump_counter(&self, key: &str, window: DateTime<Utc>) -> Result<u32, StoreError> {
        // One statement: the row lock taken by the upsert makes concurrent bumps queue up.
        let used: i32 = sqlx::query_scalar(
            "INSERT INTO counters (window_start, key, used) VALUES ($1, $2, 1) \
             ON CONFLICT (window_start, key) DO UPDATE \
             SET used = LEAST(counters.used, 2147483646) + 1 RETURNING used",
        )
        .bind(micros(window))
        .bind(key)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(used).unwrap_or(0))
    }

    async fn prune_counters(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM counters WHERE window_start < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn try_record_action(
        &self,
        repo: &RepoId,
        kind: &str,
        now: DateTime<Utc>,
        daily_limit: u32,
        cooldown_secs: u64,
    ) -> Result<ActionVerdict, StoreError> {
        let now = micros(now);
        let day = now.date_naive();
        let mut tx = self.pool.begin().await?;
        // Creates the repository's row if needed and locks it until commit: every replica's
        // check-and-count for this repository runs one after the other.
        let last: Option<DateTime<Utc>> = sqlx::query_scalar(
            "INSERT INTO repo_actions (repo) VALUES ($1) \
             ON CONFLICT (repo) DO UPDATE SET repo = EXCLUDED.repo RETURNING last_action_at",
        )
        .bind(repo.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let used: Option<i32> = sqlx::query_scalar(
            "SELECT used FROM action_counts WHERE repo = $1 AND day = $2 AND kind = $3",
        )
        .bind(repo.as_str())
        .bind(day)
        .bind(kind)
        .fetch_optional(&mut *tx)
        .await?;
        let used = u32::try_from(used.unwrap_or(0)).unwrap_or(0);
        let verdict = action_verdict(used, last, now, daily_limit, cooldown_secs);
        if verdict == ActionVerdict::Allowed {
            sqlx::query(
                "INSERT INTO action_counts (repo, day, kind, used) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (repo, day, kind) DO UPDATE SET used = action_counts.used + 1",
            )
            .bind(repo.as_str())
            .bind(day)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE repo_actions SET last_action_at = $2 WHERE repo = $1")
                .bind(repo.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(verdict)
    }

    async fn put_override(&self, o: &Override) -> Result<(), StoreError> {
        self.write_override(o).await
    }

    async fn get_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<Override>, StoreError> {
        self.read_override(platform, repo, pr).await
    }

    async fn clear_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<(), StoreError> {
        self.delete_override(platform, repo, pr).await
    }

    async fn pr_state(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<PrState>, StoreError> {
        self.read_pr_state(platform, repo, pr).await
    }

    async fn put_pr_state(&self, s: &PrState) -> Result<(), StoreError> {
        self.write_pr_state(s).await
    }

    async fn acquire_scan_lease(
        &self,
        name: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.acquire_lease(name, owner, lease, now).await
    }

    async fn release_scan_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        self.release_lease(name, owner).await
    }

    async fn scan_cursor(&self, name: &str) -> Result<Option<ScanCursor>, StoreError> {
        self.get_cursor(name).await
    }

    async fn put_scan_cursor(&self, name: &str, cursor: &ScanCursor) -> Result<(), StoreError> {
        self.set_cursor(name, cursor).await
    }

    async fn put_evaluation(&self, rec: &super::EvaluationRecord) -> Result<(), StoreError> {
        self.put_evaluation_row(rec).await
    }

    async fn evaluation(
        &self,
        id: super::EvaluationId,
    ) -> Result<Option<super::EvaluationRecord>, StoreError> {
        self.evaluation_row(id).await
    }

    async fn pr_evaluations(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
        limit: usize,
    ) -> Result<Vec<super::EvaluationRecord>, StoreError> {
        self.pr_evaluation_rows(platform, repo, pr_i64(pr)?, limit_i64(limit))
            .await
    }

    async fn evaluations(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<super::EvaluationRecord>, StoreError> {
        self.evaluation_rows(micros(since), limit_i64(limit)).await
    }

    async fn prune_evaluations(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM evaluations WHERE at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn add_ai_usage(&self, usage: &super::AiUsage) -> Result<(), StoreError> {
        self.add_usage_row(usage).await
    }

    async fn ai_usage(&self, since: chrono::NaiveDate) -> Result<Vec<super::AiUsage>, StoreError> {
        self.usage_rows(since).await
    }

    async fn put_push_token(&self, token: &super::PushToken) -> Result<(), StoreError> {
        self.insert_push_token(token).await
    }

    async fn push_token(
        &self,
        id: &super::PushTokenId,
    ) -> Result<Option<super::PushToken>, StoreError> {
        self.read_push_token(id).await
    }

    async fn revoke_push_token(&self, id: &super::PushTokenId) -> Result<bool, StoreError> {
        self.delete_push_token(id).await
    }

    async fn put_pushed_report(&self, report: &super::PushedReport) -> Result<(), StoreError> {
        self.upsert_pushed(report).await
    }

    async fn pushed_reports(
        &self,
        repo: &RepoId,
        head_sha: &crate::ids::CommitSha,
    ) -> Result<Vec<super::PushedReport>, StoreError> {
        self.read_pushed(repo, head_sha).await
    }

    async fn prune_pushed(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.prune_pushed_before(before).await
    }

    async fn put_pr_head(&self, head: &super::PrHead) -> Result<(), StoreError> {
        self.upsert_pr_head(head).await
    }

    async fn prs_at_head(
        &self,
        repo: &RepoId,
        head_sha: &crate::ids::CommitSha,
    ) -> Result<Vec<super::PrHead>, StoreError> {
        self.read_prs_at_head(repo, head_sha).await
    }
}
