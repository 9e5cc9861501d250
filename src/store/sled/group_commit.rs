//! Group commit: writers that need durability wait on one shared flush instead of one flush each.
//!
//! A writer takes a ticket after its write is in sled's memory ([`GroupCommit::written`]) and
//! waits until a flush that started after that ticket has finished ([`GroupCommit::durable`]).
//! Flushes run one at a time; while one runs, the writers that arrive queue on the lock, and the
//! first of them to get it flushes for all of them. So at N concurrent enqueues the cost is about
//! two fsyncs, not N, and each caller still returns only once its own write is on disk.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use super::super::StoreError;

/// Tickets of writes and of what is known to be flushed.
#[derive(Debug, Default)]
pub(super) struct GroupCommit {
    /// Writes done so far (the ticket of the latest).
    written: AtomicU64,
    /// Every write with a ticket up to this one is durable.
    flushed: AtomicU64,
    /// Held while a flush runs.
    flushing: tokio::sync::Mutex<()>,
}

impl GroupCommit {
    /// Call after a write that must become durable: its ticket for [`GroupCommit::durable`].
    pub(super) fn written(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once the write with `ticket` is durable: at once if a flush that started after it
    /// has finished, else after the next flush (run by this caller or by another waiter).
    pub(super) async fn durable<F, Fut>(&self, ticket: u64, flush: F) -> Result<(), StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), StoreError>>,
    {
        if self.flushed.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let _guard = self.flushing.lock().await;
        if self.flushed.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        // Every write with a ticket up to `upto` finished before this load, so the flush below
        // covers them all.
        let upto = self.written.load(Ordering::SeqCst);
        flush().await?;
        self.flushed.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_flush_done_after_a_write_covers_it() {
        let gc = GroupCommit::default();
        let flushes = AtomicUsize::new(0);
        let flush = || async {
            flushes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        let a = gc.written();
        let b = gc.written();
        gc.durable(b, flush).await.unwrap();
        // `a` was written before the flush that made `b` durable.
        gc.durable(a, flush).await.unwrap();
        assert_eq!(flushes.load(Ordering::SeqCst), 1);
        let c = gc.written();
        gc.durable(c, flush).await.unwrap();
        assert_eq!(flushes.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_share_flushes() {
        let gc = Arc::new(GroupCommit::default());
        let flushes = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        // The first flush blocks until every writer has written and is waiting.
        let writers = 50;
        let mut tasks = Vec::new();
        for _ in 0..writers {
            let (gc, flushes, release) = (gc.clone(), flushes.clone(), release.clone());
            tasks.push(tokio::spawn(async move {
                let ticket = gc.written();
                gc.durable(ticket, || async move {
                    if flushes.fetch_add(1, Ordering::SeqCst) == 0 {
                        release.notified().await;
                    }
                    Ok(())
                })
                .await
            }));
        }
        // Wait for the state "all tickets taken", then let the first flush finish.
        while gc.written.load(Ordering::SeqCst) < writers {
            tokio::task::yield_now().await;
        }
        release.notify_one();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // The blocked flush and at most one more for everyone who queued behind it.
        assert!(flushes.load(Ordering::SeqCst) <= 2, "{flushes:?}");
        assert_eq!(gc.flushed.load(Ordering::SeqCst), writers);
    }

    #[tokio::test]
    async fn a_failed_flush_is_reported_and_the_next_caller_flushes_again() {
        let gc = GroupCommit::default();
        let t = gc.written();
        let err = gc
            .durable(t, || async {
                Err(StoreError::Sled(sled::Error::Unsupported("disk".into())))
            })
            .await;
        assert!(err.is_err());
        gc.durable(t, || async { Ok(()) }).await.unwrap();
        assert_eq!(gc.flushed.load(Ordering::SeqCst), 1);
    }
}
