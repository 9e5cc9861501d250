//! AI usage in PostgreSQL: one row per day, owner, repository and model, added to by upsert.

use super::PgStore;
use crate::store::{AiUsage, StoreError, clean_text};
use chrono::NaiveDate;
use sqlx::Row;

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(what: &'static str, n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::corrupt("ai usage", format!("negative {what}")))
}

impl PgStore {
    pub(super) async fn add_usage_row(&self, u: &AiUsage) -> Result<(), StoreError> {
        // LEAST keeps a sum from overflowing bigint (an error) when a total is already huge.
        sqlx::query(
            "INSERT INTO ai_usage (day, owner, repo, model, requests, input_tokens, \
             output_tokens, cost_micro_usd) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (day, owner, repo, model) DO UPDATE SET \
             requests = LEAST(ai_usage.requests::numeric + EXCLUDED.requests, 9223372036854775807)::bigint, \
             input_tokens = LEAST(ai_usage.input_tokens::numeric + EXCLUDED.input_tokens, 9223372036854775807)::bigint, \
             output_tokens = LEAST(ai_usage.output_tokens::numeric + EXCLUDED.output_tokens, 9223372036854775807)::bigint, \
             cost_micro_usd = LEAST(ai_usage.cost_micro_usd::numeric + EXCLUDED.cost_micro_usd, 9223372036854775807)::bigint",
        )
        .bind(u.day)
        .bind(clean_text(&u.owner))
        .bind(clean_text(&u.repo))
        .bind(clean_text(&u.model))
        .bind(to_i64(u.requests))
        .bind(to_i64(u.input_tokens))
        .bind(to_i64(u.output_tokens))
        .bind(to_i64(u.cost_micro_usd))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn usage_rows(&self, since: NaiveDate) -> Result<Vec<AiUsage>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, owner, repo, model, requests, input_tokens, output_tokens, \
             cost_micro_usd FROM ai_usage WHERE day >= $1 ORDER BY day, owner, repo, model",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AiUsage {
                    day: r.try_get("day")?,
                    owner: r.try_get("owner")?,
                    repo: r.try_get("repo")?,
                    model: r.try_get("model")?,
                    requests: to_u64("requests", r.try_get("requests")?)?,
                    input_tokens: to_u64("input tokens", r.try_get("input_tokens")?)?,
                    output_tokens: to_u64("output tokens", r.try_get("output_tokens")?)?,
                    cost_micro_usd: to_u64("cost", r.try_get("cost_micro_usd")?)?,
                })
            })
            .collect()
    }
}
