//! Per-PR records on PostgreSQL: the override and the PR state (summary comment, check run,
//! last findings), each one upserted row keyed by platform, repo and PR.

use super::{PgStore, parse, pr_i64};
use crate::ids::{Platform, PrNumber, RepoId};
use crate::store::{Override, PrState, StoreError, micros};
use sqlx::Row;

impl PgStore {
    pub(super) async fn write_override(&self, o: &Override) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO overrides (platform, repo, pr, head_sha, decision, reason, actor, \
             findings_digest, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (platform, repo, pr) DO UPDATE SET head_sha = EXCLUDED.head_sha, \
             decision = EXCLUDED.decision, reason = EXCLUDED.reason, actor = EXCLUDED.actor, \
             findings_digest = EXCLUDED.findings_digest, at = EXCLUDED.at",
        )
        .bind(o.platform.as_str())
        .bind(o.repo.as_str())
        .bind(pr_i64(o.pr)?)
        .bind(o.head_sha.as_str())
        .bind(o.decision.as_str())
        .bind(&o.reason)
        .bind(&o.actor)
        .bind(&o.findings_digest)
        .bind(micros(o.at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn read_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<Override>, StoreError> {
        let row = sqlx::query(
            "SELECT head_sha, decision, reason, actor, findings_digest, at FROM overrides \
             WHERE platform = $1 AND repo = $2 AND pr = $3",
        )
        .bind(platform.as_str())
        .bind(repo.as_str())
        .bind(pr_i64(pr)?)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Override {
            platform,
            repo: repo.clone(),
            pr,
            head_sha: parse("override", &row.try_get::<String, _>("head_sha")?)?,
            decision: parse("override", &row.try_get::<String, _>("decision")?)?,
            reason: row.try_get("reason")?,
            actor: row.try_get("actor")?,
            findings_digest: row.try_get("findings_digest")?,
            at: row.try_get("at")?,
        }))
    }

    pub(super) async fn delete_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM overrides WHERE platform = $1 AND repo = $2 AND pr = $3")
            .bind(platform.as_str())
            .bind(repo.as_str())
            .bind(pr_i64(pr)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn read_pr_state(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<PrState>, StoreError> {
        let row = sqlx::query(
            "SELECT summary_comment_id, last_findings_digest, last_head_sha, check_run_id \
             FROM pr_states WHERE platform = $1 AND repo = $2 AND pr = $3",
        )
        .bind(platform.as_str())
        .bind(repo.as_str())
        .bind(pr_i64(pr)?)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let last_head_sha: Option<String> = row.try_get("last_head_sha")?;
        Ok(Some(PrState {
            platform,
            repo: repo.clone(),
            pr,
            summary_comment_id: row.try_get("summary_comment_id")?,
            last_findings_digest: row.try_get("last_findings_digest")?,
            last_head_sha: last_head_sha.map(|s| parse("PR state", &s)).transpose()?,
            check_run_id: row.try_get("check_run_id")?,
        }))
    }

    pub(super) async fn write_pr_state(&self, s: &PrState) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pr_states (platform, repo, pr, summary_comment_id, last_findings_digest, \
             last_head_sha, check_run_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (platform, repo, pr) DO UPDATE SET \
             summary_comment_id = EXCLUDED.summary_comment_id, \
             last_findings_digest = EXCLUDED.last_findings_digest, \
             last_head_sha = EXCLUDED.last_head_sha, check_run_id = EXCLUDED.check_run_id",
        )
        .bind(s.platform.as_str())
        .bind(s.repo.as_str())
        .bind(pr_i64(s.pr)?)
        .bind(&s.summary_comment_id)
        .bind(&s.last_findings_digest)
        .bind(s.last_head_sha.as_ref().map(|sha| sha.as_str()))
        .bind(&s.check_run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
