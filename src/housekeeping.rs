//! Store housekeeping: finished jobs (each also its delivery's dedupe record) and seen
//! deliveries are forgotten after the retention period, so the store does not grow without
//! bound. Every replica runs it; the deletes are idempotent, so replicas racing do no harm.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::store::{Store, StoreError};

/// How often the store is pruned.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Forgets what finished more than `retention` before `now`; returns (jobs, deliveries) removed.
pub async fn prune_once(
    store: &dyn Store,
    retention: Duration,
    now: DateTime<Utc>,
) -> Result<(u64, u64), StoreError> {
    let keep = TimeDelta::from_std(retention).unwrap_or(TimeDelta::MAX);
    let cutoff = now
        .checked_sub_signed(keep)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let jobs = store.prune_jobs(cutoff).await?;
    let deliveries = store.prune_deliveries(cutoff).await?;
    // Command budgets count per hour; a day of windows is more than any budget looks at.
    let day_ago = now
        .checked_sub_signed(TimeDelta::days(1))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    store.prune_counters(day_ago).await?;
    // Pushed plans and drift reports, and the PR heads a push looks up, age like jobs: a
    // pipeline pushes again for a newer commit or a newer drift run.
    let pushed = store.prune_pushed(cutoff).await?;
    if pushed > 0 {
        info!(pushed, "pruned pushed reports and PR heads");
    }
    Ok((jobs, deliveries))
}

/// Prunes now and then every [`EVERY`] until `shutdown` turns true.
/// Evaluations (details pages) older than `keep_evaluations` are forgotten too.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    retention: Duration,
    keep_evaluations: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match prune_once(store.as_ref(), retention, Utc::now()).await {
            Ok((0, 0)) => {}
            Ok((jobs, deliveries)) => info!(jobs, deliveries, "pruned finished jobs"),
            Err(e) => warn!(error = %e, "cannot prune the store"),
        }
        let cutoff = TimeDelta::from_std(keep_evaluations)
            .ok()
            .and_then(|keep| Utc::now().checked_sub_signed(keep));
        if let Some(cutoff) = cutoff {
            match store.prune_evaluations(cutoff).await {
                Ok(0) => {}
                Ok(n) => info!(evaluations = n, "pruned old evaluations"),
                Err(e) => warn!(error = %e, "cannot prune old evaluations"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Platform, PrNumber};
    use crate::store::{EnqueueOutcome, JobKind, NewJob};

    #[tokio::test]
    async fn finished_jobs_go_after_the_retention_period() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&format!("sled:{}", dir.path().display()))
            .await
            .unwrap();
        let job = NewJob {
            platform: Platform::GitHub,
            repo: "acme/infra".parse().unwrap(),
            pr: PrNumber(1),
            head_sha: "a".repeat(40).parse().unwrap(),
            kind: JobKind::Evaluate,
            delivery: "d-1".parse().unwrap(),
            payload: serde_json::json!({}),
        };
        let EnqueueOutcome::Enqueued(id) = store.enqueue(job, Utc::now()).await.unwrap() else {
            panic!("enqueued");
        };
        let lease = Duration::from_secs(60);
        assert!(store.claim("w", lease, Utc::now()).await.unwrap().is_some());
        assert!(store.complete(id, "w").await.unwrap());
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(
            prune_once(store.as_ref(), week, Utc::now()).await.unwrap(),
            (0, 0)
        );
        let later = Utc::now() + TimeDelta::days(8);
        assert_eq!(prune_once(store.as_ref(), week, later).await.unwrap().0, 1);
        assert!(store.job(id).await.unwrap().is_none());
    }
}
