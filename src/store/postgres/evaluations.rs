//! Evaluation records in PostgreSQL: the record as JSON text, looked up by id, by pull request
//! and by time.

use super::PgStore;
use crate::ids::{Platform, RepoId};
use crate::store::{EvaluationId, EvaluationRecord, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

fn from_row(row: &PgRow) -> Result<EvaluationRecord, StoreError> {
    let text: String = row.try_get("record")?;
    serde_json::from_str(&text).map_err(|e| StoreError::corrupt("evaluation", e))
}

impl PgStore {
    pub(super) async fn put_evaluation_row(
        &self,
        rec: &EvaluationRecord,
    ) -> Result<(), StoreError> {
        let rec = rec.clone().bounded();
        let text = serde_json::to_string(&rec).map_err(|e| StoreError::Invalid(e.to_string()))?;
        sqlx::query(
            "INSERT INTO evaluations (id, at, platform, repo, pr, record) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
        )
        .bind(rec.id.0)
        .bind(rec.at)
        .bind(rec.platform.as_str())
        .bind(rec.repo.as_str())
        .bind(super::pr_i64(rec.pr)?)
        .bind(text)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn evaluation_row(
        &self,
        id: EvaluationId,
    ) -> Result<Option<EvaluationRecord>, StoreError> {
        let row = sqlx::query("SELECT record FROM evaluations WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(super) async fn pr_evaluation_rows(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: i64,
        limit: i64,
    ) -> Result<Vec<EvaluationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT record FROM evaluations WHERE platform = $1 AND repo = $2 AND pr = $3 \
             ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(platform.as_str())
        .bind(repo.as_str())
        .bind(pr)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub(super) async fn evaluation_rows(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<EvaluationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT record FROM evaluations WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
