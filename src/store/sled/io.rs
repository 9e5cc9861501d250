//! The sled store's own plumbing: the queue lock, durable flushes (group commit), pruning of
//! time-indexed trees and JSON records in trees.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Tree;
use sled::transaction::Transactional;
use std::sync::MutexGuard;

use super::SledStore;
use super::keys::{from_json, to_json, tx_error};
use crate::store::StoreError;

/// Deliveries removed per transaction when pruning, to keep transactions small.
pub(super) const PRUNE_CHUNK: usize = 512;

impl SledStore {
    pub(super) fn lock(&self) -> MutexGuard<'_, ()> {
        // A panic while holding the lock cannot leave trees half-written (transactions), so a
        // poisoned lock is still safe to use.
        self.queue_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Durability point: everything this caller wrote before the call survives a crash once
    /// this returns. Concurrent callers share one flush (group commit), so a burst of enqueues
    /// costs a few fsyncs rather than one each.
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let ticket = self.commits.written();
        self.commits.durable(ticket, || self.flush_now()).await
    }

    /// The blocking `flush` on a blocking thread, not `flush_async`: in sled 0.34 concurrent
    /// `flush_async` calls can lose their wake-up and hang forever (spacejam/sled#1308, #1241).
    pub(super) async fn flush_now(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| std::io::Error::other(format!("sled flush thread failed: {e}")))
            .map_err(|e| StoreError::Sled(e.into()))??;
        Ok(())
    }

    /// Removes the entries of `by_key` (value: `seen_at ++ ...`) indexed in `by_time`
    /// (`seen_at ++ key`) before `cutoff`, in small transactions; returns how many.
    pub(super) async fn prune_seen(
        &self,
        by_key: &Tree,
        by_time: &Tree,
        cutoff: &[u8],
    ) -> Result<u64, StoreError> {
        let mut removed = 0;
        loop {
            let chunk: Vec<sled::IVec> = by_time
                .range(..cutoff)
                .keys()
                .take(PRUNE_CHUNK)
                .collect::<Result<_, _>>()?;
            if chunk.is_empty() {
                break;
            }
            removed += (by_key, by_time)
                .transaction(|(by_key, by_time)| {
                    let mut n = 0;
                    for time_and_key in &chunk {
                        let (at, key) = time_and_key.split_at(8);
                        // Only forget the entry if it was not seen again since.
                        if by_key.get(key)?.is_some_and(|seen| seen.starts_with(at)) {
                            by_key.remove(key)?;
                            n += 1;
                        }
                        by_time.remove(time_and_key.as_ref())?;
                    }
                    Ok(n)
                })
                .map_err(tx_error)?;
        }
        Ok(removed)
    }

    pub(super) fn put_json<T: Serialize>(
        &self,
        tree: &Tree,
        key: Vec<u8>,
        value: &T,
    ) -> Result<(), StoreError> {
        tree.insert(key, to_json(value)?)?;
        Ok(())
    }

    pub(super) fn get_json<T: DeserializeOwned>(
        tree: &Tree,
        what: &'static str,
        key: Vec<u8>,
    ) -> Result<Option<T>, StoreError> {
        tree.get(key)?.map(|b| from_json(what, &b)).transpose()
    }
}
