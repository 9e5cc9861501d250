//! Push API records in PostgreSQL: `push_tokens`, `pushed_plans` (one row per repository,
//! commit and project), `pushed_drift` (one per repository and environment) and `pr_heads`
//! (one per pull request), each replaced by upsert (migration 0009).

use super::{PgStore, parse, pr_from_i64, pr_i64};
use crate::ids::{CommitSha, RepoId};
use crate::store::pushed::{PrHead, PushToken, PushTokenId, PushedKind, PushedReport, TokenScope};
use crate::store::{StoreError, micros};
use chrono::{DateTime, Utc};
use sqlx::Row;

impl PgStore {
    pub(super) async fn insert_push_token(&self, t: &PushToken) -> Result<(), StoreError> {
        let (kind, name) = match &t.scope {
            TokenScope::Repo(r) => ("repo", r.to_string()),
            TokenScope::Owner(o) => ("owner", o.clone()),
        };
        sqlx::query(
            "INSERT INTO push_tokens (id, scope_kind, scope_name, secret_sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
             scope_kind = EXCLUDED.scope_kind, scope_name = EXCLUDED.scope_name, \
             secret_sha256 = EXCLUDED.secret_sha256, created_at = EXCLUDED.created_at",
        )
        .bind(t.id.as_str())
        .bind(kind)
        .bind(name)
        .bind(&t.secret_sha256)
        .bind(micros(t.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn read_push_token(
        &self,
        id: &PushTokenId,
    ) -> Result<Option<PushToken>, StoreError> {
        let row = sqlx::query(
            "SELECT scope_kind, scope_name, secret_sha256, created_at FROM push_tokens \
             WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let kind: String = row.try_get("scope_kind")?;
        let name: String = row.try_get("scope_name")?;
        let scope = match kind.as_str() {
            "repo" => TokenScope::Repo(parse("push token", &name)?),
            "owner" => TokenScope::Owner(name),
            other => {
                return Err(StoreError::corrupt(
                    "push token",
                    format!("unknown scope `{other}`"),
                ));
            }
        };
        Ok(Some(PushToken {
            id: id.clone(),
            scope,
            secret_sha256: row.try_get("secret_sha256")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    pub(super) async fn delete_push_token(&self, id: &PushTokenId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM push_tokens WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn upsert_pushed(&self, r: &PushedReport) -> Result<(), StoreError> {
        let query = match &r.kind {
            PushedKind::Plan { head_sha, project } => sqlx::query(
                "INSERT INTO pushed_plans (repo, head_sha, project, body, at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repo, head_sha, project) \
                 DO UPDATE SET body = EXCLUDED.body, at = EXCLUDED.at",
            )
            .bind(r.repo.as_str())
            .bind(head_sha.as_str())
            .bind(project.as_str()),
            PushedKind::Drift { environment } => sqlx::query(
                "INSERT INTO pushed_drift (repo, environment, body, at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (repo, environment) \
                 DO UPDATE SET body = EXCLUDED.body, at = EXCLUDED.at",
            )
            .bind(r.repo.as_str())
            .bind(environment.as_str()),
        };
        query
            .bind(&r.body)
            .bind(micros(r.at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn read_pushed(
        &self,
        repo: &RepoId,
        head: &CommitSha,
    ) -> Result<Vec<PushedReport>, StoreError> {
        let plans = sqlx::query(
            "SELECT project, body, at FROM pushed_plans WHERE repo = $1 AND head_sha = $2 \
             ORDER BY project",
        )
        .bind(repo.as_str())
        .bind(head.as_str())
        .fetch_all(&self.pool)
        .await?;
        let drift = sqlx::query(
            "SELECT environment, body, at FROM pushed_drift WHERE repo = $1 ORDER BY environment",
        )
        .bind(repo.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(plans.len() + drift.len());
        for row in plans {
            out.push(PushedReport {
                repo: repo.clone(),
                kind: PushedKind::Plan {
                    head_sha: head.clone(),
                    project: row.try_get("project")?,
                },
                body: row.try_get("body")?,
                at: row.try_get("at")?,
            });
        }
        for row in drift {
            out.push(PushedReport {
                repo: repo.clone(),
                kind: PushedKind::Drift {
                    environment: row.try_get("environment")?,
                },
                body: row.try_get("body")?,
                at: row.try_get("at")?,
            });
        }
        Ok(out)
    }

    pub(super) async fn upsert_pr_head(&self, h: &PrHead) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pr_heads (platform, repo, pr, head_sha, pull_request, at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (platform, repo, pr) DO UPDATE SET \
             head_sha = EXCLUDED.head_sha, pull_request = EXCLUDED.pull_request, at = EXCLUDED.at",
        )
        .bind(h.platform.as_str())
        .bind(h.repo.as_str())
        .bind(pr_i64(h.pr)?)
        .bind(h.head_sha.as_str())
        .bind(&h.pull_request)
        .bind(micros(h.at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn read_prs_at_head(
        &self,
        repo: &RepoId,
        head: &CommitSha,
    ) -> Result<Vec<PrHead>, StoreError> {
        let rows = sqlx::query(
            "SELECT platform, pr, pull_request, at FROM pr_heads \
             WHERE repo = $1 AND head_sha = $2 ORDER BY platform, pr",
        )
        .bind(repo.as_str())
        .bind(head.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PrHead {
                    platform: parse("PR head", &row.try_get::<String, _>("platform")?)?,
                    repo: repo.clone(),
                    pr: pr_from_i64("PR head", row.try_get("pr")?)?,
                    head_sha: head.clone(),
                    pull_request: row.try_get("pull_request")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    pub(super) async fn prune_pushed_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut removed = 0;
        for table in ["pushed_plans", "pushed_drift", "pr_heads"] {
            removed += sqlx::query(&format!("DELETE FROM {table} WHERE at < $1"))
                .bind(micros(before))
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }
}
