//! Conversions between the store's types and PostgreSQL rows and columns: PR numbers and
//! limits as `BIGINT`, text columns parsed back into ids, decision rows.

use std::fmt::Display;
use std::str::FromStr;

use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::ids::PrNumber;
use crate::store::{DecisionId, DecisionRecord, StoreError};

pub(super) fn pr_i64(pr: PrNumber) -> Result<i64, StoreError> {
    i64::try_from(pr.0).map_err(|_| StoreError::Invalid(format!("PR number {pr} exceeds i64")))
}

pub(super) fn pr_from_i64(what: &'static str, pr: i64) -> Result<PrNumber, StoreError> {
    u64::try_from(pr)
        .map(PrNumber)
        .map_err(|e| StoreError::corrupt(what, e))
}

pub(super) fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) fn parse<T>(what: &'static str, s: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: Display,
{
    s.parse().map_err(|e| StoreError::corrupt(what, e))
}

pub(super) fn decision_from_row(row: &PgRow) -> Result<DecisionRecord, StoreError> {
    let text = |col: &str| row.try_get::<String, _>(col);
    let risk: i16 = row.try_get("risk")?;
    Ok(DecisionRecord {
        id: DecisionId(row.try_get("id")?),
        at: row.try_get("at")?,
        platform: parse("decision", &text("platform")?)?,
        repo: parse("decision", &text("repo")?)?,
        pr: pr_from_i64("decision", row.try_get("pr")?)?,
        head_sha: parse("decision", &text("head_sha")?)?,
        decision: text("decision")?,
        risk: u8::try_from(risk).map_err(|e| StoreError::corrupt("decision", e))?,
        confidence: row.try_get("confidence")?,
        reasons: row.try_get("reasons")?,
        findings_digest: text("findings_digest")?,
        actor: text("actor")?,
        downgraded_from: row.try_get("downgraded_from")?,
        dry_run: row.try_get("dry_run")?,
    })
}
