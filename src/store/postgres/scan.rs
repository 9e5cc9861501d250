//! Scan leases and cursors on PostgreSQL: each a single statement, so replicas racing for a
//! lease agree on one winner.

use chrono::{DateTime, Utc};
use sqlx::Row;
use std::time::Duration;

use super::PgStore;
use crate::store::{ScanCursor, StoreError, lease_deadline, micros};

impl PgStore {
    pub(super) async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let until = lease_deadline(now, lease)?;
        // The conditional upsert takes the row lock: of two replicas, one updates, the other
        // then sees the new owner's lease and updates nothing.
        let taken = sqlx::query(
            "INSERT INTO scan_leases (name, owner, lease_until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, \
             lease_until = EXCLUDED.lease_until \
             WHERE scan_leases.owner = EXCLUDED.owner OR scan_leases.lease_until < $4",
        )
        .bind(name)
        .bind(owner)
        .bind(until)
        .bind(micros(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    pub(super) async fn release_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let released = sqlx::query("DELETE FROM scan_leases WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(released == 1)
    }

    pub(super) async fn get_cursor(&self, name: &str) -> Result<Option<ScanCursor>, StoreError> {
        let row = sqlx::query("SELECT position, last_success FROM scan_cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(ScanCursor {
                position: row.try_get("position")?,
                last_success: row.try_get("last_success")?,
            })
        })
        .transpose()
    }

    pub(super) async fn set_cursor(&self, name: &str, c: &ScanCursor) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scan_cursors (name, position, last_success) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, \
             last_success = EXCLUDED.last_success",
        )
        .bind(name)
        .bind(crate::store::clean_text(&c.position))
        .bind(c.last_success.map(micros))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
