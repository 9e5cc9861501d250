//! Rate limits on sled: the per-repository daily action count and cooldown (one transaction over
//! both trees, so two workers cannot both take the last action), and the windowed command counters.

use super::SledStore;
use super::keys::{abort_on, fixed, repo_prefix, time_from_key, time_key, tx_error};
use crate::ids::RepoId;
use crate::store::{ActionVerdict, StoreError, action_verdict, micros};
use chrono::{DateTime, Utc};
use sled::transaction::Transactional;

impl SledStore {
    pub(super) async fn record_action(
        &self,
        repo: &RepoId,
        kind: &str,
        now: DateTime<Utc>,
        daily_limit: u32,
        cooldown_secs: u64,
    ) -> Result<ActionVerdict, StoreError> {
        let now = micros(now);
        let day = now.format("%Y-%m-%d").to_string();
        let count_key = [
            &repo_prefix(repo)[..],
            day.as_bytes(),
            &[0],
            kind.as_bytes(),
        ]
        .concat();
        let repo_key = repo.as_str().as_bytes();
        let verdict = (&self.action_counts, &self.last_action)
            .transaction(|(counts, last)| {
                let used = match counts.get(&count_key)? {
                    Some(b) => u32::from_be_bytes(abort_on(fixed(&b, "action count"))?),
                    None => 0,
                };
                let last_at = match last.get(repo_key)? {
                    Some(b) => Some(abort_on(time_from_key(&b))?),
                    None => None,
                };
                let verdict = action_verdict(used, last_at, now, daily_limit, cooldown_secs);
                if verdict == ActionVerdict::Allowed {
                    counts.insert(&count_key[..], &(used + 1).to_be_bytes()[..])?;
                    last.insert(repo_key, &time_key(now)[..])?;
                }
                Ok(verdict)
            })
            .map_err(tx_error)?;
        if verdict == ActionVerdict::Allowed {
            self.flush().await?;
        }
        Ok(verdict)
    }

    pub(super) async fn bump_window_counter(
        &self,
        key: &str,
        window: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let k = [&time_key(micros(window))[..], key.as_bytes()].concat();
        // `update_and_fetch` retries its compare-and-swap, so concurrent bumps all count.
        let new = self.counters.update_and_fetch(&k, |old| {
            let used = old
                .and_then(|b| fixed::<4>(b, "counter").ok())
                .map(u32::from_be_bytes)
                .unwrap_or(0);
            Some(used.saturating_add(1).to_be_bytes().to_vec())
        })?;
        Ok(new
            .and_then(|b| fixed::<4>(&b, "counter").ok())
            .map(u32::from_be_bytes)
            .unwrap_or(u32::MAX))
    }

    pub(super) async fn prune_window_counters(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let end = time_key(micros(before));
        let mut removed = 0;
        for entry in self.counters.range(..&end[..]) {
            let (k, _) = entry?;
            if self.counters.remove(k)?.is_some() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
