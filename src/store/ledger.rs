//! The store as the decision engine's [`ActionLedger`]: daily limits and cooldowns kept in the
//! store, so they hold across replicas.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{ActionVerdict, Store};
use crate::decision::safety::{ActionLedger, LedgerVerdict};
use crate::ids::RepoId;

/// Adapter from [`Store::try_record_action`] to [`ActionLedger`].
pub struct StoreLedger(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl ActionLedger for StoreLedger {
    async fn try_record_action(
        &self,
        repo: &str,
        kind: &str,
        now: DateTime<Utc>,
        daily_limit: u32,
        cooldown_secs: u64,
    ) -> anyhow::Result<LedgerVerdict> {
        let repo: RepoId = repo.parse()?;
        Ok(
            match self
                .0
                .try_record_action(&repo, kind, now, daily_limit, cooldown_secs)
                .await?
            {
                ActionVerdict::Allowed => LedgerVerdict::Allowed,
                ActionVerdict::DailyLimitReached { limit, used } => {
                    LedgerVerdict::DailyLimitReached { limit, used }
                }
                ActionVerdict::CooldownRunning { remaining_secs } => {
                    LedgerVerdict::CooldownRunning { remaining_secs }
                }
            },
        )
    }
}
